"""Hot searches and hot topics: counts per time bucket, summed over a sliding window.

Counting is cheap and happens as things occur: a signed-in user's search counts its query (once per
user, query and bucket, so one person cannot make a query hot), a note going live in public counts
each of its topics (once per note). A Celery beat job (:func:`trending_rollup`) sums the buckets of
the last ``TRENDING_WINDOW_HOURS``, each weighed down by its age (half-life
``TRENDING_HALF_LIFE_HOURS``; 0 means a plain sum), and rewrites :class:`~notes.models.HotSearch`
and :class:`~notes.models.TopicHeat`, which the API reads.

Counters live in Redis sorted sets (one per kind and bucket, expiring after the window) when
``REDIS_URL`` is set, in the :class:`~notes.models.TrendCounter` table otherwise.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from notes.models import HotSearch, SearchHistory, Topic, TopicHeat, TrendCounter, TrendKind

MAX_TERM_LENGTH = 64


def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // settings.TRENDING_BUCKET_SECONDS


def window_weights(now: datetime) -> dict[int, float]:
    """The buckets of the window ending at ``now`` and each one's weight (1 for the current one)."""
    size = settings.TRENDING_BUCKET_SECONDS
    count = max(1, math.ceil(settings.TRENDING_WINDOW_HOURS * 3600 / size))
    half_life = settings.TRENDING_HALF_LIFE_HOURS * 3600
    current = bucket_of(now)
    return {current - age: (0.5 ** (age * size / half_life) if half_life else 1.0) for age in range(count)}


def _once_key(kind: str, once: str) -> str:
    return f"zc:{{trend:{kind}}}:once:{hashlib.sha1(once.encode()).hexdigest()}"


class RedisStore:
    """Sorted set ``zc:{trend:<kind>}:<bucket>`` per bucket (the hash tag keeps a kind's keys in
    one Redis Cluster slot, so the counting script and the union may touch them together)."""

    # KEYS: once-key ("" for none), bucket key. ARGV: once TTL, bucket TTL, members...
    COUNT = """
    if KEYS[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
    for i = 3, #ARGV do redis.call('ZINCRBY', KEYS[2], 1, ARGV[i]) end
    redis.call('EXPIRE', KEYS[2], ARGV[2])
    return 1
    """

    def __init__(self, client: redis.Redis):
        self.client = client
        self._count = client.register_script(self.COUNT)

    @staticmethod
    def key(kind: str, bucket: int | str) -> str:
        return f"zc:{{trend:{kind}}}:{bucket}"

    def count(self, kind: str, terms: list[str], now: datetime, *, once: str = "", once_ttl: int) -> bool:
        bucket_ttl = settings.TRENDING_WINDOW_HOURS * 3600 + 2 * settings.TRENDING_BUCKET_SECONDS
        keys = [_once_key(kind, once) if once else "", self.key(kind, bucket_of(now))]
        return bool(self._count(keys=keys, args=[once_ttl, bucket_ttl, *terms]))

    def totals(self, kind: str, now: datetime, limit: int) -> list[tuple[str, float]]:
        weights = window_weights(now)
        scratch = self.key(kind, "rollup")
        pipe = self.client.pipeline(transaction=False)
        pipe.zunionstore(scratch, {self.key(kind, b): w for b, w in weights.items()}, aggregate="SUM")
        pipe.zrange(scratch, 0, limit - 1, desc=True, withscores=True)
        rows = pipe.execute()[1]
        if len(rows) == limit:
            # Redis breaks ties at the cut in reverse byte order; fetch every member tied with the
            # last one so that the cut falls where the database store's would (by term).
            rows += self.client.zrange(scratch, rows[-1][1], rows[-1][1], byscore=True, withscores=True)
        self.client.delete(scratch)
        return _ordered(((m.decode(), s) for m, s in rows), limit)

    def prune(self, now: datetime) -> None:
        """Nothing to do: bucket keys expire on their own."""


