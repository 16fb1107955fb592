"""Reads for comments, boards and collects, shaped for the endpoints that use them.

Visibility always starts from ``Note.objects.visible_to`` and ``User.objects.visible_to``; on top of
that, comments by someone the viewer blocked (or who blocked the viewer) are hidden, together with
the replies under such a person's root comment.

Deleted comments: a deleted root with live replies is listed as a placeholder (the API shows no
body and no author) so its thread stays readable; a deleted root without live replies, and every
deleted reply, is left out.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from accounts.models import Block, Follow, FollowRequest, User
from accounts.selectors import USER_SUMMARY_COLUMNS, user_can_see_connections, viewer_from_id, viewer_id_of
from config.db import KeysetQuery, KeysetRows, PreparedQuery, concrete_columns, instance_from_row, prefixed
from config.errors import Forbidden, NotFound
from notes.models import Board, Comment, CommentLike, Media, Note, NoteCollect, NoteLike
from notes.selectors import CARD_COLUMNS

REPLY_PREVIEW = 3
AUTHOR_FLAGS = ("viewer_is_following", "viewer_is_followed_by", "viewer_has_requested")


def _authenticated(viewer) -> bool:
    return viewer is not None and viewer.is_authenticated


def _blocked_with(viewer, ref: str) -> Exists:
    return Exists(Block.objects.between(viewer, ref))


def _comments(viewer) -> QuerySet:
    """Comments by active authors not blocked with ``viewer``, with the viewer's like and the
    viewer's relationship to the author annotated (``author_<flag>``, shown on the comment's
    author by ``CommentOut``)."""
    qs = Comment.objects.filter(author__is_active=True).select_related("author", "reply_to")
    if not _authenticated(viewer):
        return qs
    return qs.exclude(_blocked_with(viewer, "author")).annotate(
        viewer_liked=Exists(CommentLike.objects.filter(comment=OuterRef("pk"), user=viewer)),
        author_viewer_is_following=Exists(
            Follow.objects.filter(follower=viewer, followee=OuterRef("author"))
        ),
        author_viewer_is_followed_by=Exists(
            Follow.objects.filter(follower=OuterRef("author"), followee=viewer)
        ),
        author_viewer_has_requested=Exists(
            FollowRequest.objects.filter(requester=viewer, target=OuterRef("author"))
        ),
    )


def _with_reply_preview(qs: QuerySet, viewer) -> QuerySet:
    """Prefetch each root's first live replies (oldest first) into ``reply_preview``: one query
    for the whole page, sliced per root by a window function."""
    replies = _comments(viewer).filter(deleted_at__isnull=True).order_by("id")[:REPLY_PREVIEW]
    return qs.prefetch_related(Prefetch("replies", queryset=replies, to_attr="reply_preview"))


def note_for_comments(*, note_id: int, viewer, live: bool = False) -> Note:
    """The note whose comments are read or written; 404 unless ``viewer`` may see it (and, with
    ``live``, unless it is published and not deleted: an author sees their drafts, but nobody
    comments on one).

    Lighter than ``notes.selectors.note_get_visible``: the comment endpoints need the note's author
    and pinned comment, not its media, topics and mentions. One query, compiled once.
    """
    rows = _NOTE_WITH_AUTHOR.rows(viewer_id_of(viewer), note_id, live=live)
    if not rows:
        raise NotFound("No such note.")
    note = instance_from_row(Note, rows[0])
    note.author = instance_from_row(User, rows[0], "author__")
    return note


def _note_with_author(viewer_id: int | None, note_id: int, *, live: bool) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    notes = (Note.objects.live() if live else Note.objects).visible_to(viewer).filter(pk=note_id)
    return notes.values(*concrete_columns(Note), *concrete_columns(User, "author__"))


_NOTE_WITH_AUTHOR = PreparedQuery(_note_with_author)


#: A comment's columns as ``CommentOut`` shows them (with its author's and the answered user's).
COMMENT_COLUMNS = (
    "id",
    "note_id",
    "parent_id",
    "body",
    "deleted_at",
    "like_count",
    "reply_count",
    "created_at",
    "reply_to__username",
    *prefixed("author__", USER_SUMMARY_COLUMNS),
)
COMMENT_FLAGS = ("viewer_liked", *(f"author_{flag}" for flag in AUTHOR_FLAGS))


def _comment_values(viewer_id: int | None, **filters) -> QuerySet:
    """Rows of :data:`COMMENT_COLUMNS` (and the viewer's flags) of :func:`_comments`."""
    viewer = viewer_from_id(viewer_id)
    return _comments(viewer).filter(**filters).values(*COMMENT_COLUMNS, *(COMMENT_FLAGS if viewer else ()))


def _root_values(viewer_id: int | None, note_id: int, pinned_id: int | None) -> QuerySet:
    roots = _comment_values(viewer_id, note_id=note_id, parent__isnull=True).filter(
        Q(deleted_at__isnull=True) | Q(reply_count__gt=0)
    )
    return roots.exclude(pk=pinned_id) if pinned_id is not None else roots


def _preview_values(viewer_id: int | None, root_ids: list[int]) -> QuerySet:
    first = Window(RowNumber(), partition_by=[F("parent_id")], order_by=F("id").asc())
    return (
        _comment_values(viewer_id, parent_id__in=root_ids, deleted_at__isnull=True)
        .annotate(position=first)
        .filter(position__lte=REPLY_PREVIEW)
        .order_by("id")
    )


_ROOTS = KeysetQuery(_root_values)
_PREVIEWS = PreparedQuery(_preview_values)


def comments_for_note(*, note: Note, viewer) -> KeysetRows:
    """Root comments of ``note`` for the list, as rows for keyset pages (newest first, ``-id``):
    live ones and placeholders of deleted ones that still have live replies, minus the pinned
    comment (listed apart, see :func:`comment_pinned`). Then :func:`comments_attach_replies`."""
    return _ROOTS.rows(viewer_id_of(viewer), note.pk, note.pinned_comment_id)


def comments_attach_replies(rows: list[dict], *, viewer) -> list[dict]:
    """Put each root's first live replies (oldest first) in ``reply_preview``: one query for the
    page, cut per root by a window function."""
    replies: dict[int, list[dict]] = {row["id"]: [] for row in rows}
    if replies:
        for reply in _PREVIEWS.rows(viewer_id_of(viewer), list(replies)):
            replies[reply["parent_id"]].append(reply)
    for row in rows:
        row["reply_preview"] = replies[row["id"]]
    return rows


def comment_pinned(*, note: Note, viewer) -> Comment | None:
    """The note's pinned comment as ``viewer`` sees it, or None."""
    if not note.pinned_comment_id:
        return None
    qs = _comments(viewer).filter(pk=note.pinned_comment_id, note=note, deleted_at__isnull=True)
    return _with_reply_preview(qs, viewer).first()


def replies_for_comment(*, comment: Comment, viewer) -> QuerySet:
    """Live replies under a root comment. Paginate oldest first (``id``)."""
    return _comments(viewer).filter(parent=comment, deleted_at__isnull=True)


def comment_get_visible(*, comment_id: int, viewer) -> Comment:
    """A comment (deleted ones too, as placeholders) on a note ``viewer`` may see, by an author
    not blocked with them, in a thread whose root author is not blocked with them; 404 otherwise.

    With its author, the person it answers, its note and the note's author loaded, and the viewer's
    flags (``viewer_liked``, ``author_viewer_is_following``...) set, as ``_comments`` annotates
    them. One query, compiled once: built by the ORM each time, it cost ~4 ms of Python and, planned
    anew at every call, ~3 ms of PostgreSQL, for a row every comment write and reply reads."""
    rows = _VISIBLE_COMMENT.rows(viewer_id_of(viewer), comment_id)
    if not rows:
        raise NotFound("No such comment.")
    row = rows[0]
    comment = instance_from_row(Comment, row)
    comment.author = instance_from_row(User, row, "author__")
    comment.reply_to = instance_from_row(User, row, "reply_to__") if comment.reply_to_id else None
    comment.note = instance_from_row(Note, row, "note__")
    comment.note.author = instance_from_row(User, row, "note__author__")
    for flag in COMMENT_FLAGS:
        if flag in row:
            setattr(comment, flag, row[flag])
    return comment


def comment_get_for_delete(*, comment_id: int, user) -> Comment:
    """The comment ``user`` asks to delete: their own, or any on their own note, whether or not they
    may see it (a block hides the two people from each other, but it must not leave one unable to
    take back what they wrote, nor the note's author unable to take down what was written on their
    note); else the comment as :func:`comment_get_visible` finds it, which the service refuses
    (403), or a 404. Comments of deleted notes are a 404. Its note carries only ``author_id``: one
    query, compiled once, for the delete of one's own comment (BENCH.md B5)."""
    rows = _OWNED_COMMENT.rows(user.pk, comment_id) if _authenticated(user) else []
    if not rows:
        return comment_get_visible(comment_id=comment_id, viewer=user)
    comment = instance_from_row(Comment, rows[0])
    comment.note = Note.from_db("default", ["id", "author_id"], [comment.note_id, rows[0]["note__author_id"]])
    return comment


_OWNED_COMMENT = PreparedQuery(
    lambda user_id, comment_id: (
        Comment.objects.filter(Q(author_id=user_id) | Q(note__author_id=user_id))
        .filter(pk=comment_id, note__deleted_at__isnull=True)
        .values(*concrete_columns(Comment), "note__author_id")
    )
)


def _visible_comment(viewer_id: int | None, comment_id: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    qs = _comments(viewer).filter(pk=comment_id, note__in=Note.objects.visible_to(viewer))
    if viewer is not None:
        qs = qs.exclude(Q(parent__isnull=False) & _blocked_with(viewer, "parent__author"))
    return qs.values(
        *concrete_columns(Comment),
        *concrete_columns(User, "author__"),
        *concrete_columns(User, "reply_to__"),
        *concrete_columns(Note, "note__"),
        *concrete_columns(User, "note__author__"),
        *(COMMENT_FLAGS if viewer is not None else ()),
    )


_VISIBLE_COMMENT = PreparedQuery(_visible_comment)


# --- Boards and collects -----------------------------------------------------------------------


def _is_owner(viewer, owner_id: int) -> bool:
    return _authenticated(viewer) and viewer.pk == owner_id


def _boards(viewer) -> QuerySet:
    """Boards with ``cover_media_id``: the cover of the most recently collected note in the board
    that ``viewer`` may see (one subquery, no query per board). See :func:`boards_attach_covers`."""
    latest = (
        NoteCollect.objects.filter(
            board=OuterRef("pk"), note__in=Note.objects.visible_to(viewer), note__cover__isnull=False
        )
        .order_by("-id")
        .values("note__cover")[:1]
    )
    return Board.objects.select_related("owner").annotate(cover_media_id=Subquery(latest))


def boards_attach_covers(boards) -> list[Board]:
    """Set ``board.cover`` (a Media or None) on a page of :func:`_boards` rows in one query."""
    boards = list(boards)
    ids = {b.cover_media_id for b in boards if b.cover_media_id}
    media = Media.objects.in_bulk(ids) if ids else {}
    for board in boards:
        board.cover = media.get(board.cover_media_id)
    return boards


def _require_collects_visible(owner: User, viewer) -> None:
    """Someone else sees ``owner``'s boards and collects only when ``owner`` shows their collects
    (403 ``collects_hidden``: a board is collects, the default board all those collected without
    choosing one) and, for a private account, follows them (403 ``private_account``)."""
    if owner.hide_collects:
        raise Forbidden("This user keeps their collects private.", code="collects_hidden")
    if not user_can_see_connections(user=owner, viewer=viewer):
        raise Forbidden("This account is private.", code="private_account")


def boards_for_user(*, owner: User, viewer) -> QuerySet:
    """``owner``'s boards: all of them for the owner, the public ones for anyone else (403
    ``collects_hidden`` when the owner hides their collects, ``private_account`` for non-followers
    of a private account). Resolve ``owner`` with ``accounts.selectors.user_get_visible`` first (a
    blocked pair is a 404)."""
    qs = _boards(viewer).filter(owner=owner)
    if not _is_owner(viewer, owner.pk):
        _require_collects_visible(owner, viewer)
        qs = qs.filter(is_private=False)
    return qs


def _visible_board(viewer_id: int | None, board_id: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    boards = Board.objects.filter(pk=board_id, owner__in=User.objects.visible_to(viewer))
    return boards.values(*concrete_columns(Board), "owner__is_private", "owner__hide_collects")


_VISIBLE_BOARD = PreparedQuery(_visible_board)


def _board_of_visible_owner(*, board_id: int, viewer) -> Board | None:
    """The board, if its owner is visible to ``viewer``, with ``owner`` loaded enough (id, privacy
    and ``hide_collects``) for :func:`board_get_visible`'s checks: one query, compiled once."""
    rows = _VISIBLE_BOARD.rows(viewer_id_of(viewer), board_id)
    if not rows:
        return None
    row = rows[0]
    board = instance_from_row(Board, row)
    board.owner = User.from_db(
        "default",
        ["id", "is_private", "hide_collects"],
        [board.owner_id, row["owner__is_private"], row["owner__hide_collects"]],
    )
    return board


def board_get_visible(*, board_id: int, viewer, with_cover: bool = True) -> Board:
    """A board ``viewer`` may see: the owner's own, or a public one of a user visible to them who
    shows their collects (and follows them, when the account is private); 404 otherwise, as
    :func:`boards_for_user` would not list it. ``with_cover=False`` skips working out its cover
    (``cover_media_id``), which only the board's own page shows, and loads of its owner only what
    this check needs."""
    if with_cover:
        board = _boards(viewer).filter(pk=board_id, owner__in=User.objects.visible_to(viewer)).first()
    else:
        board = _board_of_visible_owner(board_id=board_id, viewer=viewer)
    if board is not None and _is_owner(viewer, board.owner_id):
        return board
    if (
        board is None
        or board.is_private
        or board.owner.hide_collects
        or not user_can_see_connections(user=board.owner, viewer=viewer)
    ):
        raise NotFound("No such board.")
    return board


def board_get_for_owner(*, board_id: int, owner) -> Board:
    """The owner's own board, for changes; 404 for anyone else, public board or not."""
    board = Board.objects.filter(pk=board_id, owner_id=owner.pk).first() if _authenticated(owner) else None
    if board is None:
        raise NotFound("No such board.")
    return board


def _collect_values(viewer_id: int | None, owner_id: int, *, by: str, public_only: bool) -> QuerySet:
    """Collect rows (``by`` a board or a user) whose note the viewer may see: the collect's id and
    time and the note's card columns (``note__``...) with the viewer's flags, in one query."""
    viewer = viewer_from_id(viewer_id)
    rows = NoteCollect.objects.filter(**{by: owner_id}, note__in=Note.objects.visible_to(viewer))
    if public_only:
        rows = rows.filter(board__is_private=False)
    columns = ["id", "created_at", *(f"note__{column}" for column in CARD_COLUMNS)]
    if viewer is None:
        return rows.values(*columns)
    return rows.annotate(
        viewer_liked=Exists(NoteLike.objects.filter(note=OuterRef("note"), user=viewer)),
        viewer_collected=Exists(NoteCollect.objects.filter(note=OuterRef("note"), user=viewer)),
    ).values(*columns, "viewer_liked", "viewer_collected")


_COLLECTS = KeysetQuery(_collect_values)


def notes_from_collects(rows: list[dict]) -> list[dict]:
    """The note cards (card rows with ``collected_at``) of a page of collect rows."""
    return [
        {
            **{column: row[f"note__{column}"] for column in CARD_COLUMNS},
            "viewer_liked": row.get("viewer_liked", False),
            "viewer_collected": row.get("viewer_collected", False),
            "collected_at": row["created_at"],
        }
        for row in rows
    ]


def board_notes(*, board: Board, viewer) -> KeysetRows:
    """The notes in ``board`` (resolved with :func:`board_get_visible`) that ``viewer`` may see, as
    collect rows for keyset pages (newest collect first), then :func:`notes_from_collects`."""
    return _COLLECTS.rows(viewer_id_of(viewer), board.pk, by="board_id", public_only=False)


def user_collects(*, owner: User, viewer) -> KeysetRows:
    """A profile's collects tab. Hidden entirely (403 ``collects_hidden``) when the owner hides
    collects, or (403 ``private_account``) from non-followers of a private account; for anyone but
    the owner, notes in private boards are left out."""
    is_owner = _is_owner(viewer, owner.pk)
    if not is_owner:
        _require_collects_visible(owner, viewer)
    return _COLLECTS.rows(viewer_id_of(viewer), owner.pk, by="user_id", public_only=not is_owner)
