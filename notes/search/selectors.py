"""Reads of search: result querysets per type, suggestions, history, hot lists.

Every result queryset starts from the type's visibility rule (``notes_for_cards`` =
``Note.objects.visible_to``, ``users_for_cards`` = ``User.objects.visible_to``,
``Product.objects.on_sale()``, unsuppressed topics) and only then joins the search documents, so a
stale document can delay a result but never show something the viewer may not see. Each is one
query, whatever the page size.

Newest-first notes (the busiest search) rank no window of candidates: they walk the notes by date
and fall back on the index for rare words (:func:`_latest_window`), and the API reads them as card
rows from SQL compiled once (:func:`search_notes_newest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.selectors import users_for_cards, viewer_from_id, viewer_id_of
from config.db import PreparedQuery
from notes.choices import SearchSort, SearchType
from notes.models import (
    HotSearch,
    Note,
    NoteSearchDocument,
    ProductSearchDocument,
    SearchHistory,
    Topic,
    UserSearchDocument,
)
from notes.search.backends import PostgresBackend, get_backend, head_hits, head_needles
from notes.search.fields import AnyOf
from notes.search.segmentation import normalize, query_tokens
from notes.selectors import card_columns, notes_for_cards
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
    condition = get_backend().condition(tokens)
    return _ranked(qs, documents, condition, head_needles(tokens), sort, settings.SEARCH_CANDIDATES)


def _ranked(
    qs: QuerySet, documents: type[Model], condition: Q, needles: list[str], sort: str, candidates: int
) -> QuerySet:
    """:func:`_matching` from the backend's ``condition``, the head's ``needles`` and the number of
    ``candidates`` (``SEARCH_CANDIDATES``)."""
    newest = documents.objects.filter(condition).order_by("-pk").values("pk")[:candidates]
    matched = Subquery(newest)
    qs = qs.filter(AnyOf(F("pk"), matched) if connection.vendor == "postgresql" else Q(pk__in=matched))
    if sort == SearchSort.RELEVANCE:
        qs = qs.annotate(rank=head_hits(RELATION, needles))
    return qs


def _ranked_notes(notes: QuerySet, condition: Q, needles: list[str], sort: str, candidates: int) -> QuerySet:
    """Notes by relevance or popularity (``ORDERINGS``) among the newest ``candidates`` matches."""
    ranked = _ranked(notes, NoteSearchDocument, condition, needles, sort, candidates)
    ranked = ranked.annotate(popularity=F("like_count") + F("collect_count"))
    return ranked.order_by(*ORDERINGS[SearchType.NOTES, sort])


@dataclass(frozen=True)
class Keyset:
    """The rows a keyset paginator is about to cut from a newest-first search: the first ``count``
    after ``position`` (a ``published_at``, from the cursor) in the order, or before it when
    ``reverse`` (a "previous" page, read oldest first). No position: from the newest."""

    position: datetime | None = None
    reverse: bool = False
    count: int = settings.API_PAGE_SIZE + 1

    def order(self) -> tuple[tuple[str, ...], str]:
        """The order the rows are read in, and the lookup of the rows after the position."""
        newest_first = ORDERINGS[SearchType.NOTES, SearchSort.LATEST]
        if self.reverse:  # as DRF's CursorPagination reads a "previous" page
            return tuple(field.removeprefix("-") for field in newest_first), "published_at__gt"
        return newest_first, "published_at__lt"


#: How many notes, per row wanted, the newest-first search reads in date order before it turns to
#: the index: a word in at least one of the ~50 notes after the position fills its page from them.
LATEST_WALK_PER_ROW = 50
#: Before (after) every note: where the walk stops when it covers the rest of the notes.
_DAWN = datetime(1970, 1, 1, tzinfo=UTC)
_DUSK = datetime(9999, 1, 1, tzinfo=UTC)


def _latest_window(viewer, tsquery: str, keyset: Keyset, walk: int) -> QuerySet:
    """The ids of the ``keyset.count`` newest notes ``viewer`` may see (after the position) whose
    document holds every token of ``tsquery`` (``PostgresBackend.tsquery``).

    A common word is in a good share of the newest notes, a rare one in a few notes anywhere; the
    planner knows neither (the vectors have no statistics, see migration 0005) and a single plan is
    slow for one or the other: fetching every match of "穿搭" from the GIN index (a third of the
    notes) just to keep the newest 20, or walking all the notes by date to find the three that say
    "ramen". So the ids come from ``walk UNION ALL index LIMIT count``, whose second half only runs
    when the first did not fill the page:

    1. *walk*: the documents of the next ``walk`` live notes in date order (their own
       ``note_document_published`` index: a document holds its note's date), each tested as it is
       read; only a match has its note's visibility checked;
    2. *index*: the older notes whose document the GIN index matches, newest first.

    Both halves take their rows from ``Note.objects.visible_to(viewer)``. PostgreSQL only: SQLite
    allows no ordering inside a compound query (and scans the token text anyway).
    """
    order, older = keyset.order()
    from_stop_on = "published_at__lte" if keyset.reverse else "published_at__gte"
    after = {older: keyset.position} if keyset.position is not None else {}
    documents_after = NoteSearchDocument.objects.filter(**after)  # a document holds its note's date
    # Where the walk stops: the date of the document ``walk`` places further on (read from the
    # walk's own index alone). None when fewer are left: the walk then covers them all.
    stop = Subquery(documents_after.order_by(order[0]).values("published_at")[walk : walk + 1])
    visible = Note.objects.visible_to(viewer).live().filter(**after)
    backend = get_backend()
    # Walking the documents rather than the notes: a note that does not match costs one read of its
    # document, not a read of the note, its author and then its document by primary key (four
    # index pages), which was most of a middling word's search.
    walked = (
        documents_after.filter(**{from_stop_on: Coalesce(stop, Value(_DUSK if keyset.reverse else _DAWN))})
        .filter(backend.condition_each(tsquery))
        .filter(Exists(visible.filter(pk=OuterRef("note_id"))))
        .order_by(order[0], order[1].replace("id", "note_id"))  # ties by the note's id, as here named
        .values("note_id")[: keyset.count]
    )
    # Sorted on an expression the date index cannot serve, so that PostgreSQL starts this half from
    # the GIN index (few rows: the word was rare in the walk) instead of walking every older note.
    date = F("published_at") + Value(timedelta(0))
    documents = NoteSearchDocument.objects.filter(backend.condition_for(tsquery)).values("pk")
    indexed = (
        visible.filter(**{older: stop}, pk__in=documents)
        .order_by(date.asc() if keyset.reverse else date.desc(), order[1])
        .values("pk")[: keyset.count]
    )
    return walked.union(indexed, all=True)[: keyset.count]


def _newest_matching_notes(notes: QuerySet, tokens: list[str], viewer, keyset: Keyset) -> QuerySet:
    """``notes`` narrowed to the ``keyset.count`` newest notes the viewer may see (after the
    position) whose document holds every token: :func:`_latest_window` on PostgreSQL, the matching
    documents on SQLite (same rows, same order)."""
    if connection.vendor == "postgresql":
        walk = LATEST_WALK_PER_ROW * keyset.count
        return notes.filter(pk__in=_latest_window(viewer, get_backend().tsquery(tokens), keyset, walk))
    return notes.filter(pk__in=get_backend().match(NoteSearchDocument.objects.all(), tokens).values("pk"))


def search_notes(*, query: str, sort: str, viewer, keyset: Keyset | None = None) -> QuerySet:
    """Live notes the viewer may see whose text has every token of ``query``. Hidden, private,
    followers-only (unless followed), blocked-either-way and deleted notes never match; drafts and
    scheduled notes neither, even for their author (search shows what is out).

    ``sort=latest`` is narrowed to the page ``keyset`` describes (the first page when None) and,
    unlike the ranked sorts, pages through every match. The API reads that page through
    :func:`search_notes_newest`."""
    notes, tokens = notes_for_cards(viewer).live(), query_tokens(query)
    if sort != SearchSort.LATEST:
        if not tokens:
            return notes.none()
        condition, needles = get_backend().condition(tokens), head_needles(tokens)
        return _ranked_notes(notes, condition, needles, sort, settings.SEARCH_CANDIDATES)
    qs = _newest_matching_notes(notes, tokens, viewer, keyset or Keyset()) if tokens else notes.none()
    return qs.order_by(*ORDERINGS[SearchType.NOTES, sort])


def _card_rows(notes: QuerySet, viewer, keyset: Keyset) -> QuerySet:
    """The page ``keyset`` describes, as card rows (what ``NoteCardLeanOut`` renders)."""
    order, older = keyset.order()
    if keyset.position is not None:
        notes = notes.filter(**{older: keyset.position})
    return notes.order_by(*order).values(*card_columns(viewer))[: keyset.count]


def _newest_cards(viewer_id, tsquery: str, position, *, reverse: bool, count: int, walk: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    keyset = Keyset(position=position, reverse=reverse, count=count)
    notes = notes_for_cards(viewer).live().filter(pk__in=_latest_window(viewer, tsquery, keyset, walk))
    return _card_rows(notes, viewer, keyset)


#: Building and compiling the newest-first search (the visibility rule three times, the union)
#: costs several times the CPU of running it: it is compiled once per shape of request.
_NEWEST_CARDS = PreparedQuery(_newest_cards)


def search_notes_newest(*, query: str, viewer, keyset: Keyset) -> list[dict]:
    """:func:`search_notes` with ``sort=latest``, cut to ``keyset`` and read as card rows (the
    columns of ``notes.selectors.CARD_COLUMNS``, plus the viewer's flags), in the keyset's order.
    One query; on PostgreSQL its SQL is compiled once per shape of request."""
    tokens = query_tokens(query)
    if not tokens:
        return []
    if connection.vendor != "postgresql":
        notes = search_notes(query=query, sort=SearchSort.LATEST, viewer=viewer, keyset=keyset)
        return list(_card_rows(notes, viewer, keyset))
    return _NEWEST_CARDS.rows(
        viewer_id_of(viewer),
        get_backend().tsquery(tokens),
        keyset.position,
        reverse=keyset.reverse,
        count=keyset.count,
        walk=LATEST_WALK_PER_ROW * keyset.count,
    )


def _ranked_cards(viewer_id, tsquery: str, *needles: str, sort: str, count: int, candidates: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    notes = notes_for_cards(viewer).live()
    ranked = _ranked_notes(notes, PostgresBackend.condition_for(tsquery), list(needles), sort, candidates)
    return ranked.values(*card_columns(viewer))[:count]


#: The ranked note searches, compiled once per shape (their ORM build cost ~8 ms a request, three
#: times what a rare word's SQL takes).
_RANKED_CARDS = PreparedQuery(_ranked_cards)


def search_notes_ranked(*, query: str, sort: str, viewer, count: int) -> list[dict]:
    """:func:`search_notes` by relevance or popularity, its first ``count`` rows as card rows (the
    columns of ``notes.selectors.CARD_COLUMNS``, plus the viewer's flags). One query; on PostgreSQL
    its SQL is compiled once per shape of request."""
    tokens = query_tokens(query)
    if not tokens:
        return []
    if connection.vendor != "postgresql":
        notes = search_notes(query=query, sort=sort, viewer=viewer)
        return list(notes.values(*card_columns(viewer))[:count])
    needles = head_needles(tokens) if sort == SearchSort.RELEVANCE else ()  # popularity has no use for them
    tsquery, candidates = get_backend().tsquery(tokens), settings.SEARCH_CANDIDATES
    return _RANKED_CARDS.rows(
        viewer_id_of(viewer), tsquery, *needles, sort=sort, count=count, candidates=candidates
    )


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
    """Listed topics (``Topic.objects.listed``: not those only drafts use) whose name contains the
    query (topic names are short: a substring is what people expect, "穿搭" finding "春日穿搭");
    best match puts the exact name, then names starting with the query, first."""
    text = _topic_text(query)
    if not text:
        return Topic.objects.none()
    qs = Topic.objects.listed().filter(name__icontains=text)
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
    """Completions of what is being typed: hot searches starting with it, then listed topics
    (``Topic.objects.listed``) starting with it (pinned and most used first); up to half of the list
    each, the rest from whichever has more. Two small queries (hot searches are a few hundred rows;
    topics by name prefix)."""
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
        Topic.objects.listed()
        .filter(name__istartswith=text)
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
