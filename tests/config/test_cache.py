"""The Redis cache backend keeps one ``redis.Redis`` client per connection pool."""

import uuid

from config.cache import RedisCache
from tests.helpers import require_redis


def test_the_redis_cache_builds_its_client_once_and_still_reads_and_writes():
    cache = RedisCache(require_redis(), {"KEY_PREFIX": f"zc-test-{uuid.uuid4().hex[:10]}"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=False) is client
    assert cache.client() is client
    cache.set("answer", {"n": 42}, 30)
    assert cache.get("answer") == {"n": 42}
    assert cache.add("counter", 1, 30)
    assert cache.incr("counter") == 2
    cache.delete_many(["answer", "counter"])
    assert cache.get("answer") is None
