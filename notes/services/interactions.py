"""Likes, collects and shares: idempotent toggles with exact denormalised counters.

Each toggle inserts or deletes the row first and only moves counters when that changed something,
so repeats and concurrent duplicates (settled by the unique constraints) count once.

These run on every like and collect (BENCH.md B5), so the statements are written out rather than
built by the ORM, whose compiling costs more than the round trip: ``INSERT ... ON CONFLICT DO
NOTHING`` tells by its row count whether the row was new without the savepoint that catching an
``IntegrityError`` needs, and ``UPDATE``/``DELETE ... RETURNING`` hand back the new counter and the
deleted row's board without another query. Both forms run on PostgreSQL and SQLite 3.35+. On
PostgreSQL a like or collect toggle is all these steps as one statement (:class:`_Toggle`), the
check that the user may see the note included.

Row locks are taken in the order like or collect row -> note -> note author -> board, as
``notes.services.boards.board_delete`` does, so concurrent toggles and board deletions cannot
deadlock. The hot rows (a popular note and its author) are locked only after the row and its
notification are written, for the last statements of the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.choices import NotificationVerb
from accounts.models import User
from accounts.services import notify, notify_sql
from config.db import execute_statement
from config.errors import Conflict, NotFound
from notes.models import Board, Note, NoteCollect, NoteLike, NoteShare
from notes.selectors import note_get_for_toggle, note_visible_statement

DEFAULT_BOARD_NAME = "默认专辑"


@dataclass(frozen=True)
class ToggleResult:
    active: bool
    changed: bool
    count: int


_LIKES = NoteLike._meta.db_table
_COLLECTS = NoteCollect._meta.db_table
_NOTES = Note._meta.db_table
_USERS = User._meta.db_table
_BOARDS = Board._meta.db_table
#: How often a collect inserts again when the row it ran into was deleted at that moment.
COLLECT_ATTEMPTS = 3
#: The note's counters a toggle or share moves (column names, interpolated into SQL: keep literal).
COUNTERS = frozenset({"like_count", "collect_count", "share_count"})


def _insert_once(table: str, **ids: int) -> bool:
    """Insert a (user, note) row unless there is one; True when this call inserted it. A concurrent
    duplicate waits for the first to commit, then does nothing."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = ", ".join(ids)
    inserted, _ = execute_statement(
        f"INSERT INTO {table} ({columns}, created_at) VALUES ({'%s, ' * len(ids)}%s) "
        "ON CONFLICT (user_id, note_id) DO NOTHING",
        [*ids.values(), now],
    )
    return inserted == 1


def _note_value(row: tuple | None) -> int:
    if row is None:  # the note row is gone (notes are deleted softly; a user's deletion cascades)
        raise NotFound("No such note.")
    return row[0]


def _count(note: Note, field: str) -> int:
    assert field in COUNTERS
    return _note_value(execute_statement(f"SELECT {field} FROM {_NOTES} WHERE id = %s", [note.pk])[1])


def _bump_note(note: Note, field: str, delta: int) -> int:
    """Move the note's counter ``field`` by ``delta``; return its new value."""
    assert field in COUNTERS
    sql = f"UPDATE {_NOTES} SET {field} = {field} + %s WHERE id = %s RETURNING {field}"
    return _note_value(execute_statement(sql, [delta, note.pk])[1])


def _bump_engagement(note: Note, field: str, delta: int) -> int:
    """Move the note's ``field`` and its author's ``like_collect_count`` by ``delta``; return the
    note's new ``field``."""
    count = _bump_note(note, field, delta)
    execute_statement(
        f"UPDATE {_USERS} SET like_collect_count = like_collect_count + %s WHERE id = %s",
        [delta, note.author_id],
    )
    return count


def _bump_board(board_id: int, delta: int) -> bool:
    """Move the board's ``note_count``; False when the board is gone (deleted meanwhile)."""
    updated, _ = execute_statement(
        f"UPDATE {_BOARDS} SET note_count = note_count + %s WHERE id = %s", [delta, board_id]
    )
    return updated == 1


def _notify(note: Note, actor: User, verb: str) -> None:
    notify(recipient_id=note.author_id, actor_id=actor.pk, verb=verb, target_type="note", target_id=note.pk)


@dataclass(frozen=True)
class _Toggle:
    """A like or collect toggle written as one PostgreSQL statement (:func:`_at_once`).

    ``row`` inserts or deletes the (user, note) row (named parameters ``actor``, ``note``, ``now``
    and, for a chosen board, ``board``) and returns it (a collect's with its ``board_id``), only if
    the ``visible`` query (the visibility rule, ``notes.selectors.note_visible_statement``) has a
    row. Only when it changed something do the note's ``field`` move by ``delta``, its author's
    ``like_collect_count`` with it and the board's ``note_count`` (``board``), and the author get a
    ``verb`` notice (``accounts.services``' rule: not for their own action, nor across a block)."""

    row: str
    field: str
    delta: int
    verb: str = ""
    board: bool = False


