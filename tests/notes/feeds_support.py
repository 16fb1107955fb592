"""Fixtures and helpers of the feeds tests (imported by ``tests/notes/conftest.py``).

``feed_backend`` runs a test once per backend: the database always, Redis when a server answers at
``REDIS_URL`` (the services suite) or ``redis://127.0.0.1:6379/12``. Where Redis is expected (``CI``
or ``REDIS_URL`` set) and does not answer, the Redis run fails instead of skipping. Each Redis run
writes under a key prefix of its own and deletes exactly those keys afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from notes.feeds import fanout, redisconn, scoring
from notes.feeds.timelines import timeline_backend
from notes.services import notes as note_services
from tests.factories.notes import MediaFactory
from tests.helpers import require_redis


@pytest.fixture(params=["db", "redis"])
def feed_backend(request, settings):
    """The feeds' backend for this run of the test: ``"db"`` or ``"redis"``."""
    settings.FEED_BACKEND = request.param
    if request.param == "db":
        yield "db"
        return
    url = require_redis()
    prefix = f"zc-test-{uuid.uuid4().hex[:10]}:"
    settings.FEED_REDIS_URL = url
    settings.FEED_REDIS_PREFIX = prefix
    yield "redis"
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def committed(django_capture_on_commit_callbacks, eager_celery):
    """``with committed(): ...`` runs what the block scheduled on commit (signals, then their
    eager tasks), as a real commit would."""

    @contextlib.contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return run


def publish(author, *, at: datetime | None = None, **fields):
    """Publish a note through the service (one ready photo), as of ``at``."""
    media = MediaFactory(owner=author)
    fields.setdefault("title", "A note")
    return note_services.note_create(author=author, media_ids=[media.pk], now=at or timezone.now(), **fields)


def follow(follower, followee):
    return account_services.follow_create(follower=follower, followee=followee)


def ago(**delta) -> datetime:
    return timezone.now() - timedelta(**delta)


def rebuild() -> None:
    fanout.timelines_rebuild()
    scoring.scores_rebuild()


def stored_timeline(user_id: int) -> list[int]:
    """The note ids stored in a reader's own timeline (no pull merge), newest first."""
    backend = timeline_backend()
    if backend.__class__.__name__ == "RedisTimeline":
        members = redisconn.client().zrevrange(redisconn.key("tl", user_id), 0, -1)
        return [int(member.split(":")[1]) for member in members]
    from notes.models import TimelineEntry

    return list(
        TimelineEntry.objects.filter(user_id=user_id)
        .order_by("-published_at", "-note_id")
        .values_list("note_id", flat=True)
    )


class RedisTrips:
    """Counts Redis round trips (single commands, pipeline executions and the feeds' pre-packed
    commands): ``count`` all of them, ``feeds`` those of the feeds' own connection pool (not the
    cache's: anonymous requests also pay DRF's ``AnonRateThrottle``, a cache get and set)."""

    def __init__(self, monkeypatch):
        self.count = self.feeds = 0
        real_command, real_execute = redis.Redis.execute_command, redis.client.Pipeline.execute
        real_packed = redisconn.execute_packed

        def tally(client):
            self.count += 1
            if any(client.connection_pool is c.connection_pool for c in redisconn._clients.values()):
                self.feeds += 1

        def command(client, *args, **kwargs):
            tally(client)
            return real_command(client, *args, **kwargs)

        def execute(pipe, *args, **kwargs):
            if pipe.command_stack:
                tally(pipe)
            return real_execute(pipe, *args, **kwargs)

        def packed(commands, **kwargs):
            if commands:
                self.count += 1
                self.feeds += 1
            return real_packed(commands, **kwargs)

        monkeypatch.setattr(redis.Redis, "execute_command", command)
        monkeypatch.setattr(redisconn, "execute_packed", packed)
        monkeypatch.setattr(redis.client.Pipeline, "execute", execute)


@pytest.fixture
def redis_trips(monkeypatch):
    return RedisTrips(monkeypatch)


def command_names(packed: bytes) -> list[str]:
    """The names of the commands in ``packed``, RESP as a client sends it (arrays of bulk strings)."""
    names, at = [], 0
    while at < len(packed):
        end = packed.index(b"\r\n", at)
        assert packed[at : at + 1] == b"*", packed[at:end]
        count, at = int(packed[at + 1 : end]), end + 2
        for index in range(count):
            end = packed.index(b"\r\n", at)
            start = end + 2
            length = int(packed[at + 1 : end])
            if index == 0:
                names.append(packed[start : start + length].decode().upper())
            at = start + length + 2
    return names


class RedisCommands:
    """Counts the commands sent to Redis, by name, as they leave for the server: whatever a
    connection writes (single commands, pipelines, the feeds' pre-packed commands, connection
    set-up, health checks) is read back, so a pipeline of ten commands counts ten.

    Client-side on purpose: the server's own ``INFO commandstats`` would be the same numbers while
    nothing else talks to that Redis, but they are server-wide, and the benchmarks' databases live
    on the same server."""

    def __init__(self, monkeypatch):
        self.sent: list[str] = []
        real_send = redis.connection.AbstractConnection.send_packed_command

        def send(connection, command, *args, **kwargs):
            items = [command] if isinstance(command, str | bytes) else command
            packed = b"".join(item.encode() if isinstance(item, str) else bytes(item) for item in items)
            self.sent += command_names(packed)
            return real_send(connection, command, *args, **kwargs)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)

    @contextlib.contextmanager
    def counted(self):
        """Yields a ``Counter`` filled, on exit, with the commands sent inside, by name."""
        found: Counter[str] = Counter()
        start = len(self.sent)
        yield found
        found.update(self.sent[start:])


@contextlib.contextmanager
def budget(redis_trips: RedisTrips | None = None):
    """Yields a dict filled, on exit, with the SQL queries and Redis round trips made inside."""
    found: dict = {}
    before = (redis_trips.count, redis_trips.feeds) if redis_trips else (0, 0)
    with CaptureQueriesContext(connection) as queries:
        yield found
    found["sql"] = len(queries.captured_queries)
    found["queries"] = [q["sql"] for q in queries.captured_queries]
    found["redis"] = (redis_trips.count - before[0]) if redis_trips else 0
    found["feeds_redis"] = (redis_trips.feeds - before[1]) if redis_trips else 0


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def all_pages(client, url: str, *, page_size: int = 3, limit: int = 50) -> list[list[int]]:
    """Every page of a feed, following ``next``."""
    pages, next_url = [], f"{url}{'&' if '?' in url else '?'}page_size={page_size}"
    while next_url and len(pages) < limit:
        response = client.get(next_url)
        pages.append(ids(response))
        next_url = response.json()["next"]
    return pages
