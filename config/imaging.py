"""Safe image decoding shared by every upload path (avatars now, the media pipeline later)."""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from config.errors import InvalidInput, PayloadTooLarge

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def decode_image(data: bytes, *, max_pixels: int | None = None) -> Image.Image:
    """Decode ``data`` for real, refusing bombs, unknown formats and truncated files.

    The type comes from the bytes, never from the client's filename or content type. The result is
    loaded, EXIF-orientated and carries no metadata.
    """
    limit = max_pixels or settings.IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise InvalidInput(f"Unsupported image type {image.format}.", code="unsupported_type")
            if image.width * image.height > limit:
                raise PayloadTooLarge(
                    f"Image has {image.width * image.height} pixels; the limit is {limit}.",
                    code="too_many_pixels",
                )
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput("The file is not an image we can read.", code="invalid_image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput("The image is damaged or truncated.", code="invalid_image") from exc
    image = ImageOps.exif_transpose(image)
    image.info = {}
    return image


def square_webp(image: Image.Image, *, size: int, quality: int = 85) -> bytes:
    """Centre-crop to a square of ``size`` pixels and encode as WebP without metadata."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    square = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()
