"""Media processing with no database and no storage: bytes (or a local video file) in, facts and
WebP variants out.

Two levels of checking, both raising ``config.errors`` domain errors:

- **Cheap checks** (``sniff``, ``check_image``, ``probe_video``) run synchronously at upload, before
  anything is stored. They read magic numbers, container structure and headers only: the real type
  from the bytes (the client's filename and content type are never looked at), the pixel count from
  the image header, a truncated file when its structure shows it (a JPEG without its end marker, a
  PNG without ``IEND``, a RIFF or ISO-BMFF box running past the end), a video's duration, size and
  codec from its container. No pixel is decoded.
- **Real processing** (``process_image``, ``process_video``) runs in the Celery task. It decodes
  every pixel it uses, so damage the structure did not show (a corrupt entropy stream, a video whose
  frames do not decode) is found here; the task then marks the media ``failed`` with the message.

Images are decoded in JPEG draft mode at the smallest scale that still covers the largest variant,
turned upright by their EXIF orientation, converted to sRGB, stripped of every piece of metadata
(EXIF with GPS, XMP, ICC) and written as WebP ``thumb``/``feed``/``full`` variants that are never
upscaled. A video's variants are those of its cover frame, which goes through the same image path.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import BinaryIO

import av
from django.conf import settings
from PIL import ExifTags, Image, ImageCms

from config.errors import InvalidInput, PayloadTooLarge
from config.imaging import decoding_errors, load_image, open_image, webp_bytes
from notes.choices import MediaKind

# Longest side of each variant, in pixels. Smaller sources keep their size (never upscaled).
VARIANT_SIZES = {"thumb": 240, "feed": 720, "full": 1440}
WEBP_QUALITY = 82
# libwebp's effort (0-6). Encoding is most of a variant set's CPU; on a 12 MP photo, 2 costs half of
# libwebp's default 4 for files ~2% larger (BENCH B8 wants >= 4 uploads/s on 2 cores).
WEBP_METHOD = 2
# Pillow format names we accept. MPO is a JPEG with extra pictures (many cameras write it).
IMAGE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})
# Codecs phones record and clients can play; anything else would need transcoding, which we don't do.
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1"})
# How many bytes ``sniff`` needs from the start of a file.
SNIFF_BYTES = 512
# The cover is the first frame at or after this many seconds (or half the video, when shorter).
COVER_AT_SECONDS = 1.0
COVER_MAX_FRAMES = 60

_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class MediaType:
    """What the bytes really are."""

    kind: str
    mime_type: str
    extension: str


JPEG = MediaType(MediaKind.IMAGE, "image/jpeg", "jpg")
PNG = MediaType(MediaKind.IMAGE, "image/png", "png")
WEBP = MediaType(MediaKind.IMAGE, "image/webp", "webp")
HEIC = MediaType(MediaKind.IMAGE, "image/heic", "heic")
HEIF = MediaType(MediaKind.IMAGE, "image/heif", "heif")
MP4 = MediaType(MediaKind.VIDEO, "video/mp4", "mp4")
MOV = MediaType(MediaKind.VIDEO, "video/quicktime", "mov")

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
    b"M4VP", b"mmp4", b"dash", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"XAVC",
}  # fmt: skip
# QuickTime files written before ftyp existed start straight with one of these atoms.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class VideoProbe:
    duration_seconds: float
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class Processed:
    """The outcome of processing: facts about the upright picture and its encoded variants."""

    width: int
    height: int
    dominant_color: str
    variants: dict[str, bytes]
    duration_seconds: float | None = None


# --- Cheap checks (at upload) ---------------------------------------------------------------


def sniff(head: bytes) -> MediaType:
    """The real type of a file from its first bytes (``SNIFF_BYTES`` are enough)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        size = struct.unpack(">I", head[:4])[0]
        major = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if major in _HEIC_BRANDS:
            return HEIC
        if major in _HEIF_BRANDS:
            return HEIC if compatible & _HEIC_BRANDS else HEIF
        if major == b"qt  ":
            return MOV
        if major in _MP4_BRANDS:
            return MP4
    if head[4:8] in _QUICKTIME_ATOMS:
        return MOV
    raise InvalidInput(
        "Unsupported file type: upload a JPEG, PNG, WebP or HEIC image, or an MP4 or MOV video.",
        code="unsupported_type",
    )


def check_image(data: bytes, media_type: MediaType) -> None:
    """Refuse a truncated or over-sized image without decoding a pixel.

    ``data`` has already been sniffed as ``media_type``. Pillow reads the header (format and
    dimensions); the structure walk catches files cut short in transit.
    """
    if media_type is JPEG:
        truncated = _jpeg_truncated(data)
    elif media_type is PNG:
        truncated = _png_truncated(data)
    elif media_type is WEBP:
        truncated = len(data) < struct.unpack("<I", data[4:8])[0] + 8
    else:
        truncated = _boxes_truncated(io.BytesIO(data), len(data))
    if truncated:
        raise InvalidInput("The image is damaged or truncated.", code="invalid_image")
    open_image(data, formats=IMAGE_FORMATS, max_pixels=settings.MEDIA_MAX_PIXELS)


