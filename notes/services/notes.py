"""Writing notes: create, edit, publish (now, scheduled, or once media are ready), hide, delete.

Counters count *live* notes (published, not deleted, not hidden): ``User.note_count`` all of them,
``User.public_note_count`` and ``User.followers_note_count`` those of each audience (a profile
shows each viewer what they may read), ``Topic.note_count`` the public ones (a topic that only
private or followers-only notes use stays unlisted: ``Topic.objects.listed``). Every change of
state goes through :func:`_set_live`, which moves them; an edit, which may change a note's topics
or audience, takes it out of its old topics, counts it in its new ones and moves the author's
counters by what changed (:func:`_count_author`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.choices import Audience, NotificationVerb
from accounts.models import Follow, User
from accounts.services import notify
from config.errors import Conflict, Forbidden, InvalidInput, NotFound
from notes import signals
from notes.choices import MediaKind, MediaStatus, NoteStatus, PublishAction, Visibility
from notes.models import (
    Board,
    Media,
    Note,
    NoteMedia,
    NoteMention,
    NoteProduct,
    NoteRevision,
    NoteTopic,
    Topic,
)
from notes.selectors import note_visible_to_user
from notes.text import parse_mentions, parse_topics
from shop import selectors as shop_selectors
from shop.models import Product
from shop.services import reviews as shop_reviews

COORD_STEP = Decimal("0.001")  # ~100 m: places are shown, homes are not pinpointed


@dataclass(frozen=True)
class Place:
    name: str = ""
    city: str = ""
    lat: float | None = None
    lng: float | None = None


#: The author's counter of each audience besides ``note_count`` (private notes have none).
_AUDIENCE_COUNTS = {Visibility.PUBLIC: "public_note_count", Visibility.FOLLOWERS: "followers_note_count"}


def _counted_by_author(live: bool, visibility: str) -> set[str]:
    """The author's counters that count a note that is ``live`` (or not) for ``visibility``."""
    if not live:
        return set()
    return {"note_count", _AUDIENCE_COUNTS[visibility]} if visibility in _AUDIENCE_COUNTS else {"note_count"}


def _count_author(note: Note, live_before: bool, visibility_before: str) -> None:
    """Move the author's counters from what ``note`` counted in before to what it counts in now;
    an edit that changes neither its state nor its audience writes nothing."""
    before = _counted_by_author(live_before, visibility_before)
    now = _counted_by_author(note.is_live, note.visibility)
    moves = {field: F(field) - 1 for field in before - now} | {field: F(field) + 1 for field in now - before}
    if moves:
        User.objects.filter(pk=note.author_id).update(**moves)


def _count_topics(note: Note, delta: int) -> None:
    """Move the counters of ``note``'s topics now (they count public live notes)."""
    Topic.objects.filter(notetopic__note=note).update(note_count=F("note_count") + delta)


def _set_live(note: Note, live_before: bool, *, counted: bool = False) -> None:
    """Settle a change of state of ``note`` (it is saved already): its counters (unless the caller
    ``counted`` it), its mentions and the feeds."""
    live_now = note.is_live
    if live_before == live_now:
        return
    if not counted:
        _count_author(note, live_before, note.visibility)
        if note.visibility == Visibility.PUBLIC:
            _count_topics(note, 1 if live_now else -1)
    if live_now:
        _notify_mentions(note)
    note_id, author_id = note.pk, note.author_id
    transaction.on_commit(
        lambda: signals.note_live_changed.send(
            sender=Note, note_id=note_id, author_id=author_id, live=live_now
        )
    )


def _notify_mentions(note: Note) -> None:
    """Tell the people @mentioned in a live note who may see it: a private or followers-only note
    tells nobody else that it exists. ``notify`` drops repeats, so this runs after every change
    that leaves a note live: a mention added by an edit, or an edit that opens the note to more
    readers, tells those who can see it now, and nobody twice."""
    mentioned = User.objects.filter(notemention__note=note).only("pk")
    for user in mentioned:
        if not note_visible_to_user(note_id=note.pk, user=user):
            continue
        notify(
            recipient_id=user.pk,
            actor_id=note.author_id,
            verb=NotificationVerb.MENTION,
            target_type="note",
            target_id=note.pk,
        )


