"""Writes of search: recording a search (history + hot count), now or off the request, and
clearing history."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import User
from notes import tasks
from notes.models import SearchHistory
from notes.search import trending
from notes.search.segmentation import MAX_QUERY_LENGTH, normalize

logger = logging.getLogger(__name__)


def search_record_later(*, user_id: int, query: str, found: bool) -> None:
    """Record a search off the request: the Celery task ``search_record`` runs :func:`search_record`
    (the search request itself writes nothing)."""
    tasks.search_record.delay(user_id, query, found, timezone.now().isoformat())


def search_record(*, user_id: int, query: str, found: bool, now: datetime | None = None) -> None:
    """A signed-in user searched ``query`` (first page only: paging is not searching again). Run by
    a Celery task, off the search request; idempotent (an upsert, and a count keyed per user).

    The query goes to the top of their history (one upsert) and, when it found something, counts
    for the hot searches (a query nobody finds anything for is not "hot", whatever a script sends).
    """
    text = normalize(query)[:MAX_QUERY_LENGTH]
    if not text:
        return
    now = now or timezone.now()
    SearchHistory.objects.bulk_create(
        [SearchHistory(user_id=user_id, query=text, searched_at=now)],
        update_conflicts=True,
        unique_fields=["user", "query"],
        update_fields=["searched_at"],
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
