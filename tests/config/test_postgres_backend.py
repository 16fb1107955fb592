"""Our PostgreSQL backend checks a persistent connection by its socket, not by a ``SELECT 1``: a
connection the server ended is replaced before the next query, a live one is kept."""

from __future__ import annotations

import time

import pytest
from django.db import DatabaseError, connection, connections

from tests.conftest import requires_postgres

pytestmark = [requires_postgres("the health check of our PostgreSQL backend"), pytest.mark.django_db]


@pytest.fixture
def other():
    """A second connection to the test database, as a server thread has its own."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _new_request(wrapper) -> None:
    """What Django does between requests: the next one checks the connection before its first query."""
    wrapper.close_if_unusable_or_obsolete()


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(other):
    assert other.health_check_enabled and other.is_usable()
    pid = _pid(other)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10  # the backend exits asynchronously
    while other.is_usable() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not other.is_usable()

    _new_request(other)
    assert _pid(other) != pid  # reconnected, and the query ran


def test_a_live_connection_is_kept_across_requests_and_after_a_failed_query(other):
    pid = _pid(other)
    for _ in range(3):
        _new_request(other)
        assert _pid(other) == pid
    with pytest.raises(DatabaseError), other.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM accounts_user")
    assert other.errors_occurred
    _new_request(other)
    assert not other.errors_occurred and other.connection is not None
    assert _pid(other) == pid


def test_a_closed_connection_is_not_usable(other):
    other.connection.close()
    assert not other.is_usable()
