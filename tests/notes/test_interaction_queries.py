"""Query budgets of the write toggles: a like or collect checks the note's visibility with the
narrow rule of one query (not the detail page's five; on PostgreSQL inside the toggle's own
statement), then writes. Measured with 20+ notes, likes and collects around."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes.models import NoteCollect, NoteLike
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory

pytestmark = pytest.mark.django_db

# (method, url template, state before, count in steps, count at once). Every call costs the user (the
# token's). On SQLite the toggle then takes steps in a transaction (in a test a savepoint and its
# release): the note's visibility, then a change writes the row (INSERT ... ON CONFLICT DO NOTHING, or
# DELETE), the note's counter (UPDATE ... RETURNING the new count) and the author's; a new like or
# collect also notifies the author (one INSERT ... SELECT); a collect also looks up the default
# board and moves its count. A repeat writes nothing and reads the count instead. On PostgreSQL all
# that, the visibility check included, is one statement, except a collect that meets the note
# collected already: it then takes the steps (the note may move to another board).
BUDGETS = [
    ("post", "/api/v1/notes/{pk}/like", "off", 8, 2),
    ("post", "/api/v1/notes/{pk}/like", "on", 6, 2),
    ("delete", "/api/v1/notes/{pk}/like", "on", 7, 2),
    ("delete", "/api/v1/notes/{pk}/like", "off", 6, 2),
    ("post", "/api/v1/notes/{pk}/collect", "off", 10, 2),
    ("post", "/api/v1/notes/{pk}/collect", "on", 8, 9),  # also locks the collect row: same board?
    ("delete", "/api/v1/notes/{pk}/collect", "on", 8, 2),
    ("delete", "/api/v1/notes/{pk}/collect", "off", 6, 2),
]


@pytest.fixture
def crowd(db):
    notes = NoteFactory.create_batch(25)
    people = UserFactory.create_batch(25)
    NoteLike.objects.bulk_create(NoteLike(note=notes[0], user=person) for person in people)
    return notes


@pytest.mark.parametrize(("method", "url", "state", "in_steps", "at_once"), BUDGETS)
def test_toggle_query_budget(api, crowd, method, url, state, in_steps, at_once):
    budget = at_once if connection.vendor == "postgresql" else in_steps
    note = crowd[0]
    api.post(f"/api/v1/notes/{crowd[1].pk}/collect", {}, format="json")  # the default board exists
    if state == "on":
        api.post(url.format(pk=note.pk), {}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = getattr(api, method)(url.format(pk=note.pk), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is (state == ("off" if method == "post" else "on"))
    assert len(queries) == budget, "\n".join(q["sql"] for q in queries.captured_queries)
    assert NoteCollect.objects.filter(user=api.user).exists()
