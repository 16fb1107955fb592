"""``GET/PATCH /api/v1/me``: what may change, what may not, and avatar uploads."""

import datetime as dt
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.utils import timezone
from PIL import ExifTags, Image
from rest_framework import serializers

from accounts.api.serializers import ProfileOut
from accounts.models import User
from accounts.selectors import user_get_visible
from tests.factories.accounts import FollowFactory, UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def snapshot(user: User) -> dict:
    return model_to_dict(User.objects.get(pk=user.pk))


def test_get_me(api):
    body = api.get(ME).json()
    assert body["id"] == api.user.pk
    assert body["username"] == api.user.username
    assert body["email"] == api.user.email
    assert body["avatar"] is None
    assert body["interests"] == []
    assert body["follower_count"] == 0
    assert "password" not in body


def test_me_needs_authentication(anon_client):
    assert_error(anon_client.get(ME), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("is_staff", True),
        ("is_superuser", True),
        ("is_kol_certified", True),
        ("follower_count", 1_000_000),
        ("following_count", 5),
        ("note_count", 99),
        ("public_note_count", 99),
        ("followers_note_count", 99),
        ("like_collect_count", 123),
        ("username", "someone_else"),
        ("email", "takeover@example.com"),
        ("id", 424242),
    ],
)
def test_patch_refuses_fields_that_are_not_yours_to_set(api, field, value):
    before = snapshot(api.user)
    # Smuggled next to a legitimate change: the whole request is refused, nothing is written.
    error = assert_error(api.patch(ME, {field: value, "bio": "new bio"}, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert "bio" not in error["fields"]
    assert snapshot(api.user) == before


def test_patch_refuses_smuggled_fields_in_multipart_too(api):
    before = snapshot(api.user)
    response = api.patch(ME, {"is_staff": "true", "nickname": "Boss"}, format="multipart")
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["is_staff"]
    assert snapshot(api.user) == before


def test_patch_changes_editable_fields(api):
    changes = {
        "nickname": "小林",
        "bio": "Coffee and mountains",
        "gender": "female",
        "birthday": "1996-04-03",
        "city": "Hangzhou",
        "interests": ["travel", "beauty", "travel"],
        "is_private": True,
        "hide_collects": True,
        "comment_permission": "followers",
        "mention_permission": "nobody",
    }
    response = api.patch(ME, changes, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    # Interests are de-duplicated and kept in the catalogue's order.
    expected = {**changes, "interests": ["beauty", "travel"]}
    assert {key: body[key] for key in changes} == expected

    row = User.objects.get(pk=api.user.pk)
    assert row.nickname == "小林"
    assert row.bio == "Coffee and mountains"
    assert row.gender == "female"
    assert row.birthday == dt.date(1996, 4, 3)
    assert row.city == "Hangzhou"
    assert row.interests == ["beauty", "travel"]
    assert row.is_private and row.hide_collects
    assert (row.comment_permission, row.mention_permission) == ("followers", "nobody")
    assert api.get(ME).json()["interests"] == ["beauty", "travel"]


def test_patch_is_partial(api):
    api.patch(ME, {"city": "Chengdu"}, format="json")
    api.patch(ME, {"bio": "hi"}, format="json")
    row = User.objects.get(pk=api.user.pk)
    assert (row.city, row.bio) == ("Chengdu", "hi")


def test_birthday_can_be_cleared(api):
    api.patch(ME, {"birthday": "2000-01-01"}, format="json")
    assert api.patch(ME, {"birthday": None}, format="json").json()["birthday"] is None
    assert User.objects.get(pk=api.user.pk).birthday is None


def test_future_birthday_is_refused(api):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    error = assert_error(api.patch(ME, {"birthday": tomorrow.isoformat()}, format="json"), 400, "invalid")
    assert "birthday" in error["fields"]
    assert User.objects.get(pk=api.user.pk).birthday is None


@pytest.mark.parametrize(
    "changes",
    [
        {"interests": ["beauty", "astrology"]},
        {"gender": "dragon"},
        {"comment_permission": "friends"},
        {"nickname": ""},
        {"nickname": "x" * 41},
    ],
)
def test_invalid_values_are_refused(api, changes):
    before = snapshot(api.user)
    error = assert_error(api.patch(ME, changes, format="json"), 400, "invalid")
    assert set(error["fields"]) == set(changes)
    assert snapshot(api.user) == before


# --- Avatars ---------------------------------------------------------------------------------


def image_bytes(fmt: str, size=(800, 600), exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 40, 90))
    image.paste((10, 120, 220), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 30.0)
    return exif


def stored_avatar(user: User) -> tuple[str, bytes]:
    name = User.objects.get(pk=user.pk).avatar.name
    assert name
    with default_storage.open(name) as handle:
        return name, handle.read()


def assert_clean_square_webp(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    assert image.size == (512, 512)
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert b"EXIF" not in data and b"Exif" not in data


@pytest.mark.parametrize(
    ("fmt", "filename", "size"),
    [("PNG", "me.png", (800, 600)), ("JPEG", "me.jpg", (300, 900)), ("JPEG", "small.jpg", (64, 64))],
)
def test_avatar_is_stored_as_square_webp(api, fmt, filename, size):
    upload = SimpleUploadedFile(filename, image_bytes(fmt, size), content_type=f"image/{fmt.lower()}")
    response = api.patch(ME, {"avatar": upload, "nickname": "Pic"}, format="multipart")
    assert response.status_code == 200, response.content
    name, data = stored_avatar(api.user)
    assert name.endswith(".webp")
    assert response.json()["avatar"].endswith(name)
    assert response.json()["nickname"] == "Pic"
    assert_clean_square_webp(data)


def test_avatar_exif_and_gps_are_stripped(api):
    source = image_bytes("JPEG", exif=gps_exif())
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the precondition
    upload = SimpleUploadedFile("trip.jpg", source, content_type="image/jpeg")
    assert api.patch(ME, {"avatar": upload}, format="multipart").status_code == 200
    _, data = stored_avatar(api.user)
    assert_clean_square_webp(data)
    assert b"PhoneCo" not in data


def test_replacing_the_avatar_deletes_the_old_file(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(ME, {"avatar": SimpleUploadedFile("a.png", image_bytes("PNG"))}, format="multipart")
    first, _ = stored_avatar(api.user)
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(ME, {"avatar": SimpleUploadedFile("b.png", image_bytes("PNG"))}, format="multipart")
    second, _ = stored_avatar(api.user)
    assert first != second
    assert default_storage.exists(second)
    assert not default_storage.exists(first)


def test_non_image_avatar_is_refused(api):
    before = snapshot(api.user)
    fake = SimpleUploadedFile("me.png", b"#!/bin/sh\necho not an image\n", content_type="image/png")
    response = api.patch(ME, {"avatar": fake, "bio": "changed"}, format="multipart")
    assert_error(response, 400, "invalid_image")
    assert snapshot(api.user) == before


def test_truncated_image_is_refused(api):
    data = image_bytes("PNG")
    fake = SimpleUploadedFile("me.png", data[: len(data) // 2], content_type="image/png")
    assert_error(api.patch(ME, {"avatar": fake}, format="multipart"), 400, "invalid_image")
    assert User.objects.get(pk=api.user.pk).avatar.name == ""


def test_unsupported_image_format_is_refused(api):
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "BMP")
    upload = SimpleUploadedFile("me.bmp", out.getvalue(), content_type="image/bmp")
    assert_error(api.patch(ME, {"avatar": upload}, format="multipart"), 400, "unsupported_type")


def test_oversize_avatar_is_refused(api, settings):
    settings.AVATAR_MAX_BYTES = 1024
    data = image_bytes("PNG", size=(600, 600))
    assert len(data) > 1024
    before = snapshot(api.user)
    upload = SimpleUploadedFile("big.png", data, content_type="image/png")
    error = assert_error(api.patch(ME, {"avatar": upload, "bio": "x"}, format="multipart"), 413, "too_large")
    assert "1024" in error["message"]
    assert snapshot(api.user) == before


def test_oversize_keeps_the_previous_avatar(api, settings):
    api.patch(ME, {"avatar": SimpleUploadedFile("a.png", image_bytes("PNG"))}, format="multipart")
    before, _ = stored_avatar(api.user)
    settings.AVATAR_MAX_BYTES = 10
    response = api.patch(ME, {"avatar": SimpleUploadedFile("b.png", image_bytes("PNG"))}, format="multipart")
    assert_error(response, 413, "too_large")
    assert stored_avatar(api.user)[0] == before
    assert default_storage.exists(before)


def test_avatar_with_too_many_pixels_is_refused(api, settings):
    settings.IMAGE_MAX_PIXELS = 100 * 100
    upload = SimpleUploadedFile("wide.png", image_bytes("PNG", size=(200, 100)), content_type="image/png")
    assert_error(api.patch(ME, {"avatar": upload}, format="multipart"), 413, "too_many_pixels")
    assert User.objects.get(pk=api.user.pk).avatar.name == ""


def test_profile_dict_is_what_drf_would_render_from_its_fields():
    viewer, user = UserFactory.create_batch(2)
    user.avatar, user.bio, user.city, user.follower_count = "avatars/2026/12/me.webp", "你好", "上海", 3
    user.save()
    FollowFactory(follower=viewer, followee=user)
    profile = user_get_visible(username=user.username, viewer=viewer)
    out = ProfileOut(profile, context={"request": RequestFactory().get("/")})

    assert out.data == serializers.Serializer.to_representation(out, profile)
    assert out.data["is_following"] is True
    assert out.data["avatar"] == "http://testserver/media/avatars/2026/12/me.webp"
