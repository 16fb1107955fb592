"""``POST /media`` (multipart upload) and ``GET /media/{id}`` (processing state and variants).

``MediaOut`` is also how a note's media list is rendered, so it is built for lists: a plain dict per
medium, no per-field serializer machinery, while its declared fields keep the OpenAPI schema true.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.files import file_url
from config.api.renderers import datetime_out
from config.errors import PayloadTooLarge
from notes.choices import MediaKind, MediaStatus
from notes.models import Media, aspect_ratio
from notes.selectors import MEDIA_COLUMNS
from notes.services import media as services

# Multipart framing around the file (boundaries, part headers) on top of the largest file allowed.
MULTIPART_OVERHEAD = 64 * 1024


class MediaVariantsOut(serializers.Serializer):
    """Absolute URLs of the WebP variants (longest side ~240, ~720, ~1440 px; never upscaled)."""

    thumb = serializers.URLField()
    feed = serializers.URLField()
    full = serializers.URLField()


VARIANT_NAMES = tuple(MediaVariantsOut._declared_fields)


class MediaOut(serializers.Serializer):
    """An uploaded image or video. ``variants`` is null until ``status`` is ``ready``; a video's
    variants are its cover frame. ``width``/``height`` are the upright size of the original."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MediaKind.choices)
    status = serializers.ChoiceField(choices=MediaStatus.choices)
    failure_reason = serializers.CharField(help_text="Why processing failed; empty otherwise.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    aspect_ratio = serializers.FloatField(allow_null=True, help_text="width / height")
    dominant_color = serializers.CharField(help_text="#rrggbb for placeholder cards; empty until ready.")
    duration_seconds = serializers.FloatField(allow_null=True)
    variants = MediaVariantsOut(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, media: Media) -> dict:
        return media_out(
            self.context.get("request"), **{name: getattr(media, name) for name in MEDIA_COLUMNS}
        )


def media_out(
    request,
    id,
    kind,
    status,
    failure_reason,
    width,
    height,
    dominant_color,
    duration_seconds,
    variants,
    created_at,
) -> dict:
    """``MediaOut``'s dict from column values (a ``Media`` or a row of :data:`MEDIA_COLUMNS`, whose
    order the parameters follow)."""
    ready = status == MediaStatus.READY and variants
    return {
        "id": id,
        "kind": kind,
        "status": status,
        "failure_reason": failure_reason,
        "width": width,
        "height": height,
        "aspect_ratio": aspect_ratio(width, height),
        "dominant_color": dominant_color,
        "duration_seconds": duration_seconds,
        "variants": {name: file_url(variants[name], request) for name in VARIANT_NAMES} if ready else None,
        "created_at": datetime_out(created_at),
    }


class MediaUploadIn(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "JPEG, PNG, WebP or HEIC image, or MP4/MOV video (H.264, HEVC, VP8/9, AV1). The type is "
            "read from the bytes; the filename and content type are ignored."
        )
    )


class UploadSizeLimit(FileUploadHandler):
    """Refuse a body larger than any allowed file while it streams in, before it fills a disk."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = max(settings.MEDIA_MAX_IMAGE_BYTES, settings.MEDIA_MAX_VIDEO_BYTES)

    def _refuse(self):
        raise PayloadTooLarge(f"Files may be at most {self.limit} bytes.")

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + MULTIPART_OVERHEAD:
            self._refuse()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None


class MediaUploadView(APIView):
    """Upload one image or video. It is checked (size, real type, pixel count, duration) and stored
    as ``pending``; processing runs in the background: poll ``GET /media/{id}`` until ``ready``."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        request.upload_handlers.insert(0, UploadSizeLimit(request))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="media_upload",
        request={"multipart/form-data": MediaUploadIn},
        responses={201: MediaOut},
    )
    def post(self, request):
        data = MediaUploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        media = services.media_upload(owner=request.user, upload=data.validated_data["file"])
        return Response(MediaOut(media, context={"request": request}).data, status=status.HTTP_201_CREATED)


class MediaDetailView(APIView):
    """One of your own media. Someone else's is a 404, as if it did not exist."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="media_retrieve", responses=MediaOut)
    def get(self, request, media_id: int):
        media = get_object_or_404(Media.objects.filter(owner=request.user), pk=media_id)
        return Response(MediaOut(media, context={"request": request}).data)
