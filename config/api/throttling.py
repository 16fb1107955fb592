"""Throttles. Reads are cheap and cached; writes (and anonymous callers) are what we rate-limit.

DRF's throttles keep each caller's recent request times as a pickled list in the cache, read and
written back on every request: two round trips, and two concurrent requests may both take the
last slot. With the Redis cache the same sliding log lives in a sorted set instead, trimmed,
added to and counted in one MULTI: one round trip, and exact under concurrency. A refused request
is taken out again, as DRF never records one. With the embedded local-memory cache DRF's own code
runs.
"""

import uuid

from django.core.cache import caches
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from config.cache import RedisCache

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RedisSlidingLog(SimpleRateThrottle):
    """The sliding log of DRF's ``SimpleRateThrottle`` in a Redis sorted set. Listed after DRF's
    throttle class, so it runs where ``SimpleRateThrottle.allow_request`` would (after a scoped
    throttle has found its rate)."""

    def allow_request(self, request, view):
        backend = caches["default"]
        if self.rate is None or not isinstance(backend, RedisCache):
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        name, member = backend.make_and_validate_key(self.key), f"{self.now!r}:{uuid.uuid4().hex}"
        client = backend.client()
        pipe = client.pipeline()  # MULTI ... EXEC
        pipe.zremrangebyscore(name, "-inf", self.now - self.duration)
        pipe.zadd(name, {member: self.now})
        pipe.zcard(name)
        pipe.zrange(name, 0, 0, withscores=True)
        pipe.expire(name, self.duration)
        _, _, count, oldest, _ = pipe.execute()
        if count <= self.num_requests:
            return True
        client.zrem(name, member)
        # What DRF's ``wait()`` reads: the requests in the window (not this one) and the oldest.
        self.history = [oldest[0][1]] * (count - 1)
        return False


class AnonThrottle(AnonRateThrottle, RedisSlidingLog):
    """Anonymous callers, per IP address."""


class UserWriteThrottle(UserRateThrottle, RedisSlidingLog):
    """Every authenticated write counts against one per-user budget."""

    scope = "user_write"

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class WriteScopedThrottle(ScopedRateThrottle, RedisSlidingLog):
    """A tighter budget for one kind of write (views set ``throttle_scope``)."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
