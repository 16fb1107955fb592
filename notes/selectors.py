"""Reads of the notes app, shaped for the endpoints that use them."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.selectors import USER_SUMMARY_COLUMNS, viewer_from_id, viewer_id_of
from config.db import KeysetQuery, KeysetRows, PreparedQuery, prefixed
from config.errors import NotFound
from notes.models import Note, NoteCollect, NoteLike, NoteMedia, Topic
from shop.models import Product
from shop.selectors import products_for_cards

#: How many notes a product page shows under "grass planted by".
PLANTED_BY_LIMIT = 6


def _viewer_flags(viewer) -> dict:
    if viewer is None or not viewer.is_authenticated:
        return {}
    return {
        "viewer_liked": Exists(NoteLike.objects.filter(note=OuterRef("pk"), user=viewer)),
        "viewer_collected": Exists(NoteCollect.objects.filter(note=OuterRef("pk"), user=viewer)),
    }


def notes_for_cards(viewer) -> QuerySet:
    """Visible notes shaped for cards: author, cover and the viewer's flags in one query."""
    return Note.objects.visible_to(viewer).select_related("author", "cover").annotate(**_viewer_flags(viewer))


def card_columns(viewer) -> tuple[str, ...]:
    """What a card row of :func:`notes_for_cards` reads: :data:`CARD_COLUMNS`, and for a signed-in
    viewer the flags it annotates."""
    signed_in = viewer is not None and viewer.is_authenticated
    return (*CARD_COLUMNS, "viewer_liked", "viewer_collected") if signed_in else CARD_COLUMNS


#: A medium's columns as its API form (``MediaOut``) shows them.
MEDIA_COLUMNS = (
    "id",
    "kind",
    "status",
    "failure_reason",
    "width",
    "height",
    "dominant_color",
    "duration_seconds",
    "variants",
    "created_at",
)
#: A note card's columns (``NoteCardOut``): the note's, its author's and its cover's.
CARD_COLUMNS = (
    "id",
    "kind",
    "title",
    "category",
    "like_count",
    "collect_count",
    "comment_count",
    "published_at",
    *prefixed("author__", USER_SUMMARY_COLUMNS),
    *prefixed("cover__", MEDIA_COLUMNS),
)


def _card_values(viewer_id: int | None, extra: tuple[str, ...] = (), **filters) -> QuerySet:
    """Card rows of the visible notes matching ``filters``: :data:`CARD_COLUMNS` and ``extra``
    columns, plus the viewer's flags when ``viewer_id`` is given."""
    viewer = viewer_from_id(viewer_id)
    notes = notes_for_cards(viewer).filter(**filters)
    if viewer is None:
        return notes.values(*CARD_COLUMNS, *extra)
    return notes.annotate(author_followed=F("follows_author")).values(
        *CARD_COLUMNS, *extra, "viewer_liked", "viewer_collected", "author_followed"
    )


def _cards_by_id(viewer_id: int | None, note_ids: list[int], *, following_only: bool, signals: bool):
    return _card_values(
        viewer_id,
        ("score__signals",) if signals else (),
        pk__in=note_ids,
        **({"follows_author": True} if following_only else {}),
    )


_CARDS = PreparedQuery(_cards_by_id)
# Planned per call: how many notes the author or topic has decides the plan (``PreparedQuery``).
_AUTHOR_CARDS = KeysetQuery(
    lambda viewer_id, author_id: _card_values(viewer_id, author_id=author_id), plan_per_call=True
)
_TOPIC_CARDS = KeysetQuery(
    lambda viewer_id, topic_id: _card_values(viewer_id, notetopic__topic_id=topic_id), plan_per_call=True
)


