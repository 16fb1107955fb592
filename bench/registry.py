"""What ``make bench`` measures: one :class:`Endpoint` per row of the table.

Adding an endpoint is a few lines here: its requests (built from the world :class:`~bench.sample.Sample`),
its kind (which decides how it is loaded and which gate applies) and, for a read, its data floor
(a key of ``bench.floors.DATA_FLOORS``: the same rows fetched by plain psycopg + orjson). An endpoint
whose ``requires`` path does not resolve yet is listed as pending (``n/a``) instead of measured, so a
row can be registered before the feature lands. For example, the search issue adds::

    Endpoint("search", "B7", "GET /api/v1/search?q=", kind="read", floor="search",
             requests=lambda s: [Request("GET", f"/api/v1/search?q={q}", i) for i, q in ...],
             requires="/api/v1/search")

Kinds: ``floor`` (F_http: measured like a read, no gate), ``read`` (B1/B2 formula), ``write``
(B5: toggles, POST then DELETE, plus 8 writers on one note), ``media`` (B8), ``fanout`` (B4) and
``search_words`` (B7's p95 of rare and common words and its plans), ``checkout`` (B6: 8 buyers on
1 SKU and on 1,000, and the oversell check; ``bench.checkout``) and ``decay`` (B9: the ranking's
decay pass, in process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # the registry is read before Django is set up
    from bench.sample import Sample

WRITERS = 8  # BENCH B5: 8 writers on one note
#: B7 queries, Chinese and English, common and rarer words of the world's notes.
SEARCH_QUERIES = ("穿搭", "咖啡", "武康路", "小个子显高", "skincare", "ramen", "护肤", "露营")
#: B7's rare words besides: topics far down the world's Zipf list (100-300 notes of 200k at M; the
#: templates' own words are in 5-30% of the notes, and "ramen" in none).
SEARCH_WORDS = (*SEARCH_QUERIES, "露营灵感9", "数码测评9", "育儿日记8", "好物测评8")


#: B5's comment: written, then deleted by the id its 201 answer gave (``bench.load.CREATED``).
COMMENTS = "/api/v1/notes/{note}/comments"
COMMENT_UNDO = "/api/v1/comments/{created}"
COMMENT_BODY = '{"body": "写得好详细，已收藏！请问链接在哪里？"}'


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    viewer: int | None = None  # index into Sample.tokens; None: anonymous
    body: str | None = None
    #: Sent with a fresh ``Idempotency-Key`` header each time (checkout).
    idempotent: bool = False


@dataclass(frozen=True)
class Endpoint:
    name: str
    target: str
    title: str
    kind: str
    requests: Callable[[Sample], list[Request]] | None = None
    floor: str | None = None
    requires: str | None = None
    pending_reason: str = ""
    #: A list endpoint: query counts are compared at page sizes 1, 20 and 100.
    paged: bool = False
    #: For writes: one request rotation per writer, all on one note (the hot row).
    hot: Callable[[Sample], list[list[Request]]] | None = None
    #: For fan-out: the follower count of the publishing author (the nearest in the world).
    followers: int = 0


def _cycle(sample: Sample, paths: list[str]) -> list[Request]:
    """Each path once, viewers rotating along (so no viewer hits a warm cache of its own)."""
    return [Request("GET", path, i % len(sample.tokens)) for i, path in enumerate(paths)]


def _undone(path: str, body: str | None, undo: str | None, viewer: int, note: int) -> list[Request]:
    """A POST and the DELETE that takes it back (of ``undo``, the same path by default)."""
    return [
        Request("POST", path.replace("{note}", str(note)), viewer, body),
        Request("DELETE", (undo or path).replace("{note}", str(note)), viewer),
    ]


def _toggles(
    path: str, body: str | None = None, undo: str | None = None
) -> Callable[[Sample], list[Request]]:
    """POST then DELETE for each (viewer, note) pair, pair after pair: every request changes
    something, and the world is as it was after an even number of requests."""

    def build(sample: Sample) -> list[Request]:
        return [r for viewer, note in sample.pairs for r in _undone(path, body, undo, viewer, note)]

    return build


def _hot(
    path: str, body: str | None = None, undo: str | None = None
) -> Callable[[Sample], list[list[Request]]]:
    def build(sample: Sample) -> list[list[Request]]:
        return [
            _undone(path, body, undo, writer, sample.hot_note)
            for writer in range(min(WRITERS, len(sample.tokens)))
        ]

    return build


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "F_http",
        "floor",
        "GET /_bench/http",
        kind="floor",
        requests=lambda s: [Request("GET", "/_bench/http")],
    ),
    Endpoint(
        "following feed",
        "B1",
        "GET /api/v1/feed/following",
        kind="read",
        floor="feed",
        requests=lambda s: [Request("GET", "/api/v1/feed/following", i) for i in range(len(s.tokens))],
        requires="/api/v1/feed/following",
        paged=True,
    ),
    Endpoint(
        "discover feed",
        "B2",
        "GET /api/v1/feed/discover",
        kind="read",
        floor="feed",
        requests=lambda s: [Request("GET", "/api/v1/feed/discover", i) for i in range(len(s.tokens))],
        requires="/api/v1/feed/discover",
        paged=True,
    ),
    Endpoint(
        "search",
        "B7",
        "GET /api/v1/search?q= (latest)",
        kind="read",
        floor="search",
        requests=lambda s: [
            Request("GET", f"/api/v1/search?q={quote(q)}&sort=latest", i)
            for i, q in enumerate(SEARCH_QUERIES)
        ],
        requires="/api/v1/search",
        paged=True,
    ),
    Endpoint(
        "search words",
        "B7",
        "GET /api/v1/search?q= (rare and common words, both sorts)",
        kind="search_words",
        requires="/api/v1/search",
    ),
    Endpoint(
        "note detail",
        "B2",
        "GET /api/v1/notes/{id}",
        kind="read",
        floor="note_detail",
        requests=lambda s: _cycle(s, [f"/api/v1/notes/{n}" for n in s.notes]),
    ),
    Endpoint(
        "comments",
        "B2",
        "GET /api/v1/notes/{id}/comments",
        kind="read",
        floor="comments",
        requests=lambda s: _cycle(s, [f"/api/v1/notes/{n}/comments" for n in s.commented_notes]),
        paged=True,
    ),
    Endpoint(
        "board",
        "B2",
        "GET /api/v1/boards/{id}/notes",
        kind="read",
        floor="board",
        requests=lambda s: _cycle(s, [f"/api/v1/boards/{b}/notes" for b in s.boards]),
        paged=True,
    ),
    Endpoint(
        "profile",
        "B2",
        "GET /api/v1/users/{username}",
        kind="read",
        floor="profile",
        requests=lambda s: _cycle(s, [f"/api/v1/users/{u}" for u in s.authors]),
    ),
    Endpoint(
        "user notes",
        "B2",
        "GET /api/v1/users/{username}/notes",
        kind="read",
        floor="user_notes",
        requests=lambda s: _cycle(s, [f"/api/v1/users/{u}/notes" for u in s.authors]),
        paged=True,
    ),
    Endpoint(
        "product list",
        "B2",
        "GET /api/v1/shop/products",
        kind="read",
        floor="product_list",
        requests=lambda s: [Request("GET", "/api/v1/shop/products", i) for i in range(len(s.tokens))],
        paged=True,
    ),
    Endpoint(
        "product detail",
        "B2",
        "GET /api/v1/shop/products/{id}",
        kind="read",
        floor="product_detail",
        requests=lambda s: _cycle(s, [f"/api/v1/shop/products/{p}" for p in s.products]),
    ),
    Endpoint(
        "like",
        "B5",
        "POST+DELETE /api/v1/notes/{id}/like",
        kind="write",
        requests=_toggles("/api/v1/notes/{note}/like"),
        hot=_hot("/api/v1/notes/{note}/like"),
    ),
    Endpoint(
        "collect",
        "B5",
        "POST+DELETE /api/v1/notes/{id}/collect",
        kind="write",
        requests=_toggles("/api/v1/notes/{note}/collect", "{}"),
        hot=_hot("/api/v1/notes/{note}/collect", "{}"),
    ),
    Endpoint(
        "comment",
        "B5",
        "POST /api/v1/notes/{id}/comments + DELETE /api/v1/comments/{id}",
        kind="write",
        requests=_toggles(COMMENTS, COMMENT_BODY, COMMENT_UNDO),
        hot=_hot(COMMENTS, COMMENT_BODY, COMMENT_UNDO),
    ),
    Endpoint(
        "checkout",
        "B6",
        "POST /api/v1/shop/orders (8 buyers: 1 SKU, 1,000 SKUs; oversell)",
        kind="checkout",
        requires="/api/v1/shop/orders",
    ),
    Endpoint("media", "B8", "POST /api/v1/media (12 MP JPEG) + task", kind="media"),
    Endpoint(
        "fan-out 1k",
        "B4",
        "note_create -> 1k timelines",
        kind="fanout",
        followers=1_000,
    ),
    Endpoint(
        "fan-out 10k",
        "B4",
        "note_create -> 10k timelines",
        kind="fanout",
        followers=10_000,
    ),
    Endpoint("ranking decay", "B9", "the decay pass over the last 48 h of notes", kind="decay"),
]


def select(names: list[str] | None) -> list[Endpoint]:
    """The endpoints named (by name or target, case-insensitive), F_http always first."""
    if not names:
        return list(ENDPOINTS)
    wanted = {n.strip().lower() for n in names}
    chosen = [e for e in ENDPOINTS if e.name.lower() in wanted or e.target.lower() in wanted]
    unknown = wanted - {e.name.lower() for e in chosen} - {e.target.lower() for e in chosen}
    if unknown:
        known = ", ".join(e.name for e in ENDPOINTS)
        raise ValueError(f"unknown endpoint(s) {', '.join(sorted(unknown))}; known: {known}")
    floor = ENDPOINTS[0]
    return chosen if floor in chosen else [floor, *chosen]


def resolves(path: str) -> bool:
    """Does ``path`` reach a real view (not the API's catch-all 404)?"""
    from django.urls import Resolver404, resolve

    from config.api.exceptions import api_not_found

    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False
