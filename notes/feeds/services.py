"""Writes the feeds own: a reader's "not interested", the moderators' reach limit."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from config.errors import InvalidInput
from notes.feeds import scoring
from notes.models import Note, NoteScore, NotInterested


@transaction.atomic
def note_not_interested(*, note: Note, user: User) -> bool:
    """``user`` turns ``note`` down (idempotent): it never comes back in their discovery feed, and
    its author and topics sink for them at once (their profile is relearned here, not by the next
    scoring run). The note's own score counts it at the next scoring run. Returns whether it was new."""
    if note.author_id == user.pk:
        raise InvalidInput("This is your own note.", code="own_note")
    try:
        with transaction.atomic():
            NotInterested.objects.create(user=user, note=note)
    except IntegrityError:
        return False
    scoring.reader_profile_refresh(user.pk)
    return True


@transaction.atomic
def note_not_interested_undo(*, note: Note, user: User) -> bool:
    """Take back a "not interested" (idempotent). Returns whether there was one."""
    deleted, _ = NotInterested.objects.filter(user=user, note=note).delete()
    if deleted:
        scoring.reader_profile_refresh(user.pk)
    return bool(deleted)


@transaction.atomic
def note_set_reach(*, note: Note, reach: float) -> NoteScore | None:
    """Moderation: limit how far ``note`` travels in discovery and nearby (1 normal, 0 not at all).
    The note stays visible to its followers and on its page. Returns its score row (None for a
    note that was never live)."""
    if not 0 <= reach <= 1:
        raise InvalidInput("Reach goes from 0 to 1.", fields={"reach": ["Between 0 and 1."]})
    scoring.notes_score([note.pk])  # make sure the row exists, for a note scored before the change
    updated = NoteScore.objects.filter(note_id=note.pk).update(reach=reach)
    if not updated:
        return None
    scoring.notes_score([note.pk])
    return NoteScore.objects.get(note_id=note.pk)
