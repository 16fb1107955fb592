"""Writes of search: recording a search (history + hot count) and clearing history."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import User
from notes.models import SearchHistory
from notes.search import trending
from notes.search.segmentation import MAX_QUERY_LENGTH, normalize

logger = logging.getLogger(__name__)


_UPSERT = "ON CONFLICT (user_id, query) DO UPDATE SET searched_at = excluded.searched_at"
_REMEMBER = (
    f"INSERT INTO {SearchHistory._meta.db_table} (user_id, query, searched_at) VALUES (%s, %s, %s) {_UPSERT}"
)
#: PostgreSQL, outside a transaction: the same upsert, committed without waiting for its WAL to reach
#: the disk (``synchronous_commit`` off for this statement's own transaction only, set in it). A
#: crash may forget the last fraction of a second of history, which is nothing a reader would miss,
#: and the search stops waiting for the flush (0.51 -> 0.30 ms per upsert here).
_REMEMBER_ASYNC = (
    f"INSERT INTO {SearchHistory._meta.db_table} (user_id, query, searched_at) SELECT %s, %s, %s "
    f"FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit {_UPSERT}"
)


def search_record(*, user_id: int, query: str, found: bool, now: datetime | None = None) -> None:
    """A signed-in user searched ``query`` (first page only: paging is not searching again).

    The query goes to the top of their history (one upsert) and, when it found something, counts
    for the hot searches (a query nobody finds anything for is not "hot", whatever a script sends;
    one script call with Redis). Done in the search request: both together cost less than
    publishing a Celery task to do them (0.8 ms of CPU here, and the worker's own).
    """
    text = normalize(query)[:MAX_QUERY_LENGTH]
    if not text:
        return
    now = now or timezone.now()
    # Only where the statement is its own transaction: in a caller's, the setting would last until
    # that one's end, and so cover every write in it.
    own_commit = connection.vendor == "postgresql" and connection.get_autocommit()
    with connection.cursor() as cursor:
        cursor.execute(
            _REMEMBER_ASYNC if own_commit else _REMEMBER,
            [user_id, text, connection.ops.adapt_datetimefield_value(now)],
        )
    if found:
        try:
            trending.count_query(user_id=user_id, query=text, now=now)
        except RedisError as exc:  # a hot-list count is not worth failing a search for
            logger.warning("hot search not counted: %r", exc)


def search_history_delete(*, user: User, query: str | None = None) -> int:
    """Forget one query (``query`` given) or the whole history. Returns how many were removed."""
    rows = SearchHistory.objects.filter(user=user)
    if query is not None:
        rows = rows.filter(query=normalize(query)[:MAX_QUERY_LENGTH])
    return rows.delete()[0]