def probe_video(source: str | BinaryIO, *, size: int | None = None) -> VideoProbe:
    """Read a video's container (no frame is decoded) and refuse what we won't take.

    ``source`` is a local path or a seekable file; ``size`` its length when it is a file. Refuses
    broken or truncated files (``invalid_video``), unknown or over-long durations (``video_too_long``),
    codecs clients can't play (``unsupported_codec``) and frames over the pixel limit.
    """
    if isinstance(source, str):
        with open(source, "rb") as file:
            truncated = _boxes_truncated(file, None)
    else:
        source.seek(0)
        truncated = _boxes_truncated(source, size)
        source.seek(0)
    if truncated:
        raise InvalidInput("The video is damaged or truncated.", code="invalid_video")
    try:
        with _open_video(source) as container:
            return _probe(container)
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise InvalidInput("The video is damaged or not a video.", code="invalid_video") from exc


def _open_video(source: str | BinaryIO):
    """Open with the ISO-BMFF (MP4/MOV) demuxer only: ``sniff`` vouched for that container, and
    letting FFmpeg probe other formats (playlists that fetch URLs, say) would widen what an upload
    can make it do. External data references stay off (FFmpeg's default)."""
    return av.open(source, format="mov", metadata_errors="ignore")


def _probe(container) -> VideoProbe:
    if not container.streams.video:
        raise InvalidInput("The file has no video track.", code="invalid_video")
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        raise InvalidInput("The video's length cannot be read.", code="invalid_video")
    limit = settings.MEDIA_MAX_VIDEO_SECONDS
    if duration > limit:
        raise InvalidInput(
            f"The video is {duration:.0f} seconds long; the limit is {limit}.", code="video_too_long"
        )
    if codec not in VIDEO_CODECS:
        raise InvalidInput(f"Videos encoded with {codec} are not supported.", code="unsupported_codec")
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise InvalidInput("The video's size cannot be read.", code="invalid_video")
    if width * height > settings.MEDIA_MAX_PIXELS:
        raise PayloadTooLarge(
            f"Video frames have {width * height} pixels; the limit is {settings.MEDIA_MAX_PIXELS}.",
            code="too_many_pixels",
        )
    return VideoProbe(duration_seconds=round(duration, 3), width=width, height=height, codec=codec)


def _jpeg_truncated(data: bytes) -> bool:
    """Walk the marker segments to the first scan, then look for the end-of-image marker.

    Inside entropy-coded data every 0xFF byte is followed by 0x00 or a restart marker, so the first
    ``FF D9`` after the scan header is the real end of the image, not a coincidence; segments before
    the scan (EXIF thumbnails carry their own ``FF D9``) are skipped by their lengths.
    """
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            # Stray bytes between segments: libjpeg skips them with a warning, and so do we.
            pos = data.find(b"\xff", pos)
            if pos == -1:
                return True
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return True  # an end before any scan: nothing to show
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if pos + 2 + length > end:
            return True
        if marker == 0xDA:
            return data.find(b"\xff\xd9", pos + 2 + length) == -1
        pos += 2 + length
    return True


def _png_truncated(data: bytes) -> bool:
    """Walk the chunks (lengths only, no CRC or inflate) until ``IEND``."""
    pos, end = 8, len(data)
    while pos + 12 <= end:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        pos += 12 + length
        if pos > end:
            return True
        if kind == b"IEND":
            return False
    return True


def _boxes_truncated(file: BinaryIO, size: int | None, *, max_boxes: int = 100_000) -> bool:
    """Walk the top-level ISO-BMFF boxes (HEIF, MP4, MOV): does one run past the end of the file?"""
    if size is None:
        size = file.seek(0, io.SEEK_END)
    pos = 0
    for _ in range(max_boxes):
        if pos == size:
            return False
        file.seek(pos)
        header = file.read(16)
        if len(header) < 8:
            return True
        box_size = struct.unpack(">I", header[:4])[0]
        if box_size == 0:  # "to the end of the file"
            return False
        if box_size == 1:
            if len(header) < 16:
                return True
            box_size = struct.unpack(">Q", header[8:16])[0]
        if box_size < 8 or pos + box_size > size:
            return True
        pos += box_size
    return False


# --- Real processing (in the task) ----------------------------------------------------------


def process_image(data: bytes) -> Processed:
    """Decode an uploaded image for real and make its variants."""
    image = open_image(data, formats=IMAGE_FORMATS, max_pixels=settings.MEDIA_MAX_PIXELS)
    width, height = image.size
    icc = image.info.get("icc_profile")
    with decoding_errors():
        image.draft("RGB", _fit_size((width, height), VARIANT_SIZES["full"]))
        image.load()
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    upright = load_image(image)  # already loaded: this turns it upright and drops the metadata
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return _variants(upright, width=width, height=height, icc=icc)


