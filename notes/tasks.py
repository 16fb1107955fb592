"""Celery tasks of the notes app: thin, idempotent wrappers around services."""

from __future__ import annotations

import logging

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)

# Storage hiccups worth another try: local/NFS I/O errors and S3 connections that dropped or timed
# out. Anything else (a bug, a damaged file the service did not catch) fails at once.
TRANSIENT_STORAGE_ERRORS = (OSError, BotoConnectionError, HTTPClientError)
MEDIA_MAX_RETRIES = 5


@shared_task(bind=True, acks_late=True, max_retries=MEDIA_MAX_RETRIES, soft_time_limit=120, time_limit=150)
def media_process(self, media_id: int):
    """Process one uploaded medium. Safe to run twice: the service locks the row and returns early
    once the medium is ready or failed. Retries storage errors with exponential backoff; when they
    persist (or the time runs out) the medium is marked failed, never left pending for ever."""
    from notes.services import media as media_services  # it imports this module

    try:
        media_services.media_process(media_id=media_id)
    except SoftTimeLimitExceeded:
        media_services.media_fail(media_id=media_id, reason="Processing took too long.")
    except TRANSIENT_STORAGE_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.warning("media %s: storage still failing, giving up: %r", media_id, exc)
            media_services.media_fail(media_id=media_id, reason="Storage was unavailable; upload again.")
            return
        retry = self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries), throw=False)
        if self.request.is_eager:
            # Eager mode (no broker) propagates a raised Retry as an error; a returned one is run
            # again in place by ``Task.apply``, which is the retry we want there.
            return retry
        raise retry from exc


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def notes_publish_due() -> int:
    """Celery beat, every minute: publish scheduled notes whose time has come. Safe to overlap: the
    service skips rows another run has locked, and a published note is no longer due."""
    from notes.services import notes as note_services

    return note_services.notes_publish_due()