def note_cards(
    *, viewer, note_ids: list[int], following_only: bool = False, signals: bool = False
) -> dict[int, dict]:
    """The cards of the notes among ``note_ids`` that ``viewer`` may see, by id: rows of
    :data:`CARD_COLUMNS` plus, for a signed-in viewer, ``viewer_liked``, ``viewer_collected`` and
    ``author_followed``. One query; its SQL (the visibility rule's) is compiled once per page size.
    ``following_only`` keeps only authors the viewer follows; ``signals`` adds the ranking's
    ``score__signals`` (null without a score)."""
    if not note_ids:
        return {}
    rows = _CARDS.rows(viewer_id_of(viewer), list(note_ids), following_only=following_only, signals=signals)
    return {row["id"]: row for row in rows}


#: What a note's detail page shows besides the card: media, product tags, topics, mentions.
NOTE_ATTACHMENTS = (
    Prefetch("note_media", queryset=NoteMedia.objects.select_related("media")),
    "product_tags",
    Prefetch("product_tags__product", queryset=products_for_cards()),
    Prefetch("topics", queryset=Topic.objects.order_by("notetopic__id")),  # as written
    Prefetch("mentions", queryset=User.objects.only("id", "username", "nickname")),
)


def note_get_visible(*, note_id: int, viewer) -> Note:
    """A note ``viewer`` may see, shaped as a card plus its review product; 404 otherwise (never
    403, which would leak that a draft or private note exists). Its attachments are fetched
    separately (:func:`note_attachments_fetch`), as the detail page caches them."""
    note = (
        notes_for_cards(viewer)
        .prefetch_related(Prefetch("product", queryset=products_for_cards()))  # no query for a non-review
        .filter(pk=note_id)
        .first()
    )
    if note is None:
        raise NotFound("No such note.")
    return note


#: A note page's columns besides the card's (``NoteCoreOut``).
DETAIL_COLUMNS = (
    "body",
    "place_name",
    "place_city",
    "lat",
    "lng",
    "visibility",
    "status",
    "publish_at",
    "ai_assisted",
    "product_id",
    "rating",
    "is_verified_purchase",
    "share_count",
    "pinned_comment_id",
    "created_at",
    "updated_at",
)
_DETAIL = PreparedQuery(lambda viewer_id, note_id: _card_values(viewer_id, DETAIL_COLUMNS, pk=note_id))


def note_detail_get(*, note_id: int, viewer) -> dict:
    """:func:`note_get_visible` as a row for the note page: the card's columns, the viewer's flags,
    :data:`DETAIL_COLUMNS` and ``product`` (a review's product shaped by ``products_for_cards``, or
    None). One query (compiled once), two for a review; 404 when the viewer may not see it."""
    rows = _DETAIL.rows(viewer_id_of(viewer), note_id)
    if not rows:
        raise NotFound("No such note.")
    row = rows[0]
    row["product"] = products_for_cards().filter(pk=row["product_id"]).first() if row["product_id"] else None
    return row


def note_attachments_fetch(note: Note) -> Note:
    """Fetch ``note``'s media, product tags (and their products as cards), topics and mentions
    (four queries, five with tags)."""
    prefetch_related_objects([note], *NOTE_ATTACHMENTS)
    return note


def note_get_for_interaction(*, note_id: int, viewer) -> Note:
    """A live note ``viewer`` may see, for a share or report: the note row alone, in one query
    (``note_get_visible`` also joins its author, cover and product, with the viewer's flags); 404
    otherwise. Its author sees a draft, scheduled, processing or hidden note, but nobody likes,
    collects, shares, reports or comments on one."""
    note = Note.objects.live().visible_to(viewer).filter(pk=note_id).first()
    if note is None:
        raise NotFound("No such note.")
    return note


def note_visible_to_user(*, note_id: int, user) -> bool:
    """Whether ``user`` may see the note: who may be told about it (a mention in it or in one of its
    comments), so that no notice points at a note its recipient cannot open."""
    return Note.objects.visible_to(user).filter(pk=note_id).exists()


_VISIBLE_AUTHOR = PreparedQuery(
    lambda viewer_id, note_id: (
        Note.objects.live().visible_to(viewer_from_id(viewer_id)).filter(pk=note_id).values("author_id")
    )
)