def process_video(source: str | BinaryIO) -> Processed:
    """Probe a video again (limits may have changed), take its cover frame, make the variants."""
    try:
        with _open_video(source) as container:
            probe = _probe(container)
            cover, rotation = _cover_frame(container, probe)
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise InvalidInput("The video is damaged or not a video.", code="invalid_video") from exc
    width, height = probe.width, probe.height
    turn = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    if method := turn.get(round(rotation) % 360):
        # PyAV's rotation is counter-clockwise, like Pillow's ROTATE_*: phones store portrait video
        # landscape with a -90 display matrix.
        cover = cover.transpose(method)
        if method is not Image.Transpose.ROTATE_180:
            width, height = height, width
    processed = _variants(cover, width=width, height=height, icc=None)
    return Processed(
        width=processed.width,
        height=processed.height,
        dominant_color=processed.dominant_color,
        variants=processed.variants,
        duration_seconds=probe.duration_seconds,
    )


def _cover_frame(container, probe: VideoProbe) -> tuple[Image.Image, float]:
    """The first frame at or after ~1 s (half the video when shorter), decoded straight to the
    size of the ``full`` variant, and the frame's display rotation."""
    stream = container.streams.video[0]
    at = min(COVER_AT_SECONDS, probe.duration_seconds / 2)
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    try:
        # Lands on the keyframe at or before ``at``; decoding then walks forward a few frames.
        container.seek(int((start + at) / stream.time_base), stream=stream, backward=True)
    except av.FFmpegError:
        container.seek(0)
    frame = None
    for index, decoded in enumerate(container.decode(stream)):
        frame = decoded
        if decoded.time is None or decoded.time >= start + at or index + 1 >= COVER_MAX_FRAMES:
            break
    if frame is None:
        raise InvalidInput("No frame of the video could be decoded.", code="invalid_video")
    width, height = _fit_size((frame.width, frame.height), VARIANT_SIZES["full"])
    return frame.to_image(width=width, height=height), frame.rotation or 0


def _variants(image: Image.Image, *, width: int, height: int, icc: bytes | None) -> Processed:
    """Make the WebP variants of an upright, decoded image; ``width``/``height`` are its true size."""
    image = _flatten_mode(image)
    variants: dict[str, Image.Image] = {}
    source = image
    for name in sorted(VARIANT_SIZES, key=VARIANT_SIZES.get, reverse=True):
        # Each variant is made from the next bigger one: the big resample happens once.
        source = _fit(source, VARIANT_SIZES[name])
        if name == "full":
            source = _finish(source, icc)
        variants[name] = source
    return Processed(
        width=width,
        height=height,
        dominant_color=_dominant_color(variants["thumb"]),
        variants={
            name: webp_bytes(variant, quality=WEBP_QUALITY, method=WEBP_METHOD)
            for name, variant in variants.items()
        },
    )


def _fit_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, longest / max(w, h))
    return max(1, math.ceil(w * scale - 0.01)), max(1, math.ceil(h * scale - 0.01))


def _fit(image: Image.Image, longest: int) -> Image.Image:
    size = _fit_size(image.size, longest)
    if size == image.size:
        return image
    # reducing_gap: shrink by whole factors first (cheap ``reduce``), then resample the rest.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _flatten_mode(image: Image.Image) -> Image.Image:
    """Bring any decoded mode to one that resamples correctly: L, LA, RGB, RGBA or CMYK."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    if mode in ("P", "PA"):
        return image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    if mode.startswith("I") or mode == "F":
        # 16-bit and float greys: Pillow's convert would clip everything above 255 to white.
        scale = 1 / 256 if mode.startswith("I") else 255
        return image.convert("F").point(lambda v: v * scale).convert("L")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def _finish(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Turn the ``full`` variant into sRGB RGB(A): colour-managed when the source carried a profile
    that is not sRGB already (Display P3 iPhone photos, CMYK prints), and with no useless alpha."""
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        image = _to_srgb(image, icc)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    return image


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return image
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode=out_mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile is dropped: the pixels are still good


def _dominant_color(image: Image.Image) -> str:
    """The most common of a few median-cut colours of a tiny copy: the placeholder card colour."""
    small = image.resize((32, 32), Image.Resampling.BOX)
    if small.mode == "RGBA":
        background = Image.new("RGB", small.size, (255, 255, 255))
        background.paste(small, mask=small.getchannel("A"))
        small = background
    quantized = small.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    _, index = max(quantized.getcolors())
    r, g, b = quantized.getpalette()[index * 3 : index * 3 + 3]
    return f"#{r:02x}{g:02x}{b:02x}"
