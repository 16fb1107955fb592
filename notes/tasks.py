"""Celery tasks of the notes app: thin, idempotent wrappers around services."""

from __future__ import annotations

import logging

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Storage hiccups worth another try: local/NFS I/O errors and S3 connections that dropped or timed
# out. Anything else (a bug, a damaged file the service did not catch) fails at once.
TRANSIENT_STORAGE_ERRORS = (OSError, BotoConnectionError, HTTPClientError)
MEDIA_MAX_RETRIES = 5


@worker_process_init.connect
def _warm_process(**kwargs) -> None:
    """Each worker process loads the segmenter's dictionary and freezes what it loaded before its
    first task (``config.warm``)."""
    from config.warm import warm_process

    warm_process(serving=False)


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


# --- Search and trending --------------------------------------------------------------------
# Indexing tasks rewrite a document from the row as it is when they run, so running one twice, late
# or out of order converges on the same document.


@shared_task(acks_late=True, soft_time_limit=30, time_limit=40)
def search_index_note(note_id: int) -> int:
    """Index a note that went live or was edited; drop its document when it is no longer live."""
    from notes.search import indexing

    return indexing.index_notes([note_id])


@shared_task(acks_late=True, soft_time_limit=30, time_limit=40)
def search_index_user(user_id: int) -> int:
    from notes.search import indexing

    return indexing.index_users([user_id])


@shared_task(acks_late=True, soft_time_limit=30, time_limit=40)
def search_index_products(product_ids: list[int]) -> int:
    from notes.search import indexing

    return indexing.index_products(product_ids)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=75)
def search_index_store(store_id: int) -> int:
    """A store was renamed (or saved): its products carry the store name in their documents."""
    from notes.search import indexing
    from shop.models import Product

    ids = list(Product.objects.filter(store_id=store_id).values_list("pk", flat=True))
    return sum(indexing.index_products(ids[i : i + 500]) for i in range(0, len(ids), 500))


@shared_task(soft_time_limit=30, time_limit=40)
def trending_count_note(note_id: int) -> bool:
    """Count the topics of a note that went live in public. Counted once per note (a key remembers
    it for the window), so a retry or a re-publish does not count twice."""
    from notes.choices import Visibility
    from notes.models import Note, NoteTopic
    from notes.search import trending

    if not Note.objects.live().filter(pk=note_id, visibility=Visibility.PUBLIC).exists():
        return False
    topic_ids = list(NoteTopic.objects.filter(note_id=note_id).values_list("topic_id", flat=True))
    return trending.count_note_topics(note_id=note_id, topic_ids=topic_ids)


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def trending_rollup() -> dict:
    """Celery beat, every five minutes: hot searches and topic heat over the sliding window."""
    from notes.search import trending

    return trending.trending_rollup()


# --- Feeds ----------------------------------------------------------------------------------
# Each task reads the current state and makes the feeds agree with it (see notes.feeds.fanout), so
# it is safe to run twice, late or out of order. Redis connection hiccups are retried with backoff.
REDIS_TRANSIENT = (RedisConnectionError, RedisTimeoutError)
FEED_SYNC = {"acks_late": True, "autoretry_for": REDIS_TRANSIENT, "retry_backoff": True, "max_retries": 5}


@shared_task(**FEED_SYNC, soft_time_limit=120, time_limit=150)
def feeds_note_sync(note_id: int) -> None:
    """A note went live, stopped being live or was edited: fan it out or take it back, rescore it."""
    from notes.feeds import fanout

    fanout.note_feeds_sync(note_id=note_id)


@shared_task(**FEED_SYNC, soft_time_limit=30, time_limit=40)
def feeds_follow_sync(follower_id: int, followee_id: int) -> None:
    """A follow started (back-fill) or ended (remove the followee's notes)."""
    from notes.feeds import fanout

    fanout.follow_sync(follower_id=follower_id, followee_id=followee_id)


@shared_task(**FEED_SYNC, soft_time_limit=30, time_limit=40)
def feeds_block_sync(blocker_id: int, blocked_id: int) -> None:
    from notes.feeds import fanout

    fanout.block_sync(blocker_id=blocker_id, blocked_id=blocked_id)


@shared_task(**FEED_SYNC, soft_time_limit=120, time_limit=150)
def feeds_author_rescore(user_id: int) -> int:
    """An author's account went private or public: their notes leave or rejoin discovery."""
    from notes.feeds import scoring
    from notes.models import Note

    return scoring.notes_score(Note.objects.live().filter(author_id=user_id).values_list("pk", flat=True))


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def feeds_score_changed() -> dict:
    """Celery beat, every 30 s: rescore notes whose engagement changed, relearn their readers."""
    from notes.feeds import scoring

    return scoring.scores_update_changed()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def feeds_decay_pass() -> int:
    """Celery beat, every 10 min: refresh the scores of the last FEED_DECAY_WINDOW_HOURS of notes."""
    from notes.feeds import scoring

    return scoring.scores_decay_pass()


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def feeds_trim() -> dict:
    """Celery beat, hourly: cap database timelines, forget old seen rows."""
    from notes.feeds import maintenance

    return maintenance.feeds_trim()