def _round(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(COORD_STEP, rounding=ROUND_HALF_UP)


def _owned_media(*, author: User, media_ids: list[int]) -> list[Media]:
    """The author's media in the order given, checked against the per-note rules."""
    if not media_ids:
        raise InvalidInput("A note needs at least one image or a video.", fields={"media": ["Required."]})
    if len(set(media_ids)) != len(media_ids):
        raise InvalidInput("The same medium is listed twice.", fields={"media": ["Duplicates."]})
    found = Media.objects.filter(owner=author, pk__in=media_ids).in_bulk()
    missing = [pk for pk in media_ids if pk not in found]
    if missing:
        raise InvalidInput("Unknown media.", fields={"media": [f"No medium {pk}." for pk in missing]})
    media = [found[pk] for pk in media_ids]
    if any(m.status == MediaStatus.FAILED for m in media):
        raise InvalidInput("A medium failed processing.", code="media_failed", fields={"media": ["Failed."]})
    videos = [m for m in media if m.kind == MediaKind.VIDEO]
    if videos and len(media) > 1:
        raise InvalidInput("A video note has exactly one video.", fields={"media": ["One video only."]})
    if len(media) > settings.NOTE_MAX_IMAGES:
        raise InvalidInput(
            f"At most {settings.NOTE_MAX_IMAGES} images per note.",
            code="too_many_files",
            fields={"media": ["Too many."]},
        )
    return media


def _set_media(note: Note, media: list[Media], cover_id: int | None) -> None:
    if cover_id is not None and cover_id not in {m.pk for m in media}:
        raise InvalidInput("The cover must be one of the note's media.", fields={"cover": ["Not in media."]})
    NoteMedia.objects.filter(note=note).delete()
    NoteMedia.objects.bulk_create(NoteMedia(note=note, media=m, position=i) for i, m in enumerate(media))
    note.kind = media[0].kind
    note.cover_id = cover_id or media[0].pk


def _topics_for(names: list[str]) -> list[Topic]:
    existing = {t.name: t for t in Topic.objects.filter(name__in=names)}
    for name in names:
        if name not in existing:
            try:
                with transaction.atomic():
                    existing[name] = Topic.objects.create(name=name)
            except IntegrityError:  # created concurrently
                existing[name] = Topic.objects.get(name=name)
    return [existing[name] for name in names]


def _may_mention(author: User, user: User) -> bool:
    if user.pk == author.pk or user.mention_permission == Audience.NOBODY:
        return False
    if user.mention_permission == Audience.FOLLOWERS:
        return Follow.objects.filter(follower=author, followee=user).exists()
    return True


def _set_text_links(note: Note) -> None:
    """Re-derive topics and mentions from title and body (counters handled by the caller)."""
    topics = _topics_for(parse_topics(note.title, note.body))
    NoteTopic.objects.filter(note=note).delete()
    NoteTopic.objects.bulk_create(NoteTopic(note=note, topic=t) for t in topics)
    usernames = parse_mentions(note.title, note.body)
    candidates = User.objects.visible_to(note.author).filter(username__in=usernames) if usernames else []
    mentioned = [u for u in candidates if _may_mention(note.author, u)]
    NoteMention.objects.filter(note=note).delete()
    NoteMention.objects.bulk_create(NoteMention(note=note, user=u) for u in mentioned)


def _review(product_id: int | None, rating: int | None):
    """A review is a note with a product and a 1-5 rating: both or neither. Returns the product."""
    if (product_id is None) != (rating is None):
        raise InvalidInput(
            "A review needs both a product and a rating.",
            fields={"rating" if rating is None else "product": ["Required for a review."]},
        )
    return shop_selectors.product_get_reviewable(product_id=product_id) if product_id else None


def _set_product_tags(note: Note, product_ids: list[int]) -> None:
    products = shop_selectors.products_taggable(product_ids=product_ids)
    before = set(NoteProduct.objects.filter(note=note).values_list("product_id", flat=True))
    NoteProduct.objects.filter(note=note).delete()
    NoteProduct.objects.bulk_create(
        NoteProduct(note=note, product=p, position=i) for i, p in enumerate(products)
    )
    after = {p.pk for p in products}
    if before - after:
        Product.objects.filter(pk__in=before - after).update(note_count=F("note_count") - 1)
    if after - before:
        Product.objects.filter(pk__in=after - before).update(note_count=F("note_count") + 1)


def _apply_action(note: Note, action: str, publish_at: datetime | None, now: datetime) -> None:
    """Set status for the author's requested action, given the media's state."""
    if action == PublishAction.DRAFT:
        note.status, note.publish_at = NoteStatus.DRAFT, None
    elif action == PublishAction.SCHEDULE:
        if publish_at is None or publish_at <= now:
            raise InvalidInput("Schedule a time in the future.", fields={"publish_at": ["Must be future."]})
        note.status, note.publish_at = NoteStatus.SCHEDULED, publish_at
    else:
        note.publish_at = None
        _publish_if_ready(note, now)


def _publish_if_ready(note: Note, now: datetime) -> None:
    ready = not note.note_media.exclude(media__status=MediaStatus.READY).exists()
    if ready:
        note.status = NoteStatus.PUBLISHED
        note.published_at = note.published_at or now
    else:
        note.status = NoteStatus.PROCESSING
        _settle_after_commit(note.pk)


def _settle_after_commit(note_id: int) -> None:
    """Look at a note left waiting for its media once more, after its transaction commits.

    ``notes.services.media`` settles the notes waiting for a medium when its processing ends, but a
    note that read the medium as pending while that processing was finishing, and committed after
    the processing looked for waiting notes, would wait for ever. Whichever commits last sees the
    other: if every medium is settled when this runs, this settles the note; if one is still
    pending, its processing commits later and looks again after its commit, when this note is
    committed."""

    def settle() -> None:
        media_ids = list(NoteMedia.objects.filter(note_id=note_id).values_list("media_id", flat=True))
        if media_ids and not Media.objects.filter(pk__in=media_ids, status=MediaStatus.PENDING).exists():
            notes_media_settled(media_id=media_ids[0])

    transaction.on_commit(settle)


@transaction.atomic
def note_create(
    *,
    author: User,
    media_ids: list[int],
    title: str = "",
    body: str = "",
    cover_id: int | None = None,
    category: str = "",
    visibility: str = "public",
    action: str = PublishAction.PUBLISH,
    publish_at: datetime | None = None,
    place: Place | None = None,
    ai_assisted: bool = False,
    product_id: int | None = None,
    rating: int | None = None,
    product_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Note:
    """Create a note; publishing waits for its media (status ``processing``) when needed.

    ``product_id`` + ``rating`` make it a review; ``product_ids`` tag shop products on it.
    """
    now = now or timezone.now()
    media = _owned_media(author=author, media_ids=media_ids)
    place = place or Place()
    note = Note.objects.create(
        product=_review(product_id, rating),
        rating=rating,
        author=author,
        title=title,
        body=body,
        category=category,
        visibility=visibility,
        ai_assisted=ai_assisted,
        place_name=place.name,
        place_city=place.city,
        lat=_round(place.lat),
        lng=_round(place.lng),
    )
    _set_media(note, media, cover_id)
    _set_product_tags(note, product_ids or [])
    _set_text_links(note)
    _apply_action(note, action, publish_at, now)
    note.save()
    if note.product_id:
        shop_reviews.review_verify(note=note)
    _set_live(note, live_before=False)
    return note


EDITABLE = {"title", "body", "category", "visibility", "ai_assisted"}


@transaction.atomic
def note_update(
    *,
    note: Note,
    editor: User,
    data: dict,
    media_ids: list[int] | None = None,
    cover_id: int | None = None,
    place: Place | None = None,
    action: str | None = None,
    publish_at: datetime | None = None,
    review: tuple[int | None, int | None] | None = None,
    product_ids: list[int] | None = None,
    now: datetime | None = None,
) -> Note:
    """Edit a note. Title/body edits keep the previous text as a revision.

    ``review`` is ``(product_id, rating)`` to set or ``(None, None)`` to stop being a review;
    ``product_ids`` replaces the tagged products. ``None`` leaves either as it is.
    """
    if editor.pk != note.author_id:
        raise Forbidden("Only the author can edit a note.")
    now = now or timezone.now()
    if review is not None:  # the badge may move: products first, then the note (the shop's lock order)
        shop_reviews.reviews_lock_products(note.product_id, review[0])
    note = Note.objects.select_for_update().get(pk=note.pk)
    if note.deleted_at is not None:  # deleted after the caller found it
        raise NotFound("No such note.")
    if note.status == NoteStatus.HIDDEN:
        raise Conflict("This note was hidden by moderation.", code="note_hidden")
    live_before, visibility_before = note.is_live, note.visibility
    if live_before and visibility_before == Visibility.PUBLIC:  # out of its topics; back in below
        _count_topics(note, -1)
    text_changed = any(k in data and data[k] != getattr(note, k) for k in ("title", "body"))
    if text_changed:
        NoteRevision.objects.create(note=note, title=note.title, body=note.body)
    for key, value in data.items():
        if key not in EDITABLE:
            raise InvalidInput("This field cannot be changed.", fields={key: ["Read-only."]})
        setattr(note, key, value)
    if media_ids is not None:
        _set_media(note, _owned_media(author=editor, media_ids=media_ids), cover_id)
    elif cover_id is not None:
        _set_media(note, [nm.media for nm in note.note_media.select_related("media")], cover_id)
    reviewed_before = note.product_id
    if review is not None:
        product_id, note.rating = review
        note.product = _review(product_id, note.rating)
    if product_ids is not None:
        _set_product_tags(note, product_ids)
    if place is not None:
        note.place_name, note.place_city = place.name, place.city
        note.lat, note.lng = _round(place.lat), _round(place.lng)
    _set_text_links(note)
    if action is not None:
        _apply_action(note, action, publish_at, now)
    note.save()
    if note.product_id != reviewed_before:  # the shop's badge was for the product it checked
        shop_reviews.review_verify(note=note, left_product_id=reviewed_before)
    if note.is_live and note.visibility == Visibility.PUBLIC:  # its topics now
        _count_topics(note, 1)
    _count_author(note, live_before, visibility_before)
    _set_live(note, live_before, counted=True)
    if live_before and note.is_live:
        _notify_mentions(note)
        transaction.on_commit(lambda: signals.note_edited.send(sender=Note, note_id=note.pk))
    return note


@transaction.atomic
def note_delete(*, note: Note, user: User) -> None:
    """Soft-delete; the note disappears everywhere, its rows stay for integrity."""
    if user.pk != note.author_id:
        raise Forbidden("Only the author can delete a note.")
    shop_reviews.reviews_lock_products(note.product_id)  # the shop's lock order: product, then note
    note = Note.objects.select_for_update().get(pk=note.pk)
    if note.deleted_at is not None:
        return
    live_before = note.is_live
    note.deleted_at = timezone.now()
    note.save(update_fields=["deleted_at", "updated_at"])
    if note.product_id:  # its purchase may verify another review
        shop_reviews.review_verify(note=note)
    Board.objects.filter(collects__note=note).update(note_count=F("note_count") - 1)
    _set_live(note, live_before)


@transaction.atomic
def note_moderate(*, note: Note, hide: bool) -> Note:
    """Hide a note (moderation) or restore it to published."""
    note = Note.objects.select_for_update().get(pk=note.pk)
    live_before = note.is_live
    if hide:
        note.status = NoteStatus.HIDDEN
    elif note.status == NoteStatus.HIDDEN:
        note.status = NoteStatus.PUBLISHED
        note.published_at = note.published_at or timezone.now()
    note.save(update_fields=["status", "published_at", "updated_at"])
    _set_live(note, live_before)
    return note


@transaction.atomic
def notes_publish_due(*, now: datetime | None = None) -> int:
    """Publish scheduled notes whose time has come (Celery beat). Safe to run concurrently."""
    now = now or timezone.now()
    due = Note.objects.select_for_update(skip_locked=True).filter(
        status=NoteStatus.SCHEDULED, publish_at__lte=now, deleted_at__isnull=True
    )
    count = 0
    for note in due:
        _publish_if_ready(note, now)
        note.save(update_fields=["status", "published_at", "updated_at"])
        _set_live(note, live_before=False)
        count += 1
    return count


def notes_media_settled(*, media_id: int) -> None:
    """Called when a medium finished processing: notes waiting for it publish, or fall back to
    draft when it failed (the author then replaces it)."""
    with transaction.atomic():
        waiting = Note.objects.select_for_update().filter(
            status=NoteStatus.PROCESSING, note_media__media_id=media_id, deleted_at__isnull=True
        )
        now = timezone.now()
        for note in waiting:
            if note.note_media.filter(media__status=MediaStatus.FAILED).exists():
                note.status = NoteStatus.DRAFT
            else:
                _publish_if_ready(note, now)
            note.save(update_fields=["status", "published_at", "updated_at"])
            _set_live(note, live_before=False)
