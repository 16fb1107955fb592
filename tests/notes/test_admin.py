"""Moderators work on notes in the admin: the hide/restore actions go through the service."""

import pytest
from django.test import Client

from accounts.models import User
from notes.choices import NoteStatus
from notes.models import Note
from tests.factories import UserFactory
from tests.factories.notes import live_note

pytestmark = pytest.mark.django_db


def test_moderators_can_list_and_search_notes(moderator_admin):
    note = live_note()
    response = moderator_admin.get("/admin/notes/note/", {"q": "Hello"})
    assert response.status_code == 200
    assert f"/admin/notes/note/{note.pk}/change/" in response.content.decode()
    for path in (
        "/admin/notes/comment/",
        "/admin/notes/board/",
        "/admin/notes/topic/",
        "/admin/notes/media/",
    ):
        assert moderator_admin.get(path).status_code == 200, path


def test_hide_and_restore_actions_keep_counters(moderator_admin):
    note = live_note()
    assert User.objects.get(pk=note.author_id).note_count == 1
    moderator_admin.post("/admin/notes/note/", {"action": "hide_notes", "_selected_action": [note.pk]})
    note.refresh_from_db()
    assert note.status == NoteStatus.HIDDEN
    assert User.objects.get(pk=note.author_id).note_count == 0
    moderator_admin.post("/admin/notes/note/", {"action": "restore_notes", "_selected_action": [note.pk]})
    assert Note.objects.get(pk=note.pk).status == NoteStatus.PUBLISHED
    assert User.objects.get(pk=note.author_id).note_count == 1


def test_admin_actions_leave_a_notice_and_api_requests_carry_no_message_store(moderator_admin):
    """Messages (``config.middleware.PageMessageMiddleware``) work in the admin and are not set up
    under ``/api/``, where nothing shows them."""
    note = live_note()
    response = moderator_admin.post(
        "/admin/notes/note/", {"action": "hide_notes", "_selected_action": [note.pk]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["1 note(s) hidden."]
    api = moderator_admin.get(f"/api/v1/notes/{note.pk}")
    assert not hasattr(api.wsgi_request, "_messages")


def test_what_services_own_is_read_only_on_the_change_page(moderator_admin):
    """A review's product, rating and badge, and a note's author, status and visibility change only
    through services (counts, order lines, timelines follow them), never by editing the row."""
    note = live_note()
    page = moderator_admin.get(f"/admin/notes/note/{note.pk}/change/").content.decode()
    for field in ("author", "status", "visibility", "product", "rating", "is_verified_purchase"):
        assert f'name="{field}"' not in page, field
    assert 'name="title"' in page  # the text stays editable


def test_ordinary_users_cannot_reach_the_admin():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/admin/notes/note/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
