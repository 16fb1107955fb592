"""Builders of real media files for the notes tests: images in every accepted format (HEIC through
pillow-heif), videos encoded with PyAV from generated frames, and a PNG whose header lies."""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from pathlib import Path

import av
import pytest
from PIL import ExifTags, Image

import config.imaging  # noqa: F401  (registers the HEIF plugin, so Pillow can write HEIC)
from config.celery import app as celery_app

BACKGROUND = (30, 160, 60)  # green: three quarters of every generated picture
MARK = (220, 30, 30)  # red: the top-left quarter, to see where the picture's corner went


def pattern(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A green picture with a red top-left quarter."""
    image = Image.new("RGB", size, BACKGROUND)
    image.paste(MARK, (0, 0, size[0] // 2, size[1] // 2))
    return image.convert(mode)


def image_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (1600, 1200),
    *,
    exif: Image.Exif | None = None,
    mode: str = "RGB",
    **save_options,
) -> bytes:
    out = io.BytesIO()
    if exif is not None:
        save_options["exif"] = exif
    pattern(size, mode).save(out, fmt, **save_options)
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a camera make, GPS coordinates and (optionally) an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 30.0)
    return exif


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def video_bytes(
    container: str = "mp4",
    *,
    seconds: float = 2,
    fps: int = 10,
    size: tuple[int, int] = (320, 240),
    rotation: int | None = None,
    faststart: bool = False,
) -> bytes:
    """An H.264 video of the ``pattern`` picture; ``rotation`` sets the display matrix like phones do.

    ``faststart`` puts the index (``moov``) before the frames, as streaming-friendly encoders do;
    FFmpeg needs a real file to move it there.
    """
    if not faststart:
        out = io.BytesIO()
        _encode(out, container, seconds, fps, size, rotation, {})
        return out.getvalue()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"video.{container}"
        _encode(str(path), container, seconds, fps, size, rotation, {"movflags": "faststart"})
        return path.read_bytes()


def _encode(target, container, seconds, fps, size, rotation, options) -> None:
    with av.open(target, "w", format=container, options=options) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        frame = av.VideoFrame.from_image(pattern(size))
        for index in range(int(seconds * fps)):
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


@pytest.fixture
def eager_celery():
    """Tasks run in process whatever the environment says (the services suite may set a broker)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def make_image():
    return image_bytes


@pytest.fixture
def make_video():
    return video_bytes


@pytest.fixture
def make_gps_exif():
    return gps_exif


@pytest.fixture
def make_png_claiming():
    return png_claiming


from tests.notes.feeds_support import committed, feed_backend, redis_trips  # noqa: E402, F401  (feeds fixtures)