@lru_cache(maxsize=64)
def _toggle_sql(toggle: _Toggle, visible: str) -> str:
    """``toggle`` as one statement, ``visible`` its visibility query. Each statement of a
    data-modifying ``WITH`` runs once, on one snapshot. The final ``SELECT`` reads ``author``, which
    reads ``note``, whose condition reads ``changed``, so the rows are locked in the module's order
    (row, note, author); statements nobody reads (the notice, the board) run after it. It returns
    the note's new counter (NULL when nothing changed), its counter before the statement and
    whether the user may see the note (the rule reads the same snapshot, so a note it sees has its
    counter)."""
    field, delta = toggle.field, toggle.delta
    assert field in COUNTERS
    parts = [
        f"visible AS ({visible})",
        f"changed AS ({toggle.row})",
        f"note AS (UPDATE {_NOTES} SET {field} = {field} + {delta} "
        f"WHERE id = %(note)s AND EXISTS (SELECT 1 FROM changed) RETURNING {field} AS count, author_id)",
        f"author AS (UPDATE {_USERS} SET like_collect_count = like_collect_count + {delta} "
        f"FROM note WHERE {_USERS}.id = note.author_id RETURNING note.count)",
    ]
    if toggle.verb:
        parts.append(f"notice AS ({notify_sql(recipient='note.author_id', source='FROM note')})")
    if toggle.board:
        parts.append(
            f"board AS (UPDATE {_BOARDS} SET note_count = note_count + {delta} "
            f"FROM changed WHERE {_BOARDS}.id = changed.board_id)"
        )
    return (
        f"WITH {', '.join(parts)} "
        f"SELECT (SELECT count FROM author), (SELECT {field} FROM {_NOTES} WHERE id = %(note)s), "
        "EXISTS (SELECT FROM visible)"
    )


_LIKE = _Toggle(
    f"INSERT INTO {_LIKES} (user_id, note_id, created_at) SELECT %(actor)s, %(note)s, %(now)s FROM visible "
    "ON CONFLICT (user_id, note_id) DO NOTHING RETURNING note_id",
    "like_count",
    1,
    verb=NotificationVerb.LIKE,
)
_UNLIKE = _Toggle(
    f"DELETE FROM {_LIKES} WHERE user_id = %(actor)s AND note_id = %(note)s AND EXISTS (SELECT FROM visible) "
    "RETURNING note_id",
    "like_count",
    -1,
)
_COLLECT_ROW = (
    f"INSERT INTO {_COLLECTS} (user_id, note_id, board_id, created_at) "
    f"SELECT %(actor)s, %(note)s, id, %(now)s FROM {_BOARDS} WHERE owner_id = %(actor)s AND {{board}} "
    "AND EXISTS (SELECT FROM visible) "
    "ON CONFLICT (user_id, note_id) DO NOTHING RETURNING board_id"
)
_COLLECT_INTO = _Toggle(
    _COLLECT_ROW.format(board="id = %(board)s"), "collect_count", 1, verb=NotificationVerb.COLLECT, board=True
)
#: Nothing is inserted while the user has no default board yet: the steps make it.
_COLLECT_DEFAULT = _Toggle(
    _COLLECT_ROW.format(board="is_default"), "collect_count", 1, verb=NotificationVerb.COLLECT, board=True
)
_UNCOLLECT = _Toggle(
    f"DELETE FROM {_COLLECTS} WHERE user_id = %(actor)s AND note_id = %(note)s "
    "AND EXISTS (SELECT FROM visible) RETURNING board_id",
    "collect_count",
    -1,
    board=True,
)


def _at_once_here() -> bool:
    """Whether toggles are one statement here: PostgreSQL (SQLite has no data-modifying ``WITH``;
    there they are the same steps in one transaction).

    One statement commits on its own, so it saves the round trips of ``BEGIN``, ``COMMIT`` and each
    step, and a popular note's row is locked only while the server finishes the statement, never
    while the app sends the next one (BENCH.md B5: 8 writers on one note)."""
    return connection.vendor == "postgresql"


def _at_once(toggle: _Toggle, note: Note, user: User, **params) -> ToggleResult:
    """Run ``toggle`` for ``user`` on ``note``; ``params`` are the row statement's others."""
    visible, params_visible = note_visible_statement(note_id=note.pk, viewer=user)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params |= params_visible | {"actor": user.pk, "note": note.pk, "now": now}
    if toggle.verb:
        params |= {"verb": toggle.verb, "target_type": "note", "target_id": note.pk}
    try:
        _, (count, before, seen) = execute_statement(_toggle_sql(toggle, visible), params)
    except IntegrityError as error:  # the note (or the user) was deleted after the statement's snapshot
        raise NotFound("No such note.") from error
    if not seen:
        raise NotFound("No such note.")
    changed = count is not None
    return ToggleResult(active=toggle.delta > 0, changed=changed, count=count if changed else before)


def note_like(*, note: Note, user: User) -> ToggleResult:
    """Liking twice leaves one row and one increment. ``note`` needs only ``pk``
    (``notes.selectors.note_ref``): ``NotFound`` unless ``user`` may see it, which each toggle
    checks itself (on PostgreSQL in its one statement)."""
    if _at_once_here():
        return _at_once(_LIKE, note, user)
    return _like_in_steps(note=note, user=user)


