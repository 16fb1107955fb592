"""Django's Redis cache backend, keeping its ``redis.Redis`` clients.

Django's ``RedisCacheClient.get_client`` wraps the connection pool in a new ``redis.Redis`` on every
cache call (about 65 us each, several per write request: throttles, cached attachments). The client
holds nothing but the pool and its options, so one per pool serves every call.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)  # pools live as long as this client: ids stay unique
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def client(self):
        """The ``redis.Redis`` of the primary server, for commands the cache API does not have
        (the throttles' sorted sets); keys made with ``make_and_validate_key``."""
        return self._cache.get_client(write=True)
