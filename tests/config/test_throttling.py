"""Throttles keep DRF's sliding log; with the Redis cache it is a sorted set, exact under
concurrency and one round trip per request."""

from types import SimpleNamespace

import pytest

from config.api.throttling import UserWriteThrottle
from tests.helpers import require_redis, run_together


@pytest.fixture
def redis_cache(settings):
    url = require_redis()
    backend = {"BACKEND": "config.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": "zc-test"}
    settings.CACHES = {"default": backend}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def writer(pk: int) -> SimpleNamespace:
    return SimpleNamespace(method="POST", user=SimpleNamespace(pk=pk, is_authenticated=True))


def throttle(rate: str, at: float) -> UserWriteThrottle:
    found = UserWriteThrottle()
    found.rate, (found.num_requests, found.duration) = rate, found.parse_rate(rate)
    found.timer = lambda: at
    return found


@pytest.mark.parametrize("cache_kind", ["local memory", "redis"])
def test_the_window_slides_and_a_refused_request_does_not_count(request, cache_kind):
    if cache_kind == "redis":
        request.getfixturevalue("redis_cache")
    me, other = writer(7), writer(8)
    assert throttle("2/min", 0).allow_request(me, None)
    assert throttle("2/min", 10).allow_request(me, None)
    refused = throttle("2/min", 20)
    assert not refused.allow_request(me, None)
    assert refused.wait() == pytest.approx(40)  # when the request at 0 leaves the window
    assert throttle("2/min", 20).allow_request(other, None)  # one budget per user
    # At 61 the window holds 10 only: the refused request at 20 was not recorded.
    assert throttle("2/min", 61).allow_request(me, None)
    assert not throttle("2/min", 62).allow_request(me, None)
    assert throttle("2/min", 0).allow_request(SimpleNamespace(method="GET", user=me.user), None)


def test_concurrent_requests_never_pass_the_limit(redis_cache):
    results = run_together([lambda: throttle("10/min", 5).allow_request(writer(9), None)] * 16)
    assert sorted(results) == [False] * 6 + [True] * 10
