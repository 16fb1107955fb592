"""Boards (专辑): create, edit and delete a user's collections.

Collecting into a board is ``notes.services.interactions.note_collect``; this module owns the
boards themselves. Names are unique per owner; the default board's name is reserved for it so that
``board_default`` can always create it. Deleting a board removes its collects and moves
``Note.collect_count`` and the note authors' ``User.like_collect_count`` exactly as
``note_uncollect`` would, one collect at a time.
"""

from __future__ import annotations

from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from config.errors import Conflict, InvalidInput, NotFound
from notes.models import Board, Note, NoteCollect
from notes.services.interactions import DEFAULT_BOARD_NAME

BOARD_FIELDS = frozenset({"name", "description", "is_private"})
NAME_MAX = Board._meta.get_field("name").max_length
DESCRIPTION_MAX = Board._meta.get_field("description").max_length


def _require_owner(board: Board, user: User) -> None:
    if board.owner_id != user.pk:
        raise NotFound("No such board.")  # others' boards are never acknowledged


def _clean_name(name: str, *, board: Board | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A board needs a name.", fields={"name": ["This field may not be blank."]})
    if len(name) > NAME_MAX:
        raise InvalidInput(
            f"A board name has at most {NAME_MAX} characters.",
            fields={"name": [f"Ensure this field has no more than {NAME_MAX} characters."]},
        )
    if name == DEFAULT_BOARD_NAME and not (board and board.is_default):
        raise Conflict(
            "This name is kept for your default board.",
            code="board_exists",
            fields={"name": ["Reserved for the default board."]},
        )
    return name


def _name_taken() -> Conflict:
    return Conflict(
        "You already have a board with this name.",
        code="board_exists",
        fields={"name": ["You already have a board with this name."]},
    )


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"A description has at most {DESCRIPTION_MAX} characters.",
            fields={"description": [f"Ensure this field has no more than {DESCRIPTION_MAX} characters."]},
        )
    return description


@transaction.atomic
def board_create(*, owner: User, name: str, description: str = "", is_private: bool = False) -> Board:
    """A new, empty board; a name the owner already uses is a 409 ``board_exists``."""
    name = _clean_name(name)
    try:
        with transaction.atomic():
            return Board.objects.create(
                owner=owner, name=name, description=_clean_description(description), is_private=is_private
            )
    except IntegrityError:  # the per-owner unique name, also when two requests race
        raise _name_taken() from None


@transaction.atomic
def board_update(*, board: Board, user: User, data: dict) -> Board:
    """Rename, describe or make private/public; owner only. Unknown fields are refused."""
    _require_owner(board, user)
    unknown = set(data) - BOARD_FIELDS
    if unknown:
        raise InvalidInput(
            "Some fields cannot be changed here.",
            code="read_only_field",
            fields={name: ["This field cannot be changed."] for name in sorted(unknown)},
        )
    board = Board.objects.select_for_update().get(pk=board.pk)
    if "name" in data:
        board.name = _clean_name(data["name"], board=board)
    if "description" in data:
        board.description = _clean_description(data["description"])
    if "is_private" in data:
        board.is_private = bool(data["is_private"])
    try:
        with transaction.atomic():
            board.save(update_fields=[*sorted(data), "updated_at"])
    except IntegrityError:
        raise _name_taken() from None
    return board


def _release_collects(board: Board) -> int:
    """Delete the board's collects and take them off the counters. Returns how many."""
    rows = list(
        NoteCollect.objects.select_for_update(of=("self",))
        .filter(board=board)
        .order_by("pk")
        .values_list("pk", "note_id", "note__author_id")
    )
    if not rows:
        return 0
    NoteCollect.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    # One collect per (user, note): every note here loses exactly one collect.
    Note.objects.filter(pk__in=[note_id for _, note_id, _ in rows]).update(
        collect_count=F("collect_count") - 1
    )
    per_author = Counter(author_id for _, _, author_id in rows)
    for author_id in sorted(per_author):  # primary-key order, as accounts.services does
        User.objects.filter(pk=author_id).update(
            like_collect_count=F("like_collect_count") - per_author[author_id]
        )
    return len(rows)


@transaction.atomic
def board_delete(*, board: Board, user: User) -> None:
    """Delete a board and its collects; owner only; the default board stays (409 ``default_board``).

    Locking: the collects are locked before the board, the order ``note_uncollect`` uses (collect,
    then its board), so the two cannot deadlock. Holding the board row then blocks new collects into
    it (their foreign-key check needs it), and a second pass releases any that slipped in between.
    """
    _require_owner(board, user)
    if board.is_default:
        raise Conflict("The default board cannot be deleted.", code="default_board")
    _release_collects(board)
    board = Board.objects.select_for_update().filter(pk=board.pk).first()
    if board is None:
        return  # deleted concurrently
    _release_collects(board)
    board.delete()