class DatabaseStore:
    """:class:`TrendCounter` rows; "once" is remembered in the Django cache."""

    UPSERT = (
        "INSERT INTO {table} (kind, bucket, term, count) VALUES {values} "
        "ON CONFLICT (kind, bucket, term) DO UPDATE SET count = {table}.count + excluded.count"
    )

    def count(self, kind: str, terms: list[str], now: datetime, *, once: str = "", once_ttl: int) -> bool:
        if once and not cache.add(_once_key(kind, once), 1, timeout=once_ttl):
            return False
        bucket = bucket_of(now)
        table = connection.ops.quote_name(TrendCounter._meta.db_table)
        sql = self.UPSERT.format(table=table, values=", ".join(["(%s, %s, %s, 1)"] * len(terms)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for term in terms for value in (kind, bucket, term)])
        return True

    def totals(self, kind: str, now: datetime, limit: int) -> list[tuple[str, float]]:
        weights = window_weights(now)
        scores: dict[str, float] = defaultdict(float)
        rows = TrendCounter.objects.filter(kind=kind, bucket__gte=min(weights), bucket__lte=max(weights))
        for term, bucket, count in rows.values_list("term", "bucket", "count").iterator(chunk_size=2000):
            scores[term] += count * weights[bucket]
        return _ordered(scores.items(), limit)

    def prune(self, now: datetime) -> None:
        TrendCounter.objects.filter(bucket__lt=min(window_weights(now))).delete()


def _ordered(pairs, limit: int) -> list[tuple[str, float]]:
    """Highest score first, ties by term (so every run and both stores agree)."""
    return heapq.nsmallest(limit, ((t, s) for t, s in pairs if s > 0), key=lambda p: (-p[1], p[0]))


@lru_cache(maxsize=1)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def get_store() -> RedisStore | DatabaseStore:
    if settings.REDIS_URL:
        return RedisStore(_redis_client(settings.REDIS_URL))
    return DatabaseStore()


def count_query(*, user_id: int, query: str, now: datetime | None = None) -> bool:
    """Count a signed-in user's search for the hot list; a repeat by the same user within the same
    bucket does not count again. Returns whether it counted."""
    term = query[:MAX_TERM_LENGTH]
    if not term:
        return False
    now = now or timezone.now()
    return get_store().count(
        TrendKind.QUERY,
        [term],
        now,
        once=f"{user_id}:{bucket_of(now)}:{term}",
        once_ttl=settings.TRENDING_BUCKET_SECONDS,
    )


def count_note_topics(*, note_id: int, topic_ids: list[int], now: datetime | None = None) -> bool:
    """Count a note's topics once (whatever how often the note goes live again in the window)."""
    if not topic_ids:
        return False
    return get_store().count(
        TrendKind.TOPIC,
        [str(pk) for pk in topic_ids],
        now or timezone.now(),
        once=f"note:{note_id}",
        once_ttl=settings.TRENDING_WINDOW_HOURS * 3600,
    )


def trending_rollup(*, now: datetime | None = None) -> dict[str, int]:
    """Rewrite the hot searches and topic heat from the window ending at ``now``; prune counters
    and search history that aged out. Safe to run at any time and more than once."""
    now = now or timezone.now()
    store = get_store()
    keep = settings.TRENDING_KEEP
    queries = store.totals(TrendKind.QUERY, now, keep)
    topic_scores = dict(store.totals(TrendKind.TOPIC, now, keep))
    topic_ids = set(
        Topic.objects.filter(pk__in=[int(t) for t in topic_scores if t.isdigit()]).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        HotSearch.objects.all().delete()
        HotSearch.objects.bulk_create(
            HotSearch(query=term, score=score, rank=rank, computed_at=now)
            for rank, (term, score) in enumerate(queries, start=1)
        )
        TopicHeat.objects.all().delete()
        TopicHeat.objects.bulk_create(
            TopicHeat(topic_id=int(term), score=score, computed_at=now)
            for term, score in topic_scores.items()
            if term.isdigit() and int(term) in topic_ids
        )
    store.prune(now)
    SearchHistory.objects.filter(searched_at__lt=now - timedelta(days=settings.SEARCH_HISTORY_DAYS)).delete()
    return {"queries": len(queries), "topics": len(topic_ids)}
