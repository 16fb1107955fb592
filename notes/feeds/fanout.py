"""Keeping following timelines in step with notes and follows.

Each function reads the *current* state and makes the timelines agree with it, so the tasks that
call them (enqueued by the receivers after the change committed) are idempotent and may run twice
or out of order: a follow task that runs after the unfollow finds no follow and removes, a fan-out
that finishes after the note was deleted takes it back out.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings

from accounts.models import Block, Follow, User
from notes.choices import NoteStatus
from notes.feeds import scoring
from notes.feeds.timelines import FEEDABLE_VISIBILITY, Entry, timeline_backend, to_us
from notes.models import Note


def _feedable_notes():
    """Notes that belong in their author's followers' timelines."""
    return Note.objects.filter(
        status=NoteStatus.PUBLISHED,
        deleted_at__isnull=True,
        published_at__isnull=False,
        visibility__in=FEEDABLE_VISIBILITY,
        author__is_active=True,
    )


def is_feedable(note: Note) -> bool:
    return _feedable_notes().filter(pk=note.pk).exists()


def is_pull_author(follower_count: int) -> bool:
    return follower_count >= settings.FEED_PULL_THRESHOLD


def _followers(author_id: int) -> Iterable[int]:
    return (
        Follow.objects.filter(followee_id=author_id)
        .values_list("follower_id", flat=True)
        .iterator(chunk_size=5000)
    )


def note_fanout(note: Note) -> int:
    """Put a feedable note in its author's outbox and, unless the author is a pull author, in every
    follower's timeline (pipelined). Returns how many timelines it went into."""
    backend, entry = timeline_backend(), Entry.of_note(note)
    backend.outbox_add(entry)
    count = 0
    if not is_pull_author(note.author.follower_count):
        count = backend.fanout(entry, _followers(note.author_id))
    if not is_feedable(note):  # deleted or hidden while we were writing: take it back
        note_unfanout(note)
        return 0
    return count


def note_unfanout(note: Note) -> None:
    """Take a note out of every timeline and its author's outbox."""
    timeline_backend().remove(Entry.of_note(note), _followers(note.author_id))


def note_feeds_sync(*, note_id: int, now: datetime | None = None) -> None:
    """Bring a note's place in every feed in line with its state: in followers' timelines when it
    is feedable, out of them otherwise; scored (and placed on the map) for discovery and nearby."""
    note = Note.objects.select_related("author").filter(pk=note_id).first()
    if note is None:
        return
    if is_feedable(note):
        note_fanout(note)
    else:
        note_unfanout(note)
    scoring.notes_score([note_id], now=now)


def _recent(author_id: int, limit: int) -> list[Entry]:
    rows = (
        _feedable_notes()
        .filter(author_id=author_id)
        .order_by("-published_at", "-id")
        .values_list("published_at", "id", "author_id")[:limit]
    )
    return [Entry(to_us(at), note_id, author) for at, note_id, author in rows]


def follow_sync(*, follower_id: int, followee_id: int) -> None:
    """A follow started: back-fill the followee's recent notes (a pull author's are merged at read
    time anyway). It ended: remove them."""
    backend = timeline_backend()
    backend.forget_pulled(follower_id)
    if not Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists():
        backend.remove_author(follower_id, followee_id)
        return
    followers = User.objects.filter(pk=followee_id).values_list("follower_count", flat=True).first()
    if followers is None or is_pull_author(followers):
        return
    backend.add(follower_id, _recent(followee_id, settings.FEED_BACKFILL))


def block_sync(*, blocker_id: int, blocked_id: int) -> None:
    """A block: each one's notes leave the other's timeline (the follows are gone already)."""
    if not Block.objects.filter(blocker_id=blocker_id, blocked_id=blocked_id).exists():
        return
    backend = timeline_backend()
    for user_id, other_id in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
        backend.forget_pulled(user_id)
        backend.remove_author(user_id, other_id)


def timelines_rebuild(
    *,
    user_ids: Iterable[int] | None = None,
    progress: Callable[[Iterable, str], Iterable] | None = None,
) -> int:
    """Rebuild timelines (and outboxes) from the follows and notes: all of them, or those of
    ``user_ids``. Bulk: one pass over the notes, newest ``FEED_TIMELINE_MAX`` per author, and one
    over the follows in follower order, each timeline the newest of its followees' outboxes.
    Returns how many timelines were written."""
    backend, cap = timeline_backend(), settings.FEED_TIMELINE_MAX
    follows = Follow.objects.all()
    notes = _feedable_notes()
    if user_ids is not None:
        user_ids = sorted(set(user_ids))
        follows = follows.filter(follower_id__in=user_ids)
        notes = notes.filter(author_id__in=follows.values("followee_id"))
    outboxes: dict[int, list[Entry]] = defaultdict(list)
    rows = (
        notes.order_by("author_id", "-published_at", "-id")
        .values_list("published_at", "id", "author_id")
        .iterator(chunk_size=10_000)
    )
    for at, note_id, author_id in rows:
        box = outboxes[author_id]
        if len(box) < cap:
            box.append(Entry(to_us(at), note_id, author_id))
    backend.outbox_replace(outboxes)
    author_ids = set(outboxes)
    pull_authors = User.objects.filter(follower_count__gte=settings.FEED_PULL_THRESHOLD).values_list(
        "pk", flat=True
    )
    for author_id in pull_authors:
        outboxes.pop(author_id, None)  # their notes are merged at read time, not stored per reader

    pairs = (
        follows.order_by("follower_id").values_list("follower_id", "followee_id").iterator(chunk_size=10_000)
    )
    grouped = itertools.groupby(pairs, key=lambda pair: pair[0])
    if progress is not None:
        grouped = progress(grouped, "timelines")
    written, batch, rebuilt = 0, {}, set()
    for follower_id, group in grouped:
        batch[follower_id] = [followee_id for _, followee_id in group if followee_id in outboxes]
        rebuilt.add(follower_id)
        if len(batch) >= 1000:
            backend.rebuild(batch, outboxes)
            written, batch = written + len(batch), {}
    for user_id in user_ids or ():
        if user_id not in rebuilt:
            batch[user_id] = []  # follows nobody (any more)
    if batch:
        backend.rebuild(batch, outboxes)
        written += len(batch)
    if user_ids is None:
        backend.drop_others(user_ids=rebuilt, author_ids=author_ids)
    return written
