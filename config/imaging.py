"""Safe image decoding shared by every upload path (avatars, the notes media pipeline).

Decoding is split in two so callers can refuse cheaply before paying for pixels:

- ``open_image`` reads only the header: the real format (from the bytes, never the client's filename
  or content type) and the pixel count, which is checked against a limit below Pillow's default.
- ``load_image`` decodes for real (optionally in JPEG draft mode, which lets libjpeg scale by 1/2,
  1/4 or 1/8 while decoding), applies the EXIF orientation and drops every piece of metadata.

``decode_image`` does both. Pillow's ``DecompressionBombWarning`` is raised as an error throughout,
and every decoder failure becomes a domain error (``config.errors``), never a 500.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from config.errors import InvalidInput, PayloadTooLarge

# HEIC/HEIF (iPhone photos) open through Pillow once pillow-heif's plugin is registered. Whether a
# given upload path accepts them is still decided by its ``formats``.
register_heif_opener()

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})


@contextmanager
def decoding_errors() -> Iterator[None]:
    """Map Pillow's failures to domain errors; decompression-bomb warnings are errors here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge("The image has too many pixels.", code="too_many_pixels") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput("The file is not an image we can read.", code="invalid_image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidInput("The image is damaged or truncated.", code="invalid_image") from exc


def open_image(
    data: bytes, *, formats: frozenset[str] = ALLOWED_FORMATS, max_pixels: int | None = None
) -> Image.Image:
    """Open ``data`` reading only its header: no pixel is decoded yet.

    Refuses formats outside ``formats`` (``unsupported_type``) and images whose header claims more
    than ``max_pixels`` (``too_many_pixels``, 413), so a small file that would inflate to gigabytes
    is refused before any memory is spent on it.
    """
    limit = max_pixels or settings.IMAGE_MAX_PIXELS
    with decoding_errors():
        image = Image.open(io.BytesIO(data))
    if image.format not in formats:
        raise InvalidInput(f"Unsupported image type {image.format}.", code="unsupported_type")
    if image.width * image.height > limit:
        raise PayloadTooLarge(
            f"Image has {image.width * image.height} pixels; the limit is {limit}.",
            code="too_many_pixels",
        )
    return image


def load_image(image: Image.Image, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode an image from ``open_image`` for real; returns it upright and without metadata.

    With ``draft_size`` a JPEG is decoded at the smallest 1/1, 1/2, 1/4 or 1/8 scale that is still at
    least that size (other formats ignore it): a 12-megapixel photo meant for a 1440px variant then
    costs a quarter of the work and memory. Orientation is applied after decoding, so the caller can
    compare sizes before and after to learn whether width and height were swapped.
    """
    with decoding_errors():
        if draft_size is not None:
            image.draft("RGB", draft_size)
        image.load()
        # In place: the usual copy of a 12-megapixel image when nothing needs turning is not free.
        ImageOps.exif_transpose(image, in_place=True)
    image.info = {}
    return image


def decode_image(
    data: bytes,
    *,
    formats: frozenset[str] = ALLOWED_FORMATS,
    max_pixels: int | None = None,
    draft_size: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode ``data`` for real, refusing bombs, unknown formats and truncated files.

    The type comes from the bytes, never from the client's filename or content type. The result is
    loaded, EXIF-orientated and carries no metadata.
    """
    return load_image(open_image(data, formats=formats, max_pixels=max_pixels), draft_size=draft_size)


def webp_bytes(image: Image.Image, *, quality: int = 82, method: int = 4) -> bytes:
    """Encode as WebP with no EXIF, XMP or ICC profile (nothing from ``image.info`` is carried)."""
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality, method=method, exif=b"", xmp=b"", icc_profile=None)
    return out.getvalue()


def square_webp(image: Image.Image, *, size: int, quality: int = 85) -> bytes:
    """Centre-crop to a square of ``size`` pixels and encode as WebP without metadata."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    square = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    return webp_bytes(square, quality=quality)
