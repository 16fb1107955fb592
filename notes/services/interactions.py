"""Likes, collects and shares: idempotent toggles with exact denormalised counters.

Each toggle inserts or deletes the row first and only moves counters when that changed something,
so repeats and concurrent duplicates (settled by the unique constraints) count once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.choices import NotificationVerb
from accounts.models import User
from accounts.services import notify_after_commit
from config.errors import NotFound
from notes.models import Board, Note, NoteCollect, NoteLike, NoteShare

DEFAULT_BOARD_NAME = "默认专辑"


@dataclass(frozen=True)
class ToggleResult:
    active: bool
    changed: bool
    count: int


def _insert(model, **fields) -> bool:
    try:
        with transaction.atomic():
            model.objects.create(**fields)
    except IntegrityError:
        return False
    return True


def _count(note: Note, field: str) -> int:
    return Note.objects.values_list(field, flat=True).get(pk=note.pk)


def _notify(note: Note, actor: User, verb: str) -> None:
    notify_after_commit(
        recipient_id=note.author_id, actor_id=actor.pk, verb=verb, target_type="note", target_id=note.pk
    )


def _bump_engagement(note: Note, field: str, delta: int) -> None:
    Note.objects.filter(pk=note.pk).update(**{field: F(field) + delta})
    User.objects.filter(pk=note.author_id).update(like_collect_count=F("like_collect_count") + delta)


@transaction.atomic
def note_like(*, note: Note, user: User) -> ToggleResult:
    """Liking twice leaves one row and one increment."""
    created = _insert(NoteLike, note=note, user=user)
    if created:
        _bump_engagement(note, "like_count", 1)
        _notify(note, user, NotificationVerb.LIKE)
    return ToggleResult(active=True, changed=created, count=_count(note, "like_count"))


@transaction.atomic
def note_unlike(*, note: Note, user: User) -> ToggleResult:
    deleted, _ = NoteLike.objects.filter(note=note, user=user).delete()
    if deleted:
        _bump_engagement(note, "like_count", -1)
    return ToggleResult(active=False, changed=bool(deleted), count=_count(note, "like_count"))


def board_default(*, user: User) -> Board:
    """The user's default board, created on first use (the partial unique index settles races).

    Should a board with the default name exist already (made before the name was reserved, or by
    hand), it becomes the default rather than clashing with it.
    """
    board = Board.objects.filter(owner=user, is_default=True).first()
    if board is None:
        try:
            with transaction.atomic():
                board = Board.objects.create(owner=user, name=DEFAULT_BOARD_NAME, is_default=True)
        except IntegrityError:
            board = Board.objects.filter(owner=user, is_default=True).first()
            if board is None:
                Board.objects.filter(owner=user, name=DEFAULT_BOARD_NAME).update(is_default=True)
                board = Board.objects.get(owner=user, is_default=True)
    return board


@transaction.atomic
def note_collect(*, note: Note, user: User, board: Board | None = None) -> ToggleResult:
    """Collect into ``board`` (default board when omitted). Collecting again into another board
    moves the note there; counts on the note change only on the first collect."""
    if board is not None and board.owner_id != user.pk:
        raise NotFound("No such board.")
    board = board or board_default(user=user)
    created = _insert(NoteCollect, note=note, user=user, board=board)
    if created:
        _bump_engagement(note, "collect_count", 1)
        Board.objects.filter(pk=board.pk).update(note_count=F("note_count") + 1)
        _notify(note, user, NotificationVerb.COLLECT)
        changed = True
    else:
        collect = NoteCollect.objects.select_for_update().get(note=note, user=user)
        changed = collect.board_id != board.pk
        if changed:
            Board.objects.filter(pk=collect.board_id).update(note_count=F("note_count") - 1)
            Board.objects.filter(pk=board.pk).update(note_count=F("note_count") + 1)
            collect.board = board
            collect.save(update_fields=["board"])
    return ToggleResult(active=True, changed=changed, count=_count(note, "collect_count"))


@transaction.atomic
def note_uncollect(*, note: Note, user: User) -> ToggleResult:
    collect = NoteCollect.objects.select_for_update().filter(note=note, user=user).first()
    if collect is not None:
        collect.delete()
        _bump_engagement(note, "collect_count", -1)
        Board.objects.filter(pk=collect.board_id).update(note_count=F("note_count") - 1)
    return ToggleResult(active=False, changed=collect is not None, count=_count(note, "collect_count"))


@transaction.atomic
def note_share(*, note: Note, user: User | None, channel: str = "") -> int:
    """Record a share; every share counts (it is an event, not a toggle)."""
    NoteShare.objects.create(note=note, user=user, channel=channel)
    Note.objects.filter(pk=note.pk).update(share_count=F("share_count") + 1)
    return _count(note, "share_count")