def note_get_for_toggle(*, note_id: int, viewer) -> Note:
    """:func:`note_get_for_interaction` for the hottest writes, likes and collects: a ``Note`` with
    only ``id`` and ``author_id`` loaded (the author's counter moves with the note's), by one narrow
    query compiled once; 404 otherwise."""
    rows = _VISIBLE_AUTHOR.rows(viewer_id_of(viewer), note_id)
    if not rows:
        raise NotFound("No such note.")
    return Note.from_db(DEFAULT_DB_ALIAS, ["id", "author_id"], [note_id, rows[0]["author_id"]])


def note_visible_statement(*, note_id: int, viewer) -> tuple[str, dict]:
    """:func:`note_get_for_toggle`'s query for a write to run inside its own statement (a like or
    collect is one statement on PostgreSQL): its SQL, which returns the note's ``author_id`` when
    ``viewer`` may see it and no row otherwise, and its parameters, named ``visible0``, ..."""
    return _VISIBLE_AUTHOR.statement(viewer_id_of(viewer), note_id, name="visible")


def note_ref(note_id: int) -> Note:
    """A ``Note`` that carries only its id, for a service that checks the note itself: no query."""
    return Note.from_db(DEFAULT_DB_ALIAS, ["id"], [note_id])


def note_get_for_author(*, note_id: int, author) -> Note:
    """The author's own note (any status but deleted); 404 for everyone else."""
    note = Note.objects.filter(pk=note_id, author=author, deleted_at__isnull=True).first()
    if note is None:
        raise NotFound("No such note.")
    return note


def notes_by_author(*, author: User, viewer) -> KeysetRows:
    """A profile's notes tab as card rows: what the viewer may see, for keyset pages by id."""
    return _AUTHOR_CARDS.rows(viewer_id_of(viewer), author.pk)


def notes_of_topic(*, topic: Topic, viewer) -> KeysetRows:
    """A topic's notes as card rows: what the viewer may see, for keyset pages by id."""
    return _TOPIC_CARDS.rows(viewer_id_of(viewer), topic.pk)


def notes_planting(*, product: Product, viewer) -> list[dict]:
    """ "Grass planted by": the first ``PLANTED_BY_LIMIT`` notes the viewer may see that tag
    ``product``, most engaging (likes, collects, comments) first, as card rows (what
    ``NoteCardLeanOut`` renders). One query, compiled once."""
    return _PLANTING.rows(viewer_id_of(viewer), product.pk)


def _planting(viewer_id: int | None, product_id: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    return (
        notes_for_cards(viewer)
        .filter(product_tags__product_id=product_id)
        .annotate(engagement=F("like_count") + F("collect_count") + F("comment_count"))
        .order_by("-engagement", "-id")
        .values(*card_columns(viewer))[:PLANTED_BY_LIMIT]
    )


_PLANTING = PreparedQuery(_planting)


def reviews_of_product(*, product: Product, viewer) -> QuerySet:
    """The review notes of ``product`` the viewer may see: verified purchases first, then newest."""
    return (
        notes_for_cards(viewer)
        .filter(product=product, rating__isnull=False)
        .order_by("-is_verified_purchase", "-id")
    )


def topic_get(*, name: str) -> Topic:
    """A listed topic (``Topic.objects.listed``); 404 otherwise."""
    topic = Topic.objects.listed().filter(name=name).first()
    if topic is None:
        raise NotFound("No such topic.")
    return topic


def topics_trending(*, limit: int = 20) -> QuerySet:
    """Hot topics: pinned ones first, then by use in live public notes over the sliding window (as
    of the last roll-up, see ``notes.search.trending``), then, so that a quiet hour still shows a
    list, the most used of all time. Suppressed topics never show, pinned or not."""
    return (
        Topic.objects.filter(is_suppressed=False)
        .filter(Q(is_pinned=True) | Q(heat__isnull=False) | Q(note_count__gt=0))
        .annotate(heat_score=Coalesce("heat__score", 0.0))
        .order_by("-is_pinned", "-heat_score", "-note_count", "id")[:limit]
    )
