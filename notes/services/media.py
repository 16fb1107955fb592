"""Uploading and processing media (images and videos for notes).

Two steps, so an upload request stays fast and never decodes pixels:

1. ``media_upload`` (in the request) runs the cheap checks of ``notes.media`` before anything is
   stored: the size limit of the file's kind, its real type from the magic bytes, the image header
   (format, pixel count) or the video container (duration, size, codec), and a structure walk that
   catches truncated files. Anything refused there is a 4xx and leaves no row and no file. What
   passes is stored as ``pending`` and processing is enqueued on commit.
2. ``media_process`` (in the Celery task) decodes for real and writes the variants. Damage only a
   real decode can find marks the media ``failed`` with the reason, which the owner sees on
   ``GET /media/{id}``; the original is kept so a moderator can reprocess it.

Storage layout (``default_storage``: local files or S3): originals under ``uploads/YYYY/MM/DD/``
with a random name and the sniffed extension; variants at ``media/<id>/<variant>.webp``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import DomainError, PayloadTooLarge
from notes import media as processing
from notes import tasks
from notes.choices import MediaKind, MediaStatus
from notes.models import Media

logger = logging.getLogger(__name__)

FAILURE_REASON_MAX = Media._meta.get_field("failure_reason").max_length


def media_upload(*, owner: User, upload: UploadedFile) -> Media:
    """Check an uploaded file cheaply, store it as ``pending`` and enqueue its processing.

    Raises ``PayloadTooLarge`` (``too_large``, ``too_many_pixels``) or ``InvalidInput``
    (``unsupported_type``, ``invalid_image``, ``invalid_video``, ``video_too_long``,
    ``unsupported_codec``) before anything is written.
    """
    largest = max(settings.MEDIA_MAX_IMAGE_BYTES, settings.MEDIA_MAX_VIDEO_BYTES)
    if upload.size > largest:
        raise PayloadTooLarge(f"Files may be at most {largest} bytes.")
    upload.seek(0)
    media_type = processing.sniff(upload.read(processing.SNIFF_BYTES))
    upload.seek(0)
    if media_type.kind == MediaKind.IMAGE:
        limit = settings.MEDIA_MAX_IMAGE_BYTES
        if upload.size > limit:
            raise PayloadTooLarge(f"Images may be at most {limit} bytes.")
        data = upload.read()
        processing.check_image(data, media_type)
        content = ContentFile(data)
    else:
        limit = settings.MEDIA_MAX_VIDEO_BYTES
        if upload.size > limit:
            raise PayloadTooLarge(f"Videos may be at most {limit} bytes.")
        if hasattr(upload, "temporary_file_path"):
            processing.probe_video(upload.temporary_file_path())
        else:
            processing.probe_video(upload.file, size=upload.size)
        upload.seek(0)
        content = upload

    media = Media(owner=owner, kind=media_type.kind, mime_type=media_type.mime_type, size_bytes=upload.size)
    # The client's filename is never used: it may lie about the type and may leak personal data.
    media.original.save(f"{uuid.uuid4().hex}.{media_type.extension}", content, save=False)
    try:
        with transaction.atomic():
            media.save()
            transaction.on_commit(lambda: tasks.media_process.delay(media_id=media.pk))
    except Exception:
        default_storage.delete(media.original.name)
        raise
    return media


def media_process(*, media_id: int) -> Media | None:
    """Decode a pending medium, write its variants and mark it ``ready``, or ``failed`` with a reason.

    Idempotent: the row is locked for the whole run, and a medium that is no longer ``pending``
    (processed before, or by a concurrent duplicate of the task) is returned untouched. Variant names
    are deterministic and overwritten, so a run that died half-way leaves nothing a retry trips on.

    Storage errors (``OSError``, botocore's connection errors) propagate and roll back: the task
    retries them. Only a missing original is final.
    """
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != MediaStatus.PENDING:
            return media
        outcome = _process_original(media)
        if isinstance(outcome, str):
            _fail(media, outcome)
        else:
            _mark_ready(media, outcome)
        # In the same transaction: a note never shows a medium that is not ready.
        _settle_notes(media_id)
    return media


def media_fail(*, media_id: int, reason: str) -> Media | None:
    """Give up on a pending medium (the task ran out of retries or time). No-op once settled."""
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != MediaStatus.PENDING:
            return media
        _fail(media, reason)
        _settle_notes(media_id)
    return media


@transaction.atomic
def media_reprocess(*, media_ids: Iterable[int]) -> int:
    """Put failed media back to ``pending`` and enqueue them again (the admin's "reprocess").

    Ready and pending media are left alone. Returns how many were re-queued.
    """
    failed = list(
        Media.objects.select_for_update()
        .filter(pk__in=list(media_ids), status=MediaStatus.FAILED)
        .values_list("pk", flat=True)
    )
    Media.objects.filter(pk__in=failed).update(
        status=MediaStatus.PENDING, failure_reason="", processed_at=None
    )
    for media_id in failed:
        transaction.on_commit(lambda media_id=media_id: tasks.media_process.delay(media_id=media_id))
    return len(failed)


def _process_original(media: Media) -> processing.Processed | str:
    """Read the original from storage and process it; a string is the reason it failed.

    Storage errors propagate (the task retries them), except a missing original, which is final.
    """
    storage = media.original.storage
    try:
        if media.kind == MediaKind.VIDEO:
            with _local_original(media) as path:
                return _decode(processing.process_video, path)
        with storage.open(media.original.name, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return "The uploaded file is missing from storage."
    return _decode(processing.process_image, data)


def _mark_ready(media: Media, result: processing.Processed) -> None:
    media.variants = _store_variants(media, result.variants)
    media.width, media.height = result.width, result.height
    media.dominant_color = result.dominant_color
    media.duration_seconds = result.duration_seconds
    media.status = MediaStatus.READY
    media.failure_reason = ""
    media.processed_at = timezone.now()
    fields = ["variants", "width", "height", "dominant_color", "duration_seconds", "status"]
    media.save(update_fields=[*fields, "failure_reason", "processed_at"])


def _decode(process: Callable[[Any], processing.Processed], source) -> processing.Processed | str:
    """Run the pure processing; a failure there is the file's fault and comes back as the reason.

    Decoders raise more than ``notes.media`` maps to domain errors (libheif, FFmpeg corner cases):
    those are logged and still mark the medium failed rather than leaving it pending for ever.
    """
    try:
        return process(source)
    except DomainError as exc:
        return exc.message
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.exception("media processing failed unexpectedly")
        return "The file could not be processed."


def _fail(media: Media, reason: str) -> None:
    logger.info("media %s failed: %s", media.pk, reason)
    media.status = MediaStatus.FAILED
    media.failure_reason = reason[:FAILURE_REASON_MAX]
    media.processed_at = timezone.now()
    media.save(update_fields=["status", "failure_reason", "processed_at"])


def _settle_notes(media_id: int) -> None:
    """Notes waiting for this medium publish (or fall back to draft when it failed): in the
    medium's transaction, and once more after it commits, for a note written meanwhile that read
    the medium as pending and committed after the first look (see ``notes.services.notes``)."""
    from notes.services.notes import notes_media_settled

    notes_media_settled(media_id=media_id)
    transaction.on_commit(lambda: notes_media_settled(media_id=media_id))


@contextmanager
def _local_original(media: Media) -> Iterator[str]:
    """A local path of the original: the file itself on local storage, else a temporary copy.

    PyAV then reads a local file, so a storage read error is raised here, as itself (and retried by
    the task), never mistaken for a damaged upload.
    """
    storage = media.original.storage
    try:
        path = storage.path(media.original.name)
    except NotImplementedError:
        path = None  # remote storage (S3)
    if path is not None:
        if not storage.exists(media.original.name):
            raise FileNotFoundError(path)
        yield path
        return
    suffix = "." + media.original.name.rsplit(".", 1)[-1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as local:
        with storage.open(media.original.name, "rb") as remote:
            shutil.copyfileobj(remote, local, length=1024 * 1024)
        local.flush()
        yield local.name


def _store_variants(media: Media, variants: dict[str, bytes]) -> dict[str, str]:
    """Write the variants at fixed names, replacing any left by an earlier, interrupted run."""
    storage = media.original.storage
    names = {}
    for name, data in variants.items():
        path = f"media/{media.pk}/{name}.webp"
        if storage.exists(path):
            storage.delete(path)
        names[name] = storage.save(path, ContentFile(data))
    return names
