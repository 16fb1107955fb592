"""Reports: anyone may flag what they can see; moderator_admins take it down or dismiss it."""

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.models import User
from notes.choices import NoteStatus, ReportStatus
from notes.models import Comment, Note, Report
from notes.services.comments import comment_create
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory, live_note
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def report(client, target_type, target_id, reason="spam", **extra):
    body = {"target_type": target_type, "target_id": target_id, "reason": reason, **extra}
    return client.post("/api/v1/reports", body, format="json")


def test_reporting_a_note_is_idempotent_while_open(api):
    note = NoteFactory()
    first = report(api, "note", note.pk, detail="同一条广告发了十次")
    assert first.status_code == 201
    assert first.json()["status"] == "open" and first.json()["reason"] == "spam"
    again = report(api, "note", note.pk, reason="other")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1


def test_cannot_report_what_you_cannot_see_or_yourself(api):
    hidden = NoteFactory(visibility="private")
    assert_error(report(api, "note", hidden.pk), 404, "not_found")
    assert_error(report(api, "comment", 999999), 404, "not_found")
    blocker = UserFactory()
    account_services.block_create(blocker=blocker, blocked=api.user)
    assert_error(report(api, "user", blocker.pk), 404, "not_found")
    assert_error(report(api, "user", api.user.pk), 400, "self_report")
    assert_error(report(api, "note", NoteFactory().pk, reason="boring"), 400, "invalid")
    assert not Report.objects.exists()


def test_anonymous_cannot_report(anon_client):
    assert_error(report(anon_client, "note", NoteFactory().pk), 401, "not_authenticated")


def act(moderator_admin, action, *reports):
    response = moderator_admin.post(
        "/admin/notes/report/", {"action": action, "_selected_action": [r.pk for r in reports]}
    )
    assert response.status_code == 302


def test_take_down_hides_a_note_and_closes_every_open_report_on_it(client_for, moderator_admin):
    note = live_note()
    reporters = [client_for(UserFactory()) for _ in range(3)]
    ids = [report(client, "note", note.pk).json()["id"] for client in reporters]
    other = report(reporters[0], "note", live_note().pk).json()["id"]
    queue = moderator_admin.get("/admin/notes/report/?status__exact=open")
    assert queue.status_code == 200 and f"/admin/notes/note/{note.pk}/change/" in queue.content.decode()
    act(moderator_admin, "take_down", Report.objects.get(pk=ids[0]))
    assert Note.objects.get(pk=note.pk).status == NoteStatus.HIDDEN
    assert set(Report.objects.filter(pk__in=ids).values_list("status", flat=True)) == {ReportStatus.ACTIONED}
    assert Report.objects.get(pk=other).status == ReportStatus.OPEN
    assert reporters[1].get(f"/api/v1/notes/{note.pk}").status_code == 404


def test_take_down_removes_comments_and_deactivates_users(api, moderator_admin):
    comment = comment_create(note=live_note(), author=UserFactory(), body="滚出去")
    troll = UserFactory()
    troll_client = Client()
    act(
        moderator_admin,
        "take_down",
        Report.objects.get(pk=report(api, "comment", comment.pk, reason="harassment").json()["id"]),
        Report.objects.get(pk=report(api, "user", troll.pk, reason="harassment").json()["id"]),
    )
    assert Comment.objects.get(pk=comment.pk).deleted_at is not None
    assert User.objects.get(pk=troll.pk).is_active is False
    assert api.get(f"/api/v1/users/{troll.username}").status_code == 404
    assert troll_client.login(username=troll.username, password="zhongcao-test-pass") is False


def test_dismiss_leaves_the_content(api, moderator_admin):
    note = NoteFactory()
    act(moderator_admin, "dismiss", Report.objects.get(pk=report(api, "note", note.pk).json()["id"]))
    assert Note.objects.get(pk=note.pk).status == NoteStatus.PUBLISHED
    assert Report.objects.get().status == ReportStatus.DISMISSED
    # Dismissed reports are closed: the same person may report again.
    assert report(api, "note", note.pk).status_code == 201