@transaction.atomic
def _like_in_steps(*, note: Note, user: User) -> ToggleResult:
    note = note_get_for_toggle(note_id=note.pk, viewer=user)
    created = _insert_once(_LIKES, note_id=note.pk, user_id=user.pk)
    if created:
        _notify(note, user, NotificationVerb.LIKE)
        count = _bump_engagement(note, "like_count", 1)
    else:
        count = _count(note, "like_count")
    return ToggleResult(active=True, changed=created, count=count)


def note_unlike(*, note: Note, user: User) -> ToggleResult:
    if _at_once_here():
        return _at_once(_UNLIKE, note, user)
    return _unlike_in_steps(note=note, user=user)


@transaction.atomic
def _unlike_in_steps(*, note: Note, user: User) -> ToggleResult:
    note = note_get_for_toggle(note_id=note.pk, viewer=user)
    deleted, _ = execute_statement(
        f"DELETE FROM {_LIKES} WHERE user_id = %s AND note_id = %s", [user.pk, note.pk]
    )
    count = _bump_engagement(note, "like_count", -1) if deleted else _count(note, "like_count")
    return ToggleResult(active=False, changed=bool(deleted), count=count)


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


def _default_board_id(user: User) -> int:
    """:func:`board_default`'s id: one small query once the board exists."""
    _, row = execute_statement(f"SELECT id FROM {_BOARDS} WHERE owner_id = %s AND is_default", [user.pk])
    return row[0] if row is not None else board_default(user=user).pk


def note_collect(*, note: Note, user: User, board: Board | None = None) -> ToggleResult:
    """Collect into ``board`` (default board when omitted). Collecting again into another board
    moves the note there; counts on the note change only on the first collect. ``note`` needs only
    ``pk``, as for :func:`note_like`."""
    if board is not None and board.owner_id != user.pk:
        raise NotFound("No such board.")
    if _at_once_here():
        # A new collect into a board that exists is one statement; a move (the note is collected
        # already) or a first default board takes the steps.
        toggle = _COLLECT_INTO if board is not None else _COLLECT_DEFAULT
        result = _at_once(toggle, note, user, board=board.pk if board is not None else None)
        if result.changed:
            return result
    return _collect_in_steps(note=note, user=user, board=board)


def _board_gone() -> NotFound:
    """The board chosen was deleted after the view found it (``board_delete`` held its row while
    this waited): nothing is written into it, as its foreign key would refuse at commit."""
    return NotFound("No such board.")


@transaction.atomic
def _collect_in_steps(*, note: Note, user: User, board: Board | None) -> ToggleResult:
    note = note_get_for_toggle(note_id=note.pk, viewer=user)
    board_id = board.pk if board is not None else _default_board_id(user)
    for _ in range(COLLECT_ATTEMPTS):
        if _insert_once(_COLLECTS, note_id=note.pk, user_id=user.pk, board_id=board_id):
            _notify(note, user, NotificationVerb.COLLECT)
            count = _bump_engagement(note, "collect_count", 1)
            if not _bump_board(board_id, 1):
                raise _board_gone()
            return ToggleResult(active=True, changed=True, count=count)
        # ``DO NOTHING`` takes no lock: the row it met may be gone by now (an uncollect, or its board
        # deleted, committed in between). Then the note is not collected any more: insert again.
        collect = NoteCollect.objects.select_for_update().filter(note_id=note.pk, user=user).first()
        if collect is not None:
            break
    else:
        raise Conflict("The note was collected and uncollected at the same time; try again.")
    changed = collect.board_id != board_id
    if changed:
        # Both boards in primary-key order: moves the other way at the same moment would otherwise
        # wait on each other in a cycle.
        for moved_board_id, delta in sorted([(collect.board_id, -1), (board_id, 1)]):
            if not _bump_board(moved_board_id, delta) and delta > 0:
                raise _board_gone()
        collect.board_id = board_id
        collect.save(update_fields=["board"])
    return ToggleResult(active=True, changed=changed, count=_count(note, "collect_count"))


def note_uncollect(*, note: Note, user: User) -> ToggleResult:
    if _at_once_here():
        return _at_once(_UNCOLLECT, note, user)
    return _uncollect_in_steps(note=note, user=user)


@transaction.atomic
def _uncollect_in_steps(*, note: Note, user: User) -> ToggleResult:
    note = note_get_for_toggle(note_id=note.pk, viewer=user)
    _, row = execute_statement(
        f"DELETE FROM {_COLLECTS} WHERE user_id = %s AND note_id = %s RETURNING board_id", [user.pk, note.pk]
    )
    if row is None:
        return ToggleResult(active=False, changed=False, count=_count(note, "collect_count"))
    count = _bump_engagement(note, "collect_count", -1)
    _bump_board(row[0], -1)
    return ToggleResult(active=False, changed=True, count=count)


@transaction.atomic
def note_share(*, note: Note, user: User | None, channel: str = "") -> int:
    """Record a share; every share counts (it is an event, not a toggle)."""
    NoteShare.objects.create(note=note, user=user, channel=channel)
    return _bump_note(note, "share_count", 1)
