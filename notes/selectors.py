"""Reads of the notes app, shaped for the endpoints that use them."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Coalesce

from accounts.models import User
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


def note_attachments_fetch(note: Note) -> Note:
    """Fetch ``note``'s media, product tags (and their products as cards), topics and mentions
    (four queries, five with tags)."""
    prefetch_related_objects([note], *NOTE_ATTACHMENTS)
    return note


def note_get_for_interaction(*, note_id: int, viewer) -> Note:
    """A note ``viewer`` may see, for a like, collect, share or report: the note row alone, in one
    query (``note_get_visible`` also joins its author, cover and product, with the viewer's flags);
    404 otherwise."""
    note = Note.objects.visible_to(viewer).filter(pk=note_id).first()
    if note is None:
        raise NotFound("No such note.")
    return note


def note_get_for_author(*, note_id: int, author) -> Note:
    """The author's own note (any status but deleted); 404 for everyone else."""
    note = Note.objects.filter(pk=note_id, author=author, deleted_at__isnull=True).first()
    if note is None:
        raise NotFound("No such note.")
    return note


def notes_by_author(*, author: User, viewer) -> QuerySet:
    """A profile's notes tab: what the viewer may see, newest first (by id)."""
    return notes_for_cards(viewer).filter(author=author)


def notes_planting(*, product: Product, viewer) -> QuerySet:
    """ "Grass planted by": the first ``PLANTED_BY_LIMIT`` notes the viewer may see that tag
    ``product``, most engaging (likes, collects, comments) first."""
    return (
        notes_for_cards(viewer)
        .filter(product_tags__product=product)
        .annotate(engagement=F("like_count") + F("collect_count") + F("comment_count"))
        .order_by("-engagement", "-id")[:PLANTED_BY_LIMIT]
    )


def reviews_of_product(*, product: Product, viewer) -> QuerySet:
    """The review notes of ``product`` the viewer may see: verified purchases first, then newest."""
    return (
        notes_for_cards(viewer)
        .filter(product=product, rating__isnull=False)
        .order_by("-is_verified_purchase", "-id")
    )


def topic_get(*, name: str) -> Topic:
    topic = Topic.objects.filter(name=name, is_suppressed=False).first()
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
