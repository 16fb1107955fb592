"""Comments: two-level threads, soft deletion, likes and the note's pinned comment.

Invariants kept here, and only here:

* A reply's ``parent`` is always a root comment; answering a reply files the answer under the same
  root and names the answered person in ``reply_to``.
* ``Note.comment_count`` counts the note's live (not deleted) comments, roots and replies alike;
  ``Comment.reply_count`` counts a root's live replies; ``Comment.like_count`` counts its likes.
  Each moves by a relative ``UPDATE`` (``n = n + 1``) in the transaction that inserts, deletes or
  soft-deletes the row.
* Deleting is soft: a deleted root with live replies stays in the thread as a placeholder.
* ``Note.pinned_comment`` is a live root comment of that note, or null.

Row locks are taken in the order comment -> note -> parent comment, the same order the inserts and
updates of :func:`comment_create` touch them, so concurrent writes on one thread cannot deadlock.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.choices import Audience, NotificationVerb
from accounts.models import Block, Follow, User
from accounts.services import notify
from config.db import execute_statement, insert_instances
from config.errors import Forbidden, InvalidInput, NotFound
from notes.models import Comment, CommentLike, Note
from notes.selectors import note_visible_to_user
from notes.selectors_social import note_for_comments
from notes.services.interactions import ToggleResult
from notes.services.notes import _may_mention
from notes.text import parse_mentions

BODY_MAX = 1000
_COMMENTS = Comment._meta.db_table
_NOTES = Note._meta.db_table


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("A comment cannot be empty.", fields={"body": ["This field may not be blank."]})
    if len(body) > BODY_MAX:
        raise InvalidInput(
            f"A comment has at most {BODY_MAX} characters.",
            fields={"body": [f"Ensure this field has no more than {BODY_MAX} characters."]},
        )
    return body


def _blocked_either_way(a_id: int, b_id: int) -> bool:
    return (
        Block.objects.filter(blocker_id=a_id, blocked_id=b_id).exists()
        or Block.objects.filter(blocker_id=b_id, blocked_id=a_id).exists()
    )


def _may_comment(*, note_author: User, user: User) -> bool:
    """The note author's ``comment_permission``; authors may always comment on their own notes."""
    if user.pk == note_author.pk:
        return True
    permission = note_author.comment_permission
    if permission == Audience.NOBODY:
        return False
    if permission == Audience.FOLLOWERS:
        return Follow.objects.filter(follower=user, followee=note_author).exists()
    return True


def _open_note(*, note: Note, user: User) -> Note:
    """The note, if it is live and ``user`` may see it (blocks included); 404 otherwise."""
    return note_for_comments(note_id=note.pk, viewer=user, live=True)


def _mentioned_users(*, comment: Comment, note: Note) -> list[User]:
    """People @mentioned in the comment who allow it and can see the note (so nothing leaks)."""
    usernames = parse_mentions(comment.body)
    if not usernames:
        return []
    candidates = User.objects.visible_to(comment.author).filter(username__in=usernames)
    return [
        user
        for user in candidates
        if _may_mention(comment.author, user) and note_visible_to_user(note_id=note.pk, user=user)
    ]


@transaction.atomic
def comment_create(*, note: Note, author: User, body: str, reply_to: Comment | None = None) -> Comment:
    """Comment on ``note``, or answer ``reply_to`` (a root or a reply of that note).

    Honours the note author's ``comment_permission`` (403 ``comments_restricted``). A note the
    author may not see (drafts, blocks...) or a deleted / hidden comment to answer is a 404.
    Notifies the note's author (root comments), the answered person (replies) and anyone
    @mentioned, once the transaction commits.
    """
    body = _clean_body(body)
    note = _open_note(note=note, user=author)
    if not _may_comment(note_author=note.author, user=author):
        raise Forbidden("The author does not accept comments from you.", code="comments_restricted")

    parent_id = reply_to_user_id = None
    if reply_to is not None:
        if (
            reply_to.note_id != note.pk
            or reply_to.deleted_at is not None
            or _blocked_either_way(author.pk, reply_to.author_id)
        ):
            raise NotFound("No such comment.")
        parent_id = reply_to.parent_id or reply_to.pk
        reply_to_user_id = reply_to.author_id

    comment = Comment(
        note=note,
        author=author,
        parent_id=parent_id,
        reply_to=reply_to.author if reply_to is not None else None,
        body=body,
    )
    insert_instances([comment])
    notified = {author.pk}
    if reply_to is None:
        notify(
            recipient_id=note.author_id,
            actor_id=author.pk,
            verb=NotificationVerb.COMMENT,
            target_type="note",
            target_id=note.pk,
        )
        notified.add(note.author_id)
    else:
        notify(
            recipient_id=reply_to_user_id,
            actor_id=author.pk,
            verb=NotificationVerb.REPLY,
            target_type="comment",
            target_id=comment.pk,
        )
        notified.add(reply_to_user_id)
    for user in _mentioned_users(comment=comment, note=note):
        if user.pk not in notified:
            notify(
                recipient_id=user.pk,
                actor_id=author.pk,
                verb=NotificationVerb.MENTION,
                target_type="comment",
                target_id=comment.pk,
            )
            notified.add(user.pk)
    # The counters last: the note's row (the root's, for a reply) stays locked until the commit,
    # and on a busy note every other comment waits for it.
    _move_counters(note_id=note.pk, parent_id=parent_id, delta=1)
    return comment


