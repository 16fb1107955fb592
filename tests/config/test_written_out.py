"""The written-out writes of ``config.db``: ``insert_instances`` and ``execute_statement``."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from config.db import execute_statement, insert_instances
from notes.models import Comment, Note
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory

pytestmark = pytest.mark.django_db


def test_insert_instances_writes_every_row_and_hands_back_their_keys_in_order():
    note, author = NoteFactory(), UserFactory()
    comments = [Comment(note=note, author=author, body=f"第{n}条") for n in range(3)]

    insert_instances(comments)

    assert all(not c._state.adding and c.created_at is not None for c in comments)
    stored = {c.pk: (c.body, c.created_at, c.like_count) for c in Comment.objects.filter(note=note)}
    assert stored == {c.pk: (c.body, c.created_at, 0) for c in comments}
    assert len(stored) == 3
    comments[1].body = "改过"
    comments[1].save(update_fields=["body"])  # a saved instance, as the ORM's own
    assert Comment.objects.get(pk=comments[1].pk).body == "改过"


def test_insert_instances_takes_a_related_objects_key_as_it_is_now_and_refuses_an_unsaved_one():
    author = UserFactory()
    note = Note(author=author, title="先建后存")
    reply = Comment(note=note, author=author, body="先有评论")  # the note has no key yet

    with pytest.raises(ValueError, match="unsaved related object 'note'"):
        insert_instances([reply])
    insert_instances([note])
    insert_instances([reply])

    assert Comment.objects.get(pk=reply.pk).note_id == note.pk
    assert insert_instances([]) is None  # nothing to write


def test_insert_instances_writes_nothing_when_a_row_is_refused():
    note = NoteFactory()
    rows = [
        Comment(note=note, author_id=note.author_id, body="好"),
        Comment(note=note, author_id=note.author_id),
    ]
    rows[1].body = None

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_instances(rows)  # one statement: NOT NULL refuses the second, and the first goes too

    assert not Comment.objects.filter(note=note).exists()


def test_execute_statement_gives_the_row_count_and_the_first_row():
    note = NoteFactory(comment_count=4)
    table = note._meta.db_table

    bump = f"UPDATE {table} SET comment_count = comment_count + %s WHERE id = %s"
    assert execute_statement(bump, [2, note.pk]) == (1, None)
    assert execute_statement(bump, [2, 0]) == (0, None)
    _, row = execute_statement(f"SELECT comment_count FROM {table} WHERE id = %(id)s", {"id": note.pk})
    assert row == (6,)
