"""Django's PostgreSQL backend (``ENGINE = "config.postgres"``), with a health check that asks the
connection's socket rather than the server.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before each request's first query
with a ``SELECT 1``: one more round trip on every request (0.18 ms here, a tenth of a profile page).
A connection the server has ended (a restart, ``pg_terminate_backend``, an idle timeout) is closed
from its side, which makes the socket readable while the connection is idle and nothing is expected
from it: :meth:`DatabaseWrapper.is_usable` looks for that, and Django then opens a new connection
before the query instead of failing the request. Anything else a server sends an idle connection
(a notice) reads the same and costs a reconnect, never a failed request. What it cannot see, a peer
that vanished without a word (a cut cable), a ``SELECT 1`` would only find after the network's
timeout anyway.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        poller = select.poll()
        try:
            poller.register(conn.fileno(), select.POLLIN)
        except (OSError, ValueError, base.Database.Error):  # no socket any more
            return False
        return not poller.poll(0)  # readable while idle: the server said goodbye, or hung up
