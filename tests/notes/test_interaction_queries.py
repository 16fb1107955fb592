"""Query budgets of the write toggles: a like or collect checks the note's visibility with one query
(not the detail page's five), then writes. Measured with 20+ notes, likes and collects around."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes.models import NoteCollect, NoteLike
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory

pytestmark = pytest.mark.django_db

# (method, url template, budget). In a test, the service's transaction and the insert's own (which
# lets the unique constraint settle a concurrent duplicate) are savepoints, and those count: 4 of
# these statements (2 for a delete); the user, the note, the writes and the fresh count are the rest.
BUDGETS = [
    ("post", "/api/v1/notes/{pk}/like", 10),
    ("delete", "/api/v1/notes/{pk}/like", 8),
    ("post", "/api/v1/notes/{pk}/collect", 12),
    ("delete", "/api/v1/notes/{pk}/collect", 10),
]


@pytest.fixture
def crowd(db):
    notes = NoteFactory.create_batch(25)
    people = UserFactory.create_batch(25)
    NoteLike.objects.bulk_create(NoteLike(note=notes[0], user=person) for person in people)
    return notes


@pytest.mark.parametrize(("method", "url", "budget"), BUDGETS)
def test_toggle_query_budget(api, crowd, method, url, budget):
    note = crowd[0]
    api.post(f"/api/v1/notes/{crowd[1].pk}/collect", {}, format="json")  # the default board exists
    if method == "delete":
        api.post(url.format(pk=note.pk), {}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = getattr(api, method)(url.format(pk=note.pk), {}, format="json")
    assert response.status_code == 200, response.content
    assert len(queries) <= budget, "\n".join(q["sql"] for q in queries.captured_queries)
    assert NoteCollect.objects.filter(user=api.user).exists()
