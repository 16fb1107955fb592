"""Assertions and tools shared by the test suites."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from django.db import connection, transaction
from django.db.models import Count

from accounts.models import Follow, User


def assert_error(response, status: int, code: str) -> dict:
    """The response is the API's one error shape with this status and code; returns ``error``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def pages_by_link(client, url: str, link: str) -> tuple[list[list[int]], str]:
    """Follow ``link`` (``next`` or ``previous``) from ``url`` to the end: the result ids of each
    page, ``url``'s own first, and the URL of the last page."""
    pages = []
    while True:
        body = client.get(url).json()
        pages.append([item["id"] for item in body["results"]])
        if not body[link]:
            return pages, url
        url = body[link]


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["username"] for item in response.json()["results"]]


def assert_counters_match_rows() -> None:
    """Every user's follower/following counters equal COUNT(*) of their Follow rows."""
    followers = dict(Follow.objects.values_list("followee").annotate(n=Count("id")))
    following = dict(Follow.objects.values_list("follower").annotate(n=Count("id")))
    for pk, follower_count, following_count in User.objects.values_list(
        "pk", "follower_count", "following_count"
    ):
        assert (pk, follower_count, following_count) == (
            pk,
            followers.get(pk, 0),
            following.get(pk, 0),
        )


class _JobThreads:
    """Jobs run one thread each (``before`` first in each thread); :meth:`finish` joins them,
    re-raises the first failure and returns their results in the jobs' order."""

    def __init__(self, jobs: list, before: Callable[[], object] = lambda: None):
        self.jobs, self.before = jobs, before
        self.results: list = [None] * len(jobs)
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def _run(self, index: int) -> None:
        try:
            self.before()
            self.results[index] = self.jobs[index]()
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    def start(self, index: int) -> None:
        self.threads.append(threading.Thread(target=self._run, args=(index,)))
        self.threads[-1].start()

    def finish(self) -> list:
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads), "a thread hung"
        if self.errors:
            raise self.errors[0]
        return self.results


def run_together(jobs: list) -> list:
    """Run the callables at once, one thread each; return their results, re-raise any failure."""
    barrier = threading.Barrier(len(jobs))
    threads = _JobThreads(jobs, before=lambda: barrier.wait(timeout=10))
    for index in range(len(jobs)):
        threads.start(index)
    return threads.finish()


@contextmanager
def held_in_another_session(hold: Callable[[], None]) -> Iterator[None]:
    """Run ``hold`` in a transaction of another thread's database session and keep that transaction
    open (then roll it back) while the block runs: what it locked or inserted stays held meanwhile."""
    held, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                hold()
                held.set()
                release.wait(timeout=10)
                transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(timeout=10), "the other session did not take its hold"
        yield
    finally:
        release.set()
        thread.join(timeout=10)


def _sessions_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def queued_behind(hold: Callable[[], None], jobs: list) -> list:
    """PostgreSQL: hold what ``hold`` locks in another session, start the jobs one by one, each
    once the ones before it wait for a lock, then let go: they run in the order they queued. Returns
    their results; re-raises any failure."""
    threads = _JobThreads(jobs)
    with held_in_another_session(hold):
        for index in range(len(jobs)):
            threads.start(index)
            deadline = time.monotonic() + 10
            while _sessions_waiting_for_a_lock() <= index and not threads.errors:
                assert time.monotonic() < deadline, f"job {index} did not queue for a lock"
                time.sleep(0.005)
    return threads.finish()


LOCAL_REDIS = "redis://127.0.0.1:6379/12"


def require_redis() -> str:
    """The URL of the Redis a test talks to: ``REDIS_URL`` (the services suite) or a local one.
    Where Redis is expected (``CI`` or ``REDIS_URL`` set) and does not answer, the test fails;
    elsewhere it skips."""
    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError:
        message = f"Redis is not answering at {url}"
        if os.environ.get("CI") or os.environ.get("REDIS_URL"):
            pytest.fail(message)
        pytest.skip(message + " (set REDIS_URL or start redis-server to run it)")
    return url
