"""Authorization and visibility audit of the accounts API: profiles and their tabs, relations,
follow requests and notifications, for every kind of viewer.

The other accounts tests hold the private account's lists, blocks between two people on the profile
and the followers list, follow-request approval by someone else and the inbox's ownership. These
fill the gaps: a deactivated account on every endpoint, a blocked pair on every profile tab from
both sides, notices from people hidden from their recipient, and follow requests decided or listed
by the wrong person.
"""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import Block, Follow, FollowRequest, Notification, User
from notes.models import Report
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.helpers import assert_error, usernames

pytestmark = pytest.mark.django_db

TABS = ("", "/notes", "/boards", "/collects", "/followers", "/following")


def profile_urls(user) -> list[str]:
    return [f"/api/v1/users/{user.username}{tab}" for tab in TABS]


def test_a_deactivated_account_is_gone_from_every_endpoint(client_for, anon_client):
    gone, fan = UserFactory(), UserFactory()
    NoteFactory(author=gone)
    services.follow_create(follower=fan, followee=gone)
    services.follow_create(follower=gone, followee=fan)
    for url in profile_urls(gone):  # all there while it is active
        assert client_for(fan).get(url).status_code == 200, url
    services.user_set_active(user=gone, active=False)
    client = client_for(fan)
    for viewer in (anon_client, client):
        for url in profile_urls(gone):
            assert_error(viewer.get(url), 404, "not_found")
    for call in (client.post, client.delete):
        for action in ("follow", "block"):
            assert_error(call(f"/api/v1/users/{gone.username}/{action}"), 404, "not_found")
    report = {"target_type": "user", "target_id": gone.pk, "reason": "spam"}
    assert_error(client.post("/api/v1/reports", report, format="json"), 404, "not_found")
    # Nor is it listed anywhere the fan looks, though the rows stay for a reactivation.
    for tab in ("followers", "following"):
        assert usernames(client.get(f"/api/v1/users/{fan.username}/{tab}")) == []
    assert Follow.objects.filter(follower=fan, followee=gone).exists()
    assert not Report.objects.exists() and not Block.objects.exists()


@pytest.mark.parametrize("side", ["blocker", "blocked"])
def test_a_blocked_pair_finds_nothing_of_each_other_on_any_tab(client_for, anon_client, side):
    blocker, blocked = UserFactory(), UserFactory()
    services.block_create(blocker=blocker, blocked=blocked)
    viewer, profile = (blocker, blocked) if side == "blocker" else (blocked, blocker)
    client = client_for(viewer)
    for url in profile_urls(profile):
        assert_error(client.get(url), 404, "not_found")
        assert anon_client.get(url).status_code == 200, url  # the profile itself is public
    for call in (client.post, client.delete):
        assert_error(call(f"/api/v1/users/{profile.username}/follow"), 404, "not_found")
    assert not Follow.objects.exists() and not FollowRequest.objects.exists()


# --- Notifications -------------------------------------------------------------------------------


def inbox(client) -> tuple[list[str | None], int]:
    response = client.get("/api/v1/me/notifications")
    assert response.status_code == 200, response.content
    body = response.json()
    return [item["actor"] and item["actor"]["username"] for item in body["results"]], body["unread_count"]


@pytest.mark.parametrize(
    "hidden_by", ["actor blocks recipient", "recipient blocks actor", "actor deactivated"]
)
def test_notices_from_someone_now_hidden_from_the_recipient_are_not_shown(client_for, hidden_by):
    """A block hides the two people from each other everywhere (``User.objects.visible_to``), and
    new notices between them are never written; the ones written before stayed in the inbox with
    the other person's name, avatar and follower count."""
    me, actor, friend = UserFactory(), UserFactory(username="actor"), UserFactory(username="friend")
    services.follow_create(follower=actor, followee=me)
    services.follow_create(follower=friend, followee=me)
    services.notify(recipient_id=me.pk, actor_id=None, verb="certification")  # a system notice
    client = client_for(me)
    assert inbox(client) == ([None, "friend", "actor"], 3)
    if hidden_by == "actor blocks recipient":
        services.block_create(blocker=actor, blocked=me)
    elif hidden_by == "recipient blocks actor":
        services.block_create(blocker=me, blocked=actor)
    else:
        services.user_set_active(user=actor, active=False)
    assert inbox(client) == ([None, "friend"], 2)
    assert client.post("/api/v1/me/notifications/read", {}, format="json").json()["unread_count"] == 0
    # The rows stay: lifting the block (or reactivating) shows them again, read as marked.
    Block.objects.all().delete()
    User.objects.filter(pk=actor.pk).update(is_active=True)
    assert inbox(client) == ([None, "friend", "actor"], 0)
    assert Notification.objects.filter(recipient=me).count() == 3


# --- Follow requests -----------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_the_requested_account_decides_a_request(client_for, decision):
    fan, private, other = UserFactory(), UserFactory(is_private=True), UserFactory()
    services.follow_create(follower=fan, followee=private)
    for who in (other, fan):  # a stranger, or the requester deciding their own request
        response = client_for(who).post(f"/api/v1/me/follow-requests/{fan.username}/{decision}")
        assert_error(response, 404, "not_found")
    assert list(FollowRequest.objects.values_list("requester", "target")) == [(fan.pk, private.pk)]
    assert not Follow.objects.exists()
    assert usernames(client_for(other).get("/api/v1/me/follow-requests")) == []
    assert usernames(client_for(private).get("/api/v1/me/follow-requests")) == [fan.username]


def test_requests_from_someone_deactivated_are_not_listed(client_for):
    private, fan, gone = UserFactory(is_private=True), UserFactory(), UserFactory()
    for requester in (fan, gone):
        services.follow_create(follower=requester, followee=private)
    services.user_set_active(user=gone, active=False)
    assert usernames(client_for(private).get("/api/v1/me/follow-requests")) == [fan.username]
