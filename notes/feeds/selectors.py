"""Reads of the three feeds, each a page of note cards plus the cursor of the next page.

Every page passes its notes through ``Note.objects.visible_to(viewer)`` (``notes_for_cards``) after
the timeline or ranking picked them, so a lagging timeline, score or place never shows a private,
followers-only, blocked, hidden or deleted note; at worst a page comes out a little short, and its
cursor still moves past what was skipped.

Query budgets (the JWT user load included), at any page size: following <= 4 SQL with the database
backend (user, timeline, pull authors' notes, cards) and 2 SQL (user, cards) + 1 Redis round trip
with Redis (+1 round trip for a reader who follows pull authors, +1 query when who they pull is no
longer remembered);
discover <= 4 SQL (user, profile, candidates as cards, seen) with the database and 3 SQL + 2 round
trips with Redis; nearby 3 SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from accounts.choices import Category
from config.errors import InvalidInput, NotFound
from notes.feeds import ads, cursors, geo, ranking
from notes.feeds.rankstore import Pool, rank_store
from notes.feeds.scoring import reader_for
from notes.feeds.timelines import decode_cursor, encode_cursor, timeline_backend
from notes.models import Note, NoteScore
from notes.selectors import note_cards

#: Extra cards fetched beyond the page (Redis discovery), for candidates that turn out invisible.
SPARE = 5
#: Nearby: a note at the edge of the circle needs e^2 (7.4x) the score of one at the centre.
DISTANCE_WEIGHT = 2.0
NEARBY_CANDIDATES = 500


@dataclass
class FeedItem:
    #: A ``Note`` from ``notes_for_cards`` or a card row from ``note_cards``.
    note: Note | dict
    why: list[str] = field(default_factory=list)
    distance_km: float | None = None
    sponsored: bool = False


@dataclass
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None
    #: Sponsored entries the ads provider placed, as (position, serialised item).
    sponsored: list[tuple[int, dict]] = field(default_factory=list)


# --- following ----------------------------------------------------------------------------------------


def following_page(*, viewer, cursor: str | None = None, limit: int = 20) -> FeedPage:
    """The viewer's followees' notes, newest first."""
    key = decode_cursor(cursor)
    entries = timeline_backend().page(user_id=viewer.pk, cursor=key, limit=limit + 1)
    more, entries = len(entries) > limit, entries[:limit]
    # ``following_only`` drops an unfollowed author's notes before the task that removes them from the
    # timeline has run.
    cards = note_cards(viewer=viewer, note_ids=[e.note_id for e in entries], following_only=True)
    items = [FeedItem(cards[e.note_id]) for e in entries if e.note_id in cards]
    return FeedPage(items, encode_cursor(entries[-1].key) if more else None)


# --- discover --------------------------------------------------------------------------------------------


def _anonymous_position(token: dict) -> tuple[tuple[float, int] | None, list[ranking.Candidate]]:
    """Where an anonymous reader's previous page ended, and the notes it passed over for diversity."""
    if not token:
        return None, []
    after = (cursors.number(token, "r"), cursors.number(token, "i", int))
    deferred = []
    for item in token.get("d", []):
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(v, int | float) for v in item)):
            raise InvalidInput("Invalid cursor.", code="invalid_cursor", fields={"cursor": ["Invalid."]})
        deferred.append(ranking.Candidate(note_id=int(item[0]), author_id=int(item[1]), rank=float(item[2])))
    return after, deferred[:100]


