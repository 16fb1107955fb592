"""Housekeeping of the feeds (Celery beat, hourly) and the full rebuild behind ``rebuild_feeds``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from notes.feeds import fanout, scoring
from notes.feeds.timelines import timeline_backend
from notes.models import SeenNote

#: Seen rows are impressions too: they are kept longer than they are used to skip notes.
SEEN_KEEP_DAYS = 30


def feeds_trim(*, now: datetime | None = None) -> dict:
    """Cap database timelines at ``FEED_TIMELINE_MAX`` (Redis ones are capped as they are written)
    and forget seen rows older than the longer of ``FEED_SEEN_DAYS`` and 30 days."""
    now = now or timezone.now()
    trimmed = timeline_backend().trim()
    keep = timedelta(days=max(settings.FEED_SEEN_DAYS, SEEN_KEEP_DAYS))
    forgotten, _ = SeenNote.objects.filter(seen_at__lt=now - keep).delete()
    return {"timeline_entries": trimmed, "seen": forgotten}


def feeds_rebuild(
    *,
    timelines: bool = True,
    scores: bool = True,
    now: datetime | None = None,
    progress: Callable[[Iterable, str], Iterable] | None = None,
) -> dict:
    """Rebuild timelines and outboxes, and/or every score, place and reader profile, from the rows."""
    done = {}
    if timelines:
        done["timelines"] = fanout.timelines_rebuild(progress=progress)
    if scores:
        done["scores"] = scoring.scores_rebuild(now=now, progress=progress)
    return done
