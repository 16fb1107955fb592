"""Reads for the like and collect toggles, which every such request pays for (BENCH.md B5).

A toggle needs to know only that the viewer may see the note and who wrote it (the author's
``like_collect_count`` moves with the note's counters): one narrow query, whose SQL (the visibility
rule's joins and ``EXISTS`` subqueries) is compiled once by ``config.db.PreparedQuery``.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from accounts.models import User
from config.db import PreparedQuery
from config.errors import NotFound
from notes.models import Note


def _visible_author_query(viewer_id: int, note_id: int):
    return Note.objects.visible_to(User(pk=viewer_id)).filter(pk=note_id).values("author_id")


#: Compiling ``visible_to`` with the ORM costs several times what running its SQL does.
_VISIBLE_AUTHOR = PreparedQuery(_visible_author_query)


def note_get_for_toggle(*, note_id: int, viewer) -> Note:
    """The note as a like or collect needs it, if ``viewer`` may see it: a ``Note`` with only
    ``id`` and ``author_id`` loaded (others load on access), in one query; 404 otherwise."""
    if viewer is None or not viewer.is_authenticated:
        rows = list(Note.objects.visible_to(viewer).filter(pk=note_id).values("author_id"))
    else:
        rows = _VISIBLE_AUTHOR.rows(viewer.pk, note_id)
    if not rows:
        raise NotFound("No such note.")
    return Note.from_db(DEFAULT_DB_ALIAS, ["id", "author_id"], [note_id, rows[0]["author_id"]])