def discover_page(
    *,
    viewer,
    category: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> FeedPage:
    """The discovery feed: ranked candidates (of one ``category`` when given), personalised for a
    signed-in viewer, without what they saw in the last ``FEED_SEEN_DAYS`` or turned down or wrote
    themselves, at most ``FEED_AUTHOR_DIVERSITY`` notes per author. What is served is recorded as
    seen, so the next page (the cursor only says "more") and the next visit bring new notes.
    Anonymous readers get the global ranking, paged by a cursor of rank position."""
    if category is not None and category not in Category.values:
        raise InvalidInput("Unknown category.", fields={"category": ["Not a category."]})
    now = now or timezone.now()
    store, reader = rank_store(), reader_for(viewer)
    token = cursors.decode_token(cursor)
    after, deferred = (None, []) if reader.personal else _anonymous_position(token)
    found = store.candidates(
        viewer=viewer,
        reader=reader,
        category=category,
        after=after,
        include_ids=[c.note_id for c in deferred],
        limit=settings.FEED_DISCOVER_CANDIDATES,
        now=now,
    )
    pool, more = found.candidates, found.more
    found_ids = {c.note_id for c in pool}
    if not store.cards_included:  # with cards included, the store re-checked the deferred ones
        pool += [c for c in deferred if c.note_id not in found_ids]
    pool = [c for c in pool if c.note_id not in reader.hidden and c.author_id != reader.user_id]
    ranked = pool if found.ranked else ranking.order(pool, reader)
    spare = 0 if store.cards_included else SPARE
    kept, passed_over = ranking.diversify(
        ranked, limit=limit + spare, per_author=settings.FEED_AUTHOR_DIVERSITY
    )
    if store.cards_included:
        cards = {c.note_id: c.note for c in kept}
    else:
        cards = store.cards(viewer, [c.note_id for c in kept])
    served = [c for c in kept if c.note_id in cards][:limit]
    items = [
        FeedItem(cards[c.note_id], why=ranking.why(c, reader, _signals(cards[c.note_id]))) for c in served
    ]
    if reader.personal:
        store.mark_seen(
            user_id=reader.user_id,
            note_ids=[c.note_id for c in served],
            now=now,
            pool=_next_pool(
                found,
                ranked,
                served + [c for c in kept if c.note_id not in cards],
                reader,
                category,
                limit + spare,
            ),
        )
        unserved = len(pool) - len(served)
        page_number = token.get("p") if isinstance(token.get("p"), int) else 1
        next_token = {"p": page_number + 1} if served and (more or unserved > 0) else None
    else:
        next_token = _anonymous_next(ranked, served, passed_over, more)
    page = FeedPage(items, cursors.encode_token(next_token) if next_token else None)
    page.sponsored = ads.sponsored_for(viewer=viewer, category=category, page=page, now=now)
    return page


def _next_pool(found, ranked, done, reader, category, page) -> Pool | None:
    """The reader's pool after this page: what was ranked and not ``done`` (served, or found not
    visible), in order; empty (dropped) when it would not fill another page. None where the store
    keeps no pools, or pools are off (``FEED_DISCOVER_POOL`` or its seconds 0)."""
    if found.version is None or settings.FEED_DISCOVER_POOL <= 0 or settings.FEED_DISCOVER_POOL_SECONDS <= 0:
        return None
    done = {c.note_id for c in done}
    rest = [c for c in ranked if c.note_id not in done][: settings.FEED_DISCOVER_POOL]
    return Pool(
        user_id=reader.user_id,
        category=category,
        version=found.version,
        tag=found.tag,
        candidates=rest if len(rest) >= page else [],
    )


def _anonymous_next(ranked, served, passed_over, more) -> dict | None:
    if not served:
        return None
    last = (served[-1].key, served[-1].note_id)
    behind = [c for c in passed_over if (c.key, c.note_id) > last]
    rest = any((c.key, c.note_id) < last for c in ranked)
    if not (behind or rest or more):
        return None
    return {
        "r": served[-1].rank,
        "i": served[-1].note_id,
        "d": [[c.note_id, c.author_id, c.rank] for c in behind],
    }


def _signals(note: Note | dict) -> list[str]:
    if isinstance(note, dict):  # a card row from ``note_cards(signals=True)``
        return note["score__signals"] or []
    try:
        return note.score.signals
    except NoteScore.DoesNotExist:
        return []


def note_get_for_feedback(*, note_id: int, viewer) -> Note:
    """A note ``viewer`` may see, light (no media, tags or topics): 404 otherwise."""
    note = Note.objects.visible_to(viewer).filter(pk=note_id).first()
    if note is None:
        raise NotFound("No such note.")
    return note


# --- nearby ----------------------------------------------------------------------------------------------


def nearby_page(
    *,
    viewer,
    lat: float,
    lng: float,
    radius_km: float | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> FeedPage:
    """Notes with a place within ``radius_km`` of (``lat``, ``lng``), best first by score and
    nearness: ``rank - DISTANCE_WEIGHT x distance / radius``."""
    radius = radius_km or settings.FEED_NEARBY_RADIUS_KM
    precision = geo.precision_for(radius, lat)
    cells = geo.neighbourhood(lat, lng, precision)
    rows = (
        NoteScore.objects.filter(rankable=True, lat__isnull=False, **{f"geohash{precision}__in": cells})
        .order_by("-rank", "-note_id")
        .values_list("note_id", "lat", "lng", "rank")[:NEARBY_CANDIDATES]
    )
    token = cursors.decode_token(cursor)
    after = (cursors.number(token, "k"), cursors.number(token, "i", int)) if token else None
    ranked = []
    for note_id, note_lat, note_lng, rank in rows:
        distance = geo.distance_km(lat, lng, note_lat, note_lng)
        if distance > radius:
            continue
        key = (rank - DISTANCE_WEIGHT * distance / radius, note_id)
        if after is None or key < after:
            ranked.append((key, distance))
    ranked.sort(reverse=True)
    page, more = ranked[:limit], len(ranked) > limit
    cards = note_cards(viewer=viewer, note_ids=[key[1] for key, _ in page])
    items = [
        FeedItem(cards[key[1]], distance_km=round(distance, 2)) for key, distance in page if key[1] in cards
    ]
    next_cursor = cursors.encode_token({"k": page[-1][0][0], "i": page[-1][0][1]}) if more else None
    return FeedPage(items, next_cursor)
