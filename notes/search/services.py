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


_REMEMBER = (
    f"INSERT INTO {SearchHistory._meta.db_table} (user_id, query, searched_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (user_id, query) DO UPDATE SET searched_at = excluded.searched_at"
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
    with connection.cursor() as cursor:
        cursor.execute(_REMEMBER, [user_id, text, connection.ops.adapt_datetimefield_value(now)])
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
