"""B9: the discovery ranking's decay pass over the world's last ``FEED_DECAY_WINDOW_HOURS``, in process.

The world's dates are relative to when it was built, so the pass runs "ten minutes after" that
(``now = built_at + 10 min``), as beat would. Two cases, each in a transaction that is rolled back
and with the rank store under a scratch Redis prefix that is deleted afterwards, so the world is
left as it was and every run measures the same work (the table is vacuumed before each, outside
the timing, as autovacuum would have between two passes):

* **as beat finds it**: the window as the world holds it (a new-note boost that stepped down moves
  a note; most are skipped unscored);
* **every note moved** (the gate's case): each stored score's inputs are made stale first (one
  ``UPDATE`` outside the timing), so the pass rescores, rewrites and republishes the whole window.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import redis as redis_lib
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import override_settings

from bench.gates import median
from notes.feeds import scoring
from notes.models import NoteScore

AFTER_BUILD = timedelta(minutes=10)  # beat runs the pass every 10 min


def measure(built_at: datetime, *, runs: int) -> dict:
    now = built_at + AFTER_BUILD
    since = now - timedelta(hours=settings.FEED_DECAY_WINDOW_HOURS)
    window = NoteScore.objects.filter(published_at__gte=since)
    out = {"now": now.isoformat(), "window": window.count()}
    for case, stale in (("as_found", False), ("all_moved", True)):
        timings = [_timed_pass(window, now, stale=stale) for _ in range(runs)]
        out[case] = {"seconds": median(s for s, _ in timings), "moved": timings[-1][1]}
    return out


def _timed_pass(window, now: datetime, *, stale: bool) -> tuple[float, int]:
    prefix = f"bench:decay:{uuid.uuid4().hex[:8]}:"
    if connection.vendor == "postgresql" and not connection.in_atomic_block:  # (a test's is)
        # The last run's rolled-back writes left a dead row version per note; autovacuum would have
        # cleared them before the next pass (every 10 min), so clear them here, outside the timing.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {NoteScore._meta.db_table}")
    try:
        with override_settings(FEED_REDIS_PREFIX=prefix), transaction.atomic():
            if stale:  # inputs that no longer match the counters, and a rank that must move
                window.update(likes=F("likes") + 1, rank=F("rank") - 1)
            started = time.perf_counter()
            moved = scoring.scores_decay_pass(now=now)
            seconds = time.perf_counter() - started
            transaction.set_rollback(True)
    finally:
        if settings.FEED_BACKEND == "redis":  # the database backend's writes were rolled back
            client = redis_lib.Redis.from_url(settings.FEED_REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
    return seconds, moved
