"""Reads of search: result querysets per type, suggestions, history, hot lists.

Every result queryset starts from the type's visibility rule (``notes_for_cards`` =
``Note.objects.visible_to``, ``users_for_cards`` = ``User.objects.visible_to``,
``Product.objects.on_sale()``, unsuppressed topics) and only then joins the search documents, so a
stale document can delay a result but never show something the viewer may not see. Each is one
query, whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, IntegerField, Model, QuerySet, Subquery, Value, When

from accounts.selectors import users_for_cards
from notes.choices import SearchSort, SearchType
from notes.models import (
    HotSearch,
    NoteSearchDocument,
    ProductSearchDocument,
    SearchHistory,
    Topic,
    UserSearchDocument,
)
from notes.search.backends import get_backend, head_hits
from notes.search.segmentation import normalize, query_tokens
from notes.selectors import notes_for_cards
from shop.selectors import products_for_cards

RELATION = "search_document"

# The order of each (type, sort). Relevance: "rank" is how many query tokens the head (title-like
# fields) holds, then engagement, then newest. Latest is keyset-paginated on its order.
ORDERINGS: dict[tuple[str, str], tuple[str, ...]] = {
    (SearchType.NOTES, SearchSort.RELEVANCE): ("-rank", "-popularity", "-id"),
    (SearchType.NOTES, SearchSort.LATEST): ("-published_at", "-id"),
    (SearchType.NOTES, SearchSort.POPULAR): ("-popularity", "-id"),
    (SearchType.USERS, SearchSort.RELEVANCE): ("-rank", "-follower_count", "-id"),
    (SearchType.USERS, SearchSort.LATEST): ("-id",),
    (SearchType.USERS, SearchSort.POPULAR): ("-follower_count", "-id"),
    (SearchType.PRODUCTS, SearchSort.RELEVANCE): ("-rank", "-sales_count", "-id"),
    (SearchType.PRODUCTS, SearchSort.LATEST): ("-id",),
    (SearchType.PRODUCTS, SearchSort.POPULAR): ("-sales_count", "-id"),
    (SearchType.TOPICS, SearchSort.RELEVANCE): ("-rank", "-note_count", "-id"),
    (SearchType.TOPICS, SearchSort.LATEST): ("-id",),
    (SearchType.TOPICS, SearchSort.POPULAR): ("-note_count", "-id"),
}


def _matching(qs: QuerySet, documents: type[Model], tokens: list[str], sort: str) -> QuerySet:
    """``qs`` narrowed to the objects whose document holds every token, among the newest
    ``SEARCH_CANDIDATES`` such documents.

    The window bounds the work of a common word: its matches are found through the index, but each
    one must then be joined to its row, checked for visibility and sorted. Relevance and popularity
    therefore rank the newest matches (what a feed-like app shows anyway); deep pages stop at
    ``SEARCH_MAX_RESULTS`` before the window matters. A rare word's matches all fit in it.
    """
    if not tokens:  # only stop words or symbols: nothing to look for
        return qs.none().annotate(rank=Value(0)) if sort == SearchSort.RELEVANCE else qs.none()
    matched = get_backend().match(documents.objects.all(), tokens).order_by("-pk").values("pk")
    qs = qs.filter(pk__in=Subquery(matched[: settings.SEARCH_CANDIDATES]))
    if sort == SearchSort.RELEVANCE:
        qs = qs.annotate(rank=head_hits(RELATION, tokens))
    return qs


def search_notes(*, query: str, sort: str, viewer) -> QuerySet:
    """Live notes the viewer may see whose text has every token of ``query``. Hidden, private,
    followers-only (unless followed), blocked-either-way and deleted notes never match; drafts and
    scheduled notes neither, even for their author (search shows what is out)."""
    qs = _matching(notes_for_cards(viewer).live(), NoteSearchDocument, query_tokens(query), sort)
    if sort != SearchSort.LATEST:
        qs = qs.annotate(popularity=F("like_count") + F("collect_count"))
    return qs.order_by(*ORDERINGS[SearchType.NOTES, sort])


def search_users(*, query: str, sort: str, viewer) -> QuerySet:
    """Active users the viewer may see (no blocks either way) by username, nickname or bio."""
    qs = _matching(users_for_cards(viewer=viewer), UserSearchDocument, query_tokens(query), sort)
    return qs.order_by(*ORDERINGS[SearchType.USERS, sort])


def search_products(*, query: str, sort: str, viewer) -> QuerySet:
    """Products on sale by title, store name or description."""
    qs = _matching(products_for_cards().on_sale(), ProductSearchDocument, query_tokens(query), sort)
    return qs.order_by(*ORDERINGS[SearchType.PRODUCTS, sort])


def _topic_text(query: str) -> str:
    return normalize(query).lstrip("#").strip()


def search_topics(*, query: str, sort: str, viewer) -> QuerySet:
    """Unsuppressed topics whose name contains the query (topic names are short: a substring is
    what people expect, "穿搭" finding "春日穿搭"); best match puts the exact name, then names
    starting with the query, first."""
    text = _topic_text(query)
    if not text:
        return Topic.objects.none()
    qs = Topic.objects.filter(is_suppressed=False, name__icontains=text)
    if sort == SearchSort.RELEVANCE:
        qs = qs.annotate(
            rank=Case(
                When(name__iexact=text, then=Value(2)),
                When(name__istartswith=text, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    return qs.order_by(*ORDERINGS[SearchType.TOPICS, sort])


SEARCHES = {
    SearchType.NOTES: search_notes,
    SearchType.USERS: search_users,
    SearchType.PRODUCTS: search_products,
    SearchType.TOPICS: search_topics,
}


def search(*, type: str, query: str, sort: str, viewer) -> QuerySet:
    return SEARCHES[type](query=query, sort=sort, viewer=viewer)


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # "query" or "topic"


def search_suggest(*, query: str, limit: int | None = None) -> list[Suggestion]:
    """Completions of what is being typed: hot searches starting with it, then topics starting with
    it (pinned and most used first); up to half of the list each, the rest from whichever has more.
    Two small queries (hot searches are a few hundred rows; topics by name prefix)."""
    limit = limit or settings.SEARCH_SUGGEST_LIMIT
    text = _topic_text(query)
    if not text:
        return []
    hot = list(
        HotSearch.objects.filter(query__startswith=text)
        .order_by("rank")
        .values_list("query", flat=True)[:limit]
    )
    topics = list(
        Topic.objects.filter(is_suppressed=False, name__istartswith=text)
        .order_by("-is_pinned", "-note_count", "id")
        .values_list("name", flat=True)[:limit]
    )
    half = (limit + 1) // 2
    take_hot = min(len(hot), max(half, limit - len(topics)))
    take_topics = min(len(topics), limit - take_hot)
    return [Suggestion(q, "query") for q in hot[:take_hot]] + [
        Suggestion(name, "topic") for name in topics[:take_topics]
    ]


def search_history_for(*, user) -> QuerySet:
    """The user's own recent distinct queries, newest first."""
    return SearchHistory.objects.filter(user=user).order_by("-searched_at", "-id")[
        : settings.SEARCH_HISTORY_LIMIT
    ]


def hot_searches(*, limit: int = 20) -> QuerySet:
    return HotSearch.objects.order_by("rank")[:limit]
