"""The media pipeline through the real API: upload (multipart) -> stored pending -> the Celery task
(eager, run on commit) decodes for real -> variants in storage -> GET shows them."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

from notes import tasks
from notes.choices import MediaKind, MediaStatus
from notes.models import Media
from notes.services import media as services
from tests.factories import UserFactory
from tests.helpers import assert_error
from tests.notes.conftest import BACKGROUND, MARK

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

MEDIA = "/api/v1/media"


@pytest.fixture
def post_media(api, django_capture_on_commit_callbacks):
    """Upload through the API; processing (enqueued on commit) runs before this returns."""

    def post(
        data: bytes, name: str = "upload.bin", content_type: str = "application/octet-stream", client=None
    ):
        upload = SimpleUploadedFile(name, data, content_type=content_type)
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api).post(MEDIA, {"file": upload}, format="multipart")

    return post


def get_media(client, media_id: int) -> dict:
    response = client.get(f"{MEDIA}/{media_id}")
    assert response.status_code == 200, response.content
    return response.json()


def variant_images(media_id: int) -> dict[str, tuple[Image.Image, bytes]]:
    media = Media.objects.get(pk=media_id)
    assert set(media.variants) == {"thumb", "feed", "full"}
    images = {}
    for name, path in media.variants.items():
        assert path == f"media/{media_id}/{name}.webp"
        with default_storage.open(path) as handle:
            data = handle.read()
        images[name] = (Image.open(io.BytesIO(data)), data)
    return images


def assert_variant_sizes(media_id: int, sizes: dict[str, tuple[int, int]]) -> dict[str, Image.Image]:
    images = {name: image for name, (image, _) in variant_images(media_id).items()}
    assert {name: image.format for name, image in images.items()} == dict.fromkeys(sizes, "WEBP")
    assert {name: image.size for name, image in images.items()} == sizes
    return images


def close_to(pixel, colour, tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def assert_nothing_stored(settings) -> None:
    assert Media.objects.count() == 0
    assert stored_files(settings) == []


LANDSCAPE = {"full": (1440, 1080), "feed": (720, 540), "thumb": (240, 180)}


# --- Every supported type ends ready, with the right variants --------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime_type", "name", "client_type"),
    [
        ("JPEG", "image/jpeg", "photo.jpg", "image/jpeg"),
        ("PNG", "image/png", "shot.png", "image/png"),
        ("WEBP", "image/webp", "pic.webp", "image/webp"),
        ("HEIF", "image/heic", "IMG_0001.HEIC", "image/heic"),
        # The client's name and content type are ignored: the bytes say PNG.
        ("PNG", "image/png", "lies.jpg", "image/jpeg"),
    ],
)
def test_image_upload_ends_ready_with_variants(
    api, post_media, make_image, fmt, mime_type, name, client_type
):
    response = post_media(make_image(fmt, (1600, 1200)), name, client_type)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "pending"
    assert created["kind"] == "image"
    assert created["variants"] is None

    body = get_media(api, created["id"])
    assert body["status"] == "ready", body
    assert body["failure_reason"] == ""
    assert (body["width"], body["height"], body["aspect_ratio"]) == (1600, 1200, 1.3333)
    assert body["duration_seconds"] is None
    # Three quarters of the picture are green: that is the placeholder colour.
    assert close_to(bytes.fromhex(body["dominant_color"][1:]), BACKGROUND), body["dominant_color"]
    assert set(body["variants"]) == {"thumb", "feed", "full"}
    for variant, url in body["variants"].items():
        assert url == f"http://testserver/media/media/{created['id']}/{variant}.webp"

    media = Media.objects.get(pk=created["id"])
    assert media.mime_type == mime_type
    assert media.original.name.startswith("uploads/")
    assert media.original.name.endswith(
        "." + {"image/jpeg": "jpg", "image/heic": "heic"}.get(mime_type, fmt.lower())
    )
    assert media.processed_at is not None
    images = assert_variant_sizes(media.pk, LANDSCAPE)
    full = images["full"].convert("RGB")
    assert close_to(full.getpixel((10, 10)), MARK)
    assert close_to(full.getpixel((1430, 10)), BACKGROUND)


def test_small_images_are_never_upscaled(api, post_media, make_image):
    response = post_media(make_image("PNG", (300, 150)))
    assert get_media(api, response.json()["id"])["status"] == "ready"
    assert_variant_sizes(response.json()["id"], {"full": (300, 150), "feed": (300, 150), "thumb": (240, 120)})


def test_transparency_is_kept(api, post_media):
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    canvas.paste((*MARK, 255), (0, 0, 200, 200))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    response = post_media(out.getvalue())
    assert get_media(api, response.json()["id"])["status"] == "ready"
    full = variant_images(response.json()["id"])["full"][0]
    assert full.mode == "RGBA"
    assert full.getpixel((300, 300))[3] == 0
    assert close_to(full.getpixel((50, 50)), MARK)


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("JPEG", "RGB", {"progressive": True}),
        ("JPEG", "L", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "P", {}),
        ("PNG", "LA", {}),
        ("PNG", "I;16", {}),
        ("WEBP", "RGBA", {"lossless": True}),
    ],
)
def test_unusual_encodings_end_ready(api, post_media, make_image, fmt, mode, options):
    response = post_media(make_image(fmt, (1000, 800), mode=mode, **options))
    assert response.status_code == 201, response.content
    body = get_media(api, response.json()["id"])
    assert body["status"] == "ready", body
    images = assert_variant_sizes(body["id"], {"full": (1000, 800), "feed": (720, 576), "thumb": (240, 192)})
    assert images["full"].mode in ("RGB", "RGBA")
    if mode not in ("L", "LA", "I;16"):
        assert close_to(images["full"].convert("RGB").getpixel((10, 10)), MARK, tolerance=40)


@pytest.mark.parametrize(
    ("container", "mime_type", "in_memory"),
    [("mp4", "video/mp4", True), ("mp4", "video/mp4", False), ("mov", "video/quicktime", True)],
)
def test_video_upload_ends_ready_with_cover_variants(
    api, post_media, make_video, settings, container, mime_type, in_memory
):
    if not in_memory:
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # streamed to a temporary file, probed by path
    response = post_media(make_video(container, seconds=2, size=(320, 240)), f"clip.{container}", "video/x")
    assert response.status_code == 201, response.content
    body = get_media(api, response.json()["id"])
    assert body["status"] == "ready", body
    assert body["kind"] == "video"
    assert body["duration_seconds"] == pytest.approx(2.0, abs=0.15)
    assert (body["width"], body["height"]) == (320, 240)
    assert close_to(bytes.fromhex(body["dominant_color"][1:]), BACKGROUND)
    assert Media.objects.get(pk=body["id"]).mime_type == mime_type
    images = assert_variant_sizes(body["id"], {"full": (320, 240), "feed": (320, 240), "thumb": (240, 180)})
    assert close_to(images["full"].convert("RGB").getpixel((10, 10)), MARK, tolerance=40)


def test_portrait_phone_video_is_turned_upright(api, post_media, make_video):
    # Phones store portrait video landscape with a display matrix saying "turn 90 degrees clockwise".
    response = post_media(make_video("mp4", size=(320, 240), rotation=-90))
    body = get_media(api, response.json()["id"])
    assert (body["width"], body["height"]) == (240, 320)
    full = assert_variant_sizes(body["id"], {"full": (240, 320), "feed": (240, 320), "thumb": (180, 240)})[
        "full"
    ]
    full = full.convert("RGB")
    # The picture's top-left corner went to the top right.
    assert close_to(full.getpixel((230, 10)), MARK, tolerance=40)
    assert close_to(full.getpixel((10, 10)), BACKGROUND, tolerance=40)


# --- Metadata and orientation -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "PNG"])
def test_gps_and_all_metadata_are_stripped_from_every_variant(
    api, post_media, make_image, make_gps_exif, fmt
):
    source = make_image(fmt, (800, 600), exif=make_gps_exif())
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the precondition
    assert b"PhoneCo" in source
    response = post_media(source)
    assert get_media(api, response.json()["id"])["status"] == "ready"
    for image, data in variant_images(response.json()["id"]).values():
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile"} & set(image.info)
        assert b"Exif" not in data and b"EXIF" not in data and b"XMP " not in data
        assert b"PhoneCo" not in data


def test_exif_orientation_is_applied(api, post_media, make_image, make_gps_exif):
    # Stored 1600x1200 with orientation 6: the camera was held upright, so turn 90 degrees clockwise.
    response = post_media(make_image("JPEG", (1600, 1200), exif=make_gps_exif(orientation=6)))
    body = get_media(api, response.json()["id"])
    assert (body["width"], body["height"], body["aspect_ratio"]) == (1200, 1600, 0.75)
    images = assert_variant_sizes(body["id"], {"full": (1080, 1440), "feed": (540, 720), "thumb": (180, 240)})
    full = images["full"].convert("RGB")
    assert close_to(full.getpixel((1070, 10)), MARK)  # the stored top-left is now top-right
    assert close_to(full.getpixel((10, 10)), BACKGROUND)
    assert close_to(full.getpixel((1070, 1430)), BACKGROUND)


# --- Refused at upload: a JSON 4xx, and nothing stored ----------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # past Pillow's own error limit (2 x 89 MP)
        (10_000, 10_000),  # past Pillow's warning limit (89 MP): the warning is an error here
        (8_000, 6_000),  # 48 MP: under Pillow's limits, over ours (40 MP)
    ],
)
def test_decompression_bomb_is_refused(post_media, make_png_claiming, settings, width, height):
    data = make_png_claiming(width, height)
    assert len(data) < 1024
    assert_error(post_media(data, "bomb.png", "image/png"), 413, "too_many_pixels")
    assert_nothing_stored(settings)


def test_pixel_limit_is_a_setting(post_media, make_image, settings):
    settings.MEDIA_MAX_PIXELS = 1000 * 1000
    error = assert_error(post_media(make_image("JPEG", (1200, 1000))), 413, "too_many_pixels")
    assert "1000000" in error["message"]
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"Just some text pretending to be a photo.\n" * 20, "photo.jpg", "image/jpeg"),
        (b"GIF89a" + b"\0" * 100, "anim.gif", "image/gif"),
        (b"%PDF-1.7\n" + b"\0" * 100, "video.mp4", "video/mp4"),
        (b"", "empty.jpg", "image/jpeg"),
    ],
)
def test_wrong_magic_bytes_are_refused(post_media, settings, data, name, content_type):
    response = post_media(data, name, content_type)
    if data:
        assert_error(response, 400, "unsupported_type")
    else:
        assert "file" in assert_error(response, 400, "invalid")["fields"]
    assert_nothing_stored(settings)


def test_unsupported_image_format_inside_known_magic_is_refused(post_media, settings):
    # A BMP never gets past the magic numbers; an AVIF shares HEIF's box format but not its brand.
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "BMP")
    assert_error(post_media(out.getvalue(), "x.bmp", "image/bmp"), 400, "unsupported_type")
    avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + b"\0" * 64
    assert_error(post_media(avif, "x.avif", "image/avif"), 400, "unsupported_type")
    assert_nothing_stored(settings)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_truncated_image_is_refused(post_media, make_image, settings, fmt):
    data = make_image(fmt, (800, 600))
    assert_error(post_media(data[: len(data) * 2 // 3], "cut.img", "image/jpeg"), 400, "invalid_image")
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    ("faststart", "in_memory"),
    [(False, True), (True, True), (True, False)],
    ids=["moov-last", "moov-first", "on-disk"],
)
def test_truncated_video_is_refused(post_media, make_video, settings, faststart, in_memory):
    if not in_memory:
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    data = make_video("mp4", seconds=2, faststart=faststart)
    assert data[4:8] == b"ftyp" and (data.index(b"moov") < data.index(b"mdat")) == faststart
    # With the index first, FFmpeg would open the cut file happily: the box walk is what notices.
    assert_error(post_media(data[: len(data) - 300], "cut.mp4", "video/mp4"), 400, "invalid_video")
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    ("kind", "setting", "limit"),
    [
        ("image", "MEDIA_MAX_IMAGE_BYTES", 2000),
        ("video", "MEDIA_MAX_VIDEO_BYTES", 2000),
        # Both small: the upload handler refuses the body while it streams in.
        ("video", "both", 2000),
    ],
)
def test_oversize_upload_is_refused(
    post_media, make_image, make_video, settings, monkeypatch, kind, setting, limit
):
    if setting == "both":
        settings.MEDIA_MAX_IMAGE_BYTES = settings.MEDIA_MAX_VIDEO_BYTES = limit
        monkeypatch.setattr(services, "media_upload", None)  # never reached
    else:
        setattr(settings, setting, limit)
    data = make_image("PNG", (600, 600)) if kind == "image" else make_video("mp4")
    assert len(data) > limit
    error = assert_error(post_media(data), 413, "too_large")
    assert str(limit) in error["message"]
    assert_nothing_stored(settings)


def test_over_long_video_is_refused(post_media, make_video, settings):
    settings.MEDIA_MAX_VIDEO_SECONDS = 1
    error = assert_error(post_media(make_video("mp4", seconds=3)), 400, "video_too_long")
    assert "1" in error["message"]
    assert_nothing_stored(settings)


def test_anonymous_upload_is_refused(anon_client, make_image, settings):
    upload = SimpleUploadedFile("a.jpg", make_image("JPEG", (100, 100)))
    assert_error(anon_client.post(MEDIA, {"file": upload}, format="multipart"), 401, "not_authenticated")
    assert_nothing_stored(settings)


# --- Found only by the real decode: the media is marked failed with a reason -----------------


def test_damage_only_a_real_decode_finds_marks_the_media_failed(api, post_media, make_image):
    data = bytearray(make_image("PNG", (400, 300)))
    idat = data.index(b"IDAT") + 4
    data[idat + 10 : idat + 60] = b"\x55" * 50  # chunk structure intact, pixel data garbage
    response = post_media(bytes(data))
    assert response.status_code == 201, response.content
    body = get_media(api, response.json()["id"])
    assert body["status"] == "failed"
    assert body["failure_reason"]
    assert body["variants"] is None
    media = Media.objects.get(pk=body["id"])
    assert media.variants == {}
    assert default_storage.exists(media.original.name)  # kept, so it can be reprocessed


def test_video_whose_frames_do_not_decode_is_marked_failed(api, post_media, make_video):
    data = bytearray(make_video("mp4", seconds=2))
    mdat = data.index(b"mdat")
    size = int.from_bytes(data[mdat - 4 : mdat], "big")
    data[mdat + 4 : mdat - 4 + size] = bytes(size - 8)  # the container is fine, the frames are zeros
    response = post_media(bytes(data))
    assert response.status_code == 201, response.content
    body = get_media(api, response.json()["id"])
    assert (body["status"], body["variants"]) == ("failed", None)
    assert "video" in body["failure_reason"]


def test_unexpected_decoder_error_marks_the_media_failed(api, post_media, make_image, monkeypatch):
    def explode(data):
        raise RuntimeError("libheif: something unheard of")

    monkeypatch.setattr("notes.media.process_image", explode)
    body = get_media(api, post_media(make_image("JPEG", (300, 200))).json()["id"])
    assert (body["status"], body["failure_reason"]) == ("failed", "The file could not be processed.")


def test_missing_original_marks_the_media_failed(api):
    media = Media.objects.create(
        owner=api.user,
        kind=MediaKind.IMAGE,
        mime_type="image/jpeg",
        size_bytes=10,
        original="uploads/gone.jpg",
    )
    tasks.media_process.delay(media_id=media.pk)
    body = get_media(api, media.pk)
    assert body["status"] == "failed"
    assert "missing" in body["failure_reason"]


def test_transient_storage_errors_are_retried(api, post_media, make_image, monkeypatch):
    real_open = FileSystemStorage.open
    failures = {"left": 2}

    def flaky_open(self, name, mode="rb"):
        if name.startswith("uploads/") and failures["left"]:
            failures["left"] -= 1
            raise OSError("storage hiccup")
        return real_open(self, name, mode)

    monkeypatch.setattr(FileSystemStorage, "open", flaky_open)
    response = post_media(make_image("JPEG", (800, 600)))
    assert failures["left"] == 0
    assert get_media(api, response.json()["id"])["status"] == "ready"


def test_storage_that_stays_down_marks_the_media_failed(api, post_media, make_image, monkeypatch):
    real_open = FileSystemStorage.open

    def broken_open(self, name, mode="rb"):
        if name.startswith("uploads/"):
            raise OSError("storage down")
        return real_open(self, name, mode)

    monkeypatch.setattr(FileSystemStorage, "open", broken_open)
    response = post_media(make_image("JPEG", (800, 600)))
    body = get_media(api, response.json()["id"])
    assert body["status"] == "failed"
    assert "Storage" in body["failure_reason"]


# --- Idempotent processing, reprocessing ------------------------------------------------------


def test_processing_twice_gives_the_same_result(api, post_media, make_image, settings):
    response = post_media(make_image("JPEG", (1600, 1200)))
    media_id = response.json()["id"]
    first = Media.objects.get(pk=media_id)
    files = {path: path.read_bytes() for path in stored_files(settings)}
    assert len(files) == 4  # the original and three variants

    tasks.media_process.delay(media_id=media_id)
    again = Media.objects.get(pk=media_id)
    assert (again.status, again.variants, again.processed_at) == (
        first.status,
        first.variants,
        first.processed_at,
    )
    assert {path: path.read_bytes() for path in stored_files(settings)} == files

    # Even a forced re-run (the row back to pending) writes the same names, not name_AbC12.webp.
    Media.objects.filter(pk=media_id).update(status=MediaStatus.PENDING)
    services.media_process(media_id=media_id)
    rerun = Media.objects.get(pk=media_id)
    assert rerun.status == MediaStatus.READY
    assert rerun.variants == first.variants
    assert sorted(stored_files(settings)) == sorted(files)


def test_admin_reprocess_action_requeues_failed_media(
    admin_client, api, make_image, django_capture_on_commit_callbacks
):
    original = default_storage.save("uploads/fixed.jpg", ContentFile(make_image("JPEG", (640, 480))))
    failed = Media.objects.create(
        owner=api.user,
        kind=MediaKind.IMAGE,
        status=MediaStatus.FAILED,
        failure_reason="Storage was unavailable; upload again.",
        mime_type="image/jpeg",
        size_bytes=10,
        original=original,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notes/media/", {"action": "reprocess", "_selected_action": [failed.pk]}, follow=True
        )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == MediaStatus.READY
    assert failed.failure_reason == ""
    assert (failed.width, failed.height) == (640, 480)
    assert admin_client.get(f"/admin/notes/media/{failed.pk}/change/").status_code == 200
    assert (
        admin_client.get("/admin/notes/media/?status__exact=ready&q=" + api.user.username).status_code == 200
    )


# --- Ownership --------------------------------------------------------------------------------


def test_another_users_media_is_404(api, post_media, make_image, client_for):
    media_id = post_media(make_image("JPEG", (100, 100))).json()["id"]
    stranger = client_for(UserFactory())
    assert_error(stranger.get(f"{MEDIA}/{media_id}"), 404, "not_found")
    assert_error(api.get(f"{MEDIA}/999999"), 404, "not_found")
    assert get_media(api, media_id)["id"] == media_id


# --- S3: the same path against a real S3-compatible server on loopback ------------------------


@pytest.fixture
def s3_bucket(settings):
    """A moto S3 server on a free loopback port, a fresh bucket, and django-storages pointed at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"zhongcao-{uuid.uuid4().hex[:12]}"  # moto's state is per process, not per server
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "querystring_auth": False,
                "file_overwrite": False,
            },
        },
    }
    yield client, endpoint, bucket
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)
    server.stop()


@pytest.mark.parametrize("kind", ["image", "video"])
def test_upload_and_processing_against_s3(api, post_media, make_image, make_video, s3_bucket, settings, kind):
    client, endpoint, bucket = s3_bucket
    data = make_image("JPEG", (1600, 1200)) if kind == "image" else make_video("mp4", size=(320, 240))
    response = post_media(data)
    assert response.status_code == 201, response.content
    body = get_media(api, response.json()["id"])
    assert body["status"] == "ready", body
    media_id = body["id"]
    for variant, url in body["variants"].items():
        assert url == f"{endpoint}/{bucket}/media/{media_id}/{variant}.webp"

    keys = {item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]}
    original = Media.objects.get(pk=media_id).original.name
    assert keys == {original, *(f"media/{media_id}/{name}.webp" for name in ("thumb", "feed", "full"))}
    full = client.get_object(Bucket=bucket, Key=f"media/{media_id}/full.webp")["Body"].read()
    expected = (1440, 1080) if kind == "image" else (320, 240)
    assert Image.open(io.BytesIO(full)).size == expected
    assert stored_files(settings) == []  # nothing went to local disk

    # A second run is a no-op against S3 too.
    tasks.media_process.delay(media_id=media_id)
    assert {item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]} == keys
