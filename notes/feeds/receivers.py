"""Receivers that keep the feeds in step with notes and relationships (connected by ``NotesConfig``).

The signals are sent after the transaction that caused them committed, so each receiver just
enqueues an idempotent task that reads the current state (see :mod:`notes.feeds.fanout`).
Engagement (likes, collects, comments, shares) needs no signal: the scoring job finds it itself.
"""

from __future__ import annotations

from accounts import signals as account_signals
from notes import signals as note_signals


def on_note_changed(sender, *, note_id: int, **kwargs) -> None:
    from notes import tasks

    tasks.feeds_note_sync.delay(note_id)


def on_follow_changed(sender, *, follower_id: int, followee_id: int, **kwargs) -> None:
    from notes import tasks

    tasks.feeds_follow_sync.delay(follower_id, followee_id)


def on_block_created(sender, *, blocker_id: int, blocked_id: int, **kwargs) -> None:
    from notes import tasks

    tasks.feeds_block_sync.delay(blocker_id, blocked_id)


def on_profile_changed(sender, *, user_id: int, fields: list[str], **kwargs) -> None:
    if "is_private" in fields:  # a private account's notes are not for discovery
        from notes import tasks

        tasks.feeds_author_rescore.delay(user_id)


def connect() -> None:
    note_signals.note_live_changed.connect(on_note_changed, dispatch_uid="feeds.note_live_changed")
    note_signals.note_edited.connect(on_note_changed, dispatch_uid="feeds.note_edited")
    account_signals.follow_changed.connect(on_follow_changed, dispatch_uid="feeds.follow_changed")
    account_signals.block_created.connect(on_block_created, dispatch_uid="feeds.block_created")
    account_signals.profile_changed.connect(on_profile_changed, dispatch_uid="feeds.profile_changed")
