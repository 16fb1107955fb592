"""Throttles. Reads are cheap and cached; writes (and anonymous callers) are what we rate-limit.

DRF's throttles keep each caller's recent request times as a pickled list in the cache, read and
written back on every request: two round trips, and two concurrent requests may both take the
last slot. With the Redis cache the same sliding log lives in a sorted set instead, trimmed,
added to and counted by one script: one round trip, and exact under concurrency. A refused request
is taken out again in the same script, as DRF never records one. With the embedded local-memory
cache DRF's own code runs.
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
        reply = backend.client().register_script(_SLIDING_LOG)(
            keys=[name], args=[self.now - self.duration, self.now, member, self.duration, self.num_requests]
        )
        if len(reply) == 1:
            return True
        count, oldest = reply
        # What DRF's ``wait()`` reads: the requests in the window (not this one) and the oldest.
        self.history = [float(oldest)] * (count - 1)
        return False


#: KEYS: the log; ARGV: window start, now, this request's member, window seconds, allowed count.
#: Trims the log, adds the request and counts it; a refused request is taken out again and the
#: oldest time in the window returned (nothing when allowed).
_SLIDING_LOG = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local count = redis.call('ZCARD', KEYS[1])
if count <= tonumber(ARGV[5]) then return {count} end
redis.call('ZREM', KEYS[1], ARGV[3])
return {count, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
"""


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