def _move_counters(*, note_id: int, parent_id: int | None, delta: int, unpin: int | None = None) -> None:
    """Move the note's ``comment_count`` (and the root's ``reply_count``, for a reply) by ``delta``,
    and unpin ``unpin`` if it is the note's pinned comment: written out, as a comment's every write
    runs them (BENCH.md B5; the ORM's compiling cost more than the round trips)."""
    execute_statement(
        f"UPDATE {_NOTES} SET comment_count = comment_count + %s, "
        "pinned_comment_id = NULLIF(pinned_comment_id, %s) WHERE id = %s",
        [delta, unpin, note_id],
    )
    if parent_id is not None:
        execute_statement(
            f"UPDATE {_COMMENTS} SET reply_count = reply_count + %s WHERE id = %s", [delta, parent_id]
        )


def _soft_delete(comment: Comment) -> bool:
    """Mark deleted and move the counters; False when it was deleted already. Needs a transaction.

    The conditional ``UPDATE`` decides (of two concurrent deletes, one changes the row and the
    other waits for it, then finds it deleted); the note's count and pin move in one statement."""
    now = timezone.now()
    deleted, _ = execute_statement(
        f"UPDATE {_COMMENTS} SET deleted_at = %s WHERE id = %s AND deleted_at IS NULL",
        [connection.ops.adapt_datetimefield_value(now), comment.pk],
    )
    if not deleted:
        return False
    comment.deleted_at = now
    _move_counters(note_id=comment.note_id, parent_id=comment.parent_id, delta=-1, unpin=comment.pk)
    return True


@transaction.atomic
def comment_delete(*, comment: Comment, user: User) -> bool:
    """Soft-delete (idempotent). Allowed to the comment's author and the note's author.

    Replies of a deleted root stay; the root then shows as a placeholder while it has any.
    A deleted pinned comment is unpinned. Returns whether anything changed.
    """
    if user.pk not in (comment.author_id, comment.note.author_id):  # the note: loaded with the comment
        raise Forbidden("Only its author or the note's author can delete a comment.")
    return _soft_delete(comment)


@transaction.atomic
def comment_remove(*, comment: Comment) -> bool:
    """Moderation: soft-delete any comment, exactly as :func:`comment_delete` does."""
    return _soft_delete(comment)


def _insert_like(*, comment: Comment, user: User) -> bool:
    try:
        with transaction.atomic():
            CommentLike.objects.create(comment=comment, user=user)
    except IntegrityError:
        return False
    return True


def _like_count(comment: Comment) -> int:
    return Comment.objects.values_list("like_count", flat=True).get(pk=comment.pk)


@transaction.atomic
def comment_like(*, comment: Comment, user: User) -> ToggleResult:
    """Like a live comment on a live note (``comment.note`` loaded); liking twice (even
    concurrently) leaves one row and one increment."""
    if comment.deleted_at is not None or not comment.note.is_live:
        raise NotFound("No such comment.")
    created = _insert_like(comment=comment, user=user)
    if created:
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") + 1)
        notify(
            recipient_id=comment.author_id,
            actor_id=user.pk,
            verb=NotificationVerb.LIKE,
            target_type="comment",
            target_id=comment.pk,
        )
    return ToggleResult(active=True, changed=created, count=_like_count(comment))


@transaction.atomic
def comment_unlike(*, comment: Comment, user: User) -> ToggleResult:
    """Remove a like (idempotent; works on deleted comments too)."""
    deleted, _ = CommentLike.objects.filter(comment=comment, user=user).delete()
    if deleted:
        Comment.objects.filter(pk=comment.pk).update(like_count=F("like_count") - 1)
    return ToggleResult(active=False, changed=bool(deleted), count=_like_count(comment))


def _require_note_author(note: Note, user: User) -> None:
    if user.pk != note.author_id:
        raise Forbidden("Only the note's author can pin a comment.")


@transaction.atomic
def comment_pin(*, note: Note, comment: Comment, user: User) -> Comment:
    """Pin a live root comment of ``note`` (replacing any pinned one). Note author only.

    The comment row is locked so a concurrent delete either runs first (and we refuse) or after
    (and unpins it): a deleted comment is never left pinned.
    """
    _require_note_author(note, user)
    comment = Comment.objects.select_for_update(no_key=True).filter(pk=comment.pk, note_id=note.pk).first()
    if comment is None:
        raise NotFound("No such comment.")
    if comment.parent_id is not None or comment.deleted_at is not None:
        raise InvalidInput("Only a live top-level comment can be pinned.", code="not_pinnable")
    Note.objects.filter(pk=note.pk).update(pinned_comment=comment)
    return comment


@transaction.atomic
def comment_unpin(*, note: Note, user: User) -> bool:
    """Unpin the note's pinned comment (idempotent). Note author only."""
    _require_note_author(note, user)
    return bool(Note.objects.filter(pk=note.pk, pinned_comment__isnull=False).update(pinned_comment=None))
