"""Notes through the API: create, publish rules, visibility, edits, delete, topics, mentions."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import Audience
from accounts.models import Notification, User
from notes.choices import MediaStatus, NoteStatus
from notes.models import Note, NoteRevision, Topic
from notes.services import notes as note_services
from tests.factories import FollowFactory, UserFactory
from tests.factories.notes import MediaFactory, NoteFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def ready_media(owner, n=1, **kwargs):
    return [MediaFactory(owner=owner, **kwargs).pk for _ in range(n)]


def create(client, **payload):
    payload.setdefault("title", "春日穿搭分享")
    payload.setdefault("media", ready_media(client.user))
    return client.post("/api/v1/notes", payload, format="json")


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_publish_note_with_topics_mentions_and_place(api, client_for, django_capture_on_commit_callbacks):
    friend = UserFactory(username="lulu")
    with django_capture_on_commit_callbacks(execute=True):
        response = create(
            api,
            body="今天的 #春日穿搭 和 #OOTD# 一起 @lulu 逛街",
            category="fashion",
            place={"name": "武康路", "city": "上海", "lat": 31.204567, "lng": 121.436789},
            media=ready_media(api.user, 3),
        )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["status"] == "published"
    assert [t["name"] for t in note["topics"]] == ["春日穿搭", "OOTD"]
    assert [m["username"] for m in note["mentions"]] == ["lulu"]
    assert note["place"] == {"name": "武康路", "city": "上海", "lat": 31.205, "lng": 121.437}
    assert len(note["media"]) == 3 and note["cover"]["id"] == note["media"][0]["id"]
    assert fresh(api.user).note_count == 1
    assert Topic.objects.get(name="春日穿搭").note_count == 1
    mention = Notification.objects.get(recipient=friend, verb="mention")
    assert (mention.actor, mention.target_type, mention.target_id) == (api.user, "note", note["id"])


def test_mention_privacy_is_honoured(api):
    UserFactory(username="quiet", mention_permission=Audience.NOBODY)
    UserFactory(username="picky", mention_permission=Audience.FOLLOWERS)
    note = create(api, body="hi @quiet @picky").json()
    assert note["mentions"] == []


def test_note_needs_own_ready_media(api):
    other = UserFactory()
    assert_error(create(api, media=ready_media(other)), 400, "invalid")
    failed = ready_media(api.user, status=MediaStatus.FAILED)
    assert_error(create(api, media=failed), 400, "media_failed")
    video = ready_media(api.user, kind="video")
    assert_error(create(api, media=video + ready_media(api.user)), 400, "invalid")
    assert_error(create(api, media=ready_media(api.user, 19)), 400, "invalid")
    assert_error(create(api, media=[]), 400, "invalid")
    assert not Note.objects.exists()


def test_unknown_fields_are_refused(api):
    error = assert_error(create(api, like_count=999), 400, "invalid")
    assert "like_count" in error["fields"]


def test_publish_waits_for_media_then_goes_live(api):
    pending = MediaFactory(owner=api.user, status=MediaStatus.PENDING, variants={})
    note = create(api, media=[pending.pk]).json()
    assert note["status"] == "processing"
    assert fresh(api.user).note_count == 0
    pending.status = MediaStatus.READY
    pending.save()
    note_services.notes_media_settled(media_id=pending.pk)
    assert Note.objects.get(pk=note["id"]).status == NoteStatus.PUBLISHED
    assert fresh(api.user).note_count == 1


def test_failed_media_sends_waiting_note_back_to_draft(api):
    pending = MediaFactory(owner=api.user, status=MediaStatus.PENDING, variants={})
    note = create(api, media=[pending.pk]).json()
    pending.status = MediaStatus.FAILED
    pending.save()
    note_services.notes_media_settled(media_id=pending.pk)
    assert Note.objects.get(pk=note["id"]).status == NoteStatus.DRAFT


def test_scheduled_note_publishes_when_due(api, client_for):
    at = timezone.now() + timedelta(hours=2)
    note = create(api, action="schedule", publish_at=at.isoformat()).json()
    assert note["status"] == "scheduled"
    reader = client_for(UserFactory())
    assert_error(reader.get(f"/api/v1/notes/{note['id']}"), 404, "not_found")
    assert note_services.notes_publish_due(now=at - timedelta(minutes=1)) == 0
    assert note_services.notes_publish_due(now=at + timedelta(seconds=1)) == 1
    assert reader.get(f"/api/v1/notes/{note['id']}").json()["status"] == "published"
    assert fresh(api.user).note_count == 1
    assert note_services.notes_publish_due(now=at + timedelta(minutes=5)) == 0


def test_schedule_in_the_past_is_refused(api):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    error = assert_error(create(api, action="schedule", publish_at=past), 400, "invalid")
    assert "publish_at" in error["fields"]


@pytest.mark.parametrize(
    "setup",
    ["draft", "private", "followers", "hidden", "deleted", "private_account", "blocked"],
)
def test_bola_sweep_hidden_notes_are_404_for_others(setup, client_for):
    author = UserFactory(is_private=setup == "private_account")
    intruder = UserFactory()
    note = NoteFactory(author=author)
    if setup == "draft":
        note.status = NoteStatus.DRAFT
    elif setup in ("private", "followers"):
        note.visibility = setup
    elif setup == "hidden":
        note.status = NoteStatus.HIDDEN
    elif setup == "deleted":
        note.deleted_at = timezone.now()
    elif setup == "blocked":
        account_services.block_create(blocker=author, blocked=intruder)
    note.save()
    client = client_for(intruder)
    url = f"/api/v1/notes/{note.pk}"
    assert_error(client.get(url), 404, "not_found")
    assert_error(client.patch(url, {"title": "mine now"}, format="json"), 404, "not_found")
    assert_error(client.delete(url), 404, "not_found")
    assert_error(client.post(f"{url}/like"), 404, "not_found")
    assert fresh(note).title == note.title and fresh(note).deleted_at == note.deleted_at
    listed = client.get(f"/api/v1/users/{author.username}/notes")
    assert listed.status_code == 404 if setup == "blocked" else listed.json()["results"] == []


def test_author_sees_own_draft_and_private(api):
    draft = create(api, action="draft").json()
    private = create(api, visibility="private").json()
    for note in (draft, private):
        assert api.get(f"/api/v1/notes/{note['id']}").status_code == 200
    assert fresh(api.user).note_count == 1  # only the published private note counts


def test_followers_only_note_visible_to_followers(client_for):
    author, fan = UserFactory(), UserFactory()
    note = NoteFactory(author=author, visibility="followers")
    client = client_for(fan)
    assert client.get(f"/api/v1/notes/{note.pk}").status_code == 404
    account_services.follow_create(follower=fan, followee=author)
    assert client.get(f"/api/v1/notes/{note.pk}").json()["id"] == note.pk


def test_anonymous_sees_only_public_notes(anon_client):
    public = NoteFactory()
    private_account_note = NoteFactory(author=UserFactory(is_private=True))
    assert anon_client.get(f"/api/v1/notes/{public.pk}").json()["liked"] is False
    assert anon_client.get(f"/api/v1/notes/{private_account_note.pk}").status_code == 404


def test_edit_keeps_revisions_and_moves_topic_counts(api):
    note = create(api, body="#旧话题 text").json()
    response = api.patch(f"/api/v1/notes/{note['id']}", {"body": "#新话题 better text"}, format="json")
    assert response.status_code == 200, response.content
    assert [t["name"] for t in response.json()["topics"]] == ["新话题"]
    assert Topic.objects.get(name="旧话题").note_count == 0
    assert Topic.objects.get(name="新话题").note_count == 1
    revision = NoteRevision.objects.get(note_id=note["id"])
    assert revision.body == "#旧话题 text"
    api.patch(f"/api/v1/notes/{note['id']}", {"action": "draft"}, format="json")
    assert Topic.objects.get(name="新话题").note_count == 0
    assert fresh(api.user).note_count == 0


def test_topic_counts_follow_the_visibility_of_a_live_note(api):
    """A topic counts the live notes anyone may read: an edit that makes a note private or
    followers-only takes it out of its topics, one that opens it again puts it back."""
    note = create(api, body="#可见话题 text", visibility="private").json()
    topic = Topic.objects.get(name="可见话题")
    assert fresh(topic).note_count == 0 and fresh(api.user).note_count == 1
    counts = []
    for visibility in ("public", "followers", "public", "private"):
        api.patch(f"/api/v1/notes/{note['id']}", {"visibility": visibility}, format="json")
        counts.append(fresh(topic).note_count)
    assert counts == [1, 0, 1, 0]
    api.patch(f"/api/v1/notes/{note['id']}", {"visibility": "public", "action": "draft"}, format="json")
    assert fresh(topic).note_count == 0  # public but a draft
    api.patch(f"/api/v1/notes/{note['id']}", {"action": "publish"}, format="json")
    assert fresh(topic).note_count == 1
    api.delete(f"/api/v1/notes/{note['id']}")
    assert fresh(topic).note_count == 0 and fresh(api.user).note_count == 0


def test_a_profile_counts_the_notes_its_viewer_may_read(api, client_for, anon_client):
    """Private notes count on your own profile only, followers-only ones for your followers too;
    drafts and deleted notes for nobody. Edits move a note between the counts."""
    author = api.user
    follower, stranger = UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=author)
    ids = {v: create(api, visibility=v).json()["id"] for v in ("public", "followers", "private")}
    create(api, action="draft")
    viewers = {"author": api, "follower": client_for(follower), "stranger": client_for(stranger)}
    viewers["anonymous"] = anon_client

    def counts():
        return {
            name: client.get(f"/api/v1/users/{author.username}").json()["note_count"]
            for name, client in viewers.items()
        }

    assert counts() == {"author": 3, "follower": 2, "stranger": 1, "anonymous": 1}
    assert api.get("/api/v1/me").json()["note_count"] == 3
    api.patch(f"/api/v1/notes/{ids['private']}", {"visibility": "followers"}, format="json")
    assert counts() == {"author": 3, "follower": 3, "stranger": 1, "anonymous": 1}
    api.patch(f"/api/v1/notes/{ids['public']}", {"visibility": "private"}, format="json")
    assert counts() == {"author": 3, "follower": 2, "stranger": 0, "anonymous": 0}
    api.delete(f"/api/v1/notes/{ids['followers']}")
    note_services.note_moderate(note=Note.objects.get(pk=ids["private"]), hide=True)
    assert counts() == {"author": 1, "follower": 0, "stranger": 0, "anonymous": 0}
    # Others' list of the notes shows as many as the count says (yours lists drafts too).
    expected = counts()
    for name in ("follower", "stranger", "anonymous"):
        shown = viewers[name].get(f"/api/v1/users/{author.username}/notes").json()["results"]
        assert len(shown) == expected[name], name


def test_the_migration_recounts_topics_from_public_live_notes(api):
    """``notes/0009`` recounts topics counted before the rule (every live note) by the rule."""
    from django.apps import apps

    migration = importlib.import_module("notes.migrations.0009_topic_count_public_notes")
    for visibility, body in (("public", "#甲 #乙"), ("followers", "#甲"), ("private", "#乙 #丙")):
        create(api, body=body, visibility=visibility)
    create(api, body="#甲 #丙", action="draft")
    Topic.objects.update(note_count=7)
    migration.count_public_notes(apps, None)
    assert dict(Topic.objects.values_list("name", "note_count")) == {"甲": 1, "乙": 1, "丙": 0}


def test_the_migration_counts_each_authors_notes_by_audience(api):
    """``accounts/0004`` sets the audience counters from the notes."""
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0004_note_counts_by_visibility")
    for visibility in ("public", "public", "followers", "private"):
        create(api, visibility=visibility)
    create(api, action="draft")
    User.objects.update(public_note_count=9, followers_note_count=9)
    migration.count_notes_by_visibility(apps, None)
    user = fresh(api.user)
    assert (user.note_count, user.public_note_count, user.followers_note_count) == (4, 2, 1)


def test_edit_refuses_read_only_fields(api):
    note = create(api).json()
    error = assert_error(
        api.patch(f"/api/v1/notes/{note['id']}", {"status": "hidden"}, format="json"), 400, "invalid"
    )
    assert "status" in error["fields"]


def test_delete_is_soft_and_keeps_counters_exact(api, client_for):
    note = create(api, body="#话题").json()
    fan = client_for(UserFactory())
    fan.post(f"/api/v1/notes/{note['id']}/collect", {}, format="json")
    assert api.delete(f"/api/v1/notes/{note['id']}").status_code == 204
    assert api.delete(f"/api/v1/notes/{note['id']}").status_code == 404
    row = Note.objects.get(pk=note["id"])
    assert row.deleted_at is not None
    assert fresh(api.user).note_count == 0
    assert Topic.objects.get(name="话题").note_count == 0
    assert fan.user.boards.get().note_count == 0
    assert fan.get(f"/api/v1/notes/{note['id']}").status_code == 404


def test_moderation_hide_and_restore(api, client_for):
    note = Note.objects.get(pk=create(api, body="#美食").json()["id"])
    reader = client_for(UserFactory())
    note_services.note_moderate(note=note, hide=True)
    assert reader.get(f"/api/v1/notes/{note.pk}").status_code == 404
    assert api.get(f"/api/v1/notes/{note.pk}").json()["status"] == "hidden"
    assert (fresh(api.user).note_count, Topic.objects.get(name="美食").note_count) == (0, 0)
    assert_error(api.patch(f"/api/v1/notes/{note.pk}", {"title": "x"}, format="json"), 409, "note_hidden")
    note_services.note_moderate(note=note, hide=False)
    assert reader.get(f"/api/v1/notes/{note.pk}").status_code == 200
    assert (fresh(api.user).note_count, Topic.objects.get(name="美食").note_count) == (1, 1)


def test_topic_pages_and_trending(api, anon_client):
    for i in range(3):
        create(api, body=f"#旅行 day {i}")
    create(api, body="#美食")
    Topic.objects.filter(name="美食").update(is_pinned=True)
    trending = [t["name"] for t in anon_client.get("/api/v1/topics/trending").json()]
    assert trending[:2] == ["美食", "旅行"]
    assert anon_client.get("/api/v1/topics/旅行").json()["note_count"] == 3
    assert len(anon_client.get("/api/v1/topics/旅行/notes").json()["results"]) == 3
    Topic.objects.filter(name="旅行").update(is_suppressed=True)
    assert anon_client.get("/api/v1/topics/旅行").status_code == 404
    assert "旅行" not in [t["name"] for t in anon_client.get("/api/v1/topics/trending").json()]


def test_note_detail_query_count_does_not_grow_with_media(api, client_for):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = create(api, media=ready_media(api.user, 1)).json()["id"]
    large = create(api, media=ready_media(api.user, 18), body="#a #b #c @nobody").json()["id"]
    reader = client_for(UserFactory())
    cache.clear()
    counts = []
    for note_id in (small, large, small, large):  # cold, then with the attachments cached
        with CaptureQueriesContext(connection) as ctx:
            response = reader.get(f"/api/v1/notes/{note_id}")
        assert response.status_code == 200
        counts.append(len(ctx))
    # Cold: the viewer, the note with author/cover/flags, then media, product tags, topics, mentions.
    assert counts[:2] == [6, 6]
    # Warm: the viewer and the note; the attachments come from the cache.
    assert counts[2:] == [2, 2]
    assert len(reader.get(f"/api/v1/notes/{large}").json()["media"]) == 18


def test_an_edit_shows_at_once_despite_the_attachments_cache(api, client_for):
    note_id = create(api, body="#露营 装备清单", media=ready_media(api.user, 2)).json()["id"]
    reader = client_for(UserFactory())
    assert [t["name"] for t in reader.get(f"/api/v1/notes/{note_id}").json()["topics"]] == ["露营"]
    media = ready_media(api.user, 1)
    response = api.patch(
        f"/api/v1/notes/{note_id}", {"body": "#徒步 #露营 新清单", "media": [media[0]]}, format="json"
    )
    assert response.status_code == 200, response.content
    page = reader.get(f"/api/v1/notes/{note_id}").json()
    assert [t["name"] for t in page["topics"]] == ["徒步", "露营"]
    assert [m["id"] for m in page["media"]] == [media[0]]


def test_user_notes_list_query_budget(client_for, anon_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    author = UserFactory()
    for _ in range(22):
        NoteFactory(author=author)
    reader = client_for(UserFactory())
    counts = []
    for size in (1, 20):
        with CaptureQueriesContext(connection) as ctx:
            page = reader.get(f"/api/v1/users/{author.username}/notes?page_size={size}").json()
        assert len(page["results"]) == size
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 4


def test_beat_task_publishes_due_notes(api, settings):
    from config.celery import app
    from notes import tasks

    assert settings.CELERY_BEAT_SCHEDULE["notes-publish-due"]["task"] == tasks.notes_publish_due.name
    assert tasks.notes_publish_due.name in app.tasks
    note = create(api, action="schedule", publish_at=(timezone.now() + timedelta(hours=1)).isoformat()).json()
    Note.objects.filter(pk=note["id"]).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert tasks.notes_publish_due.delay().get() == 1
    assert Note.objects.get(pk=note["id"]).status == NoteStatus.PUBLISHED
    assert tasks.notes_publish_due.delay().get() == 0


def test_signals_follow_the_note_life_cycle(api, django_capture_on_commit_callbacks):
    from notes.signals import note_edited, note_live_changed

    seen = []

    def on_live(sender, note_id, author_id, live, **kwargs):
        seen.append(("live", note_id, author_id, live))

    def on_edit(sender, note_id, **kwargs):
        seen.append(("edited", note_id))

    note_live_changed.connect(on_live)
    note_edited.connect(on_edit)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            note_id = create(api).json()["id"]
        with django_capture_on_commit_callbacks(execute=True):
            api.patch(f"/api/v1/notes/{note_id}", {"title": "新标题"}, format="json")
        with django_capture_on_commit_callbacks(execute=True):
            api.delete(f"/api/v1/notes/{note_id}")
    finally:
        note_live_changed.disconnect(on_live)
        note_edited.disconnect(on_edit)
    uid = api.user.pk
    assert seen == [("live", note_id, uid, True), ("edited", note_id), ("live", note_id, uid, False)]
