"""The feeds' Redis connection: one client (and pool) per URL for the process, keys under a prefix.

Settings are read at call time (not import time) so that tests can point the feeds at a database
and a prefix of their own. redis-py pools notice a fork and reconnect in the child, so Celery
prefork workers and gunicorn workers can share this module.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def client() -> redis.Redis:
    """The client on the shared pool of ``settings.FEED_REDIS_URL`` (strings in, strings out). One
    per URL: a client is thread-safe, and building one (its reply callbacks) costs ~50 us."""
    url = settings.FEED_REDIS_URL
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                pool = redis.ConnectionPool.from_url(
                    url,
                    decode_responses=True,
                    socket_connect_timeout=2,
                    socket_timeout=5,
                    health_check_interval=30,
                )
                found = _clients[url] = redis.Redis(connection_pool=pool)
    return found


def key(*parts: object) -> str:
    """``FEED_REDIS_PREFIX`` + the parts joined by colons, e.g. ``feed:tl:42``."""
    return settings.FEED_REDIS_PREFIX + ":".join(str(part) for part in parts)


def execute_packed(commands: list[bytes], *, transaction: bool = True) -> list:
    """Send commands already in RESP form (see :func:`resp` and :func:`command`) in one round
    trip, in a MULTI/EXEC block when ``transaction``, and return their replies (raising the first
    error).

    For bulk writes (timeline rebuilds send millions of members: redis-py packs each argument in
    Python, which costs more than the whole round trip; a rebuild frames each member once and
    reuses it in every timeline it goes into) and for the following feed's page read, where a
    redis-py pipeline cost ~25 us of CPU more than these two commands' round trip (~20 us).
    """
    if not commands:
        return []
    pool = client().connection_pool
    connection = pool.get_connection()
    try:
        framed = [b"*1\r\n$5\r\nMULTI\r\n", *commands, b"*1\r\n$4\r\nEXEC\r\n"] if transaction else commands
        # One buffer: redis-py makes one ``sendall`` (a system call) per item of a list.
        connection.send_packed_command([b"".join(framed)])
        replies = [connection.read_response() for _ in framed]
    except BaseException:
        connection.disconnect()  # its state is unknown now
        raise
    finally:
        pool.release(connection)
    return replies[-1] if transaction else replies


def bulk_string(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: str | int | bytes) -> bytes:
    """A command in RESP form from its name and arguments (strings are sent as UTF-8)."""
    parts = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
    return b"*%d\r\n%s" % (len(parts), b"".join(map(bulk_string, parts)))


def resp(*parts: bytes, count: int | None = None) -> bytes:
    """A command in RESP form from parts that are already bulk strings (``bulk_string``); give
    ``count`` when a part holds more than one argument."""
    return b"*%d\r\n%s" % (len(parts) if count is None else count, b"".join(parts))


def configured(backends: dict[str, type]):
    """An instance of the one of ``backends`` that ``settings.FEED_BACKEND`` names (redis or db)."""
    try:
        return backends[settings.FEED_BACKEND]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"FEED_BACKEND must be one of {sorted(backends)}.") from exc
