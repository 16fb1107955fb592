"""Notifications: written with their action (one transaction), de-duplicated, private to their
recipient."""

import pytest
from django.db import transaction

from accounts import services
from accounts.models import Follow, Notification
from tests.factories import UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

INBOX = "/api/v1/me/notifications"
READ = "/api/v1/me/notifications/read"


def inbox(client) -> dict:
    response = client.get(INBOX)
    assert response.status_code == 200, response.content
    return response.json()


def test_following_notifies_the_followee(client_for, django_capture_on_commit_callbacks):
    fan, star = UserFactory(), UserFactory(nickname="Star")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(fan).post(f"/api/v1/users/{star.username}/follow")

    body = inbox(client_for(star))
    assert body["unread_count"] == 1
    assert body["next"] is None
    [item] = body["results"]
    assert item["verb"] == "follow"
    assert item["actor"]["username"] == fan.username
    assert item["actor"]["nickname"] == fan.nickname
    assert item["is_read"] is False
    assert (item["target_type"], item["target_id"]) == ("", 0)
    # The follower is not notified of their own action.
    assert inbox(client_for(fan)) == {"results": [], "next": None, "previous": None, "unread_count": 0}


def test_a_notification_is_rolled_back_with_its_action():
    fan, star = UserFactory(), UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.follow_create(follower=fan, followee=star)
        assert Notification.objects.filter(recipient=star, actor=fan, verb="follow").exists()
        raise RuntimeError("the request failed after the follow")
    assert not Notification.objects.exists()
    assert not Follow.objects.exists()


def test_follow_unfollow_follow_notifies_once(client_for, django_capture_on_commit_callbacks):
    fan, star = UserFactory(), UserFactory()
    client = client_for(fan)
    url = f"/api/v1/users/{star.username}/follow"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
        client.delete(url)
        client.post(url)
        client.post(url)
    assert Notification.objects.filter(recipient=star, actor=fan, verb="follow").count() == 1
    assert inbox(client_for(star))["unread_count"] == 1


def test_notifying_twice_writes_one_notification():
    fan, star = UserFactory(), UserFactory()
    for _ in range(2):
        services.notify(recipient_id=star.pk, actor_id=fan.pk, verb="follow")
    rows = Notification.objects.values_list("recipient", "actor", "verb")
    assert list(rows) == [(star.pk, fan.pk, "follow")]


def test_system_notices_are_each_written():
    star = UserFactory()
    for _ in range(2):
        services.notify(recipient_id=star.pk, actor_id=None, verb="order", target_type="order", target_id=7)
    assert Notification.objects.filter(recipient=star, actor=None, verb="order", target_id=7).count() == 2


def test_follow_requests_and_approvals_notify(client_for, django_capture_on_commit_callbacks):
    fan, private = UserFactory(), UserFactory(is_private=True)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(fan).post(f"/api/v1/users/{private.username}/follow")
    [request] = inbox(client_for(private))["results"]
    assert (request["verb"], request["actor"]["username"]) == ("follow_request", fan.username)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(private).post(f"/api/v1/me/follow-requests/{fan.username}/approve")
    [accepted] = inbox(client_for(fan))["results"]
    assert (accepted["verb"], accepted["actor"]["username"]) == ("follow_accepted", private.username)


def like_notice(recipient, actor, note_id: int = 1) -> None:
    services.notify(
        recipient_id=recipient.pk, actor_id=actor.pk, verb="like", target_type="note", target_id=note_id
    )


def test_no_notification_between_blocked_users_nor_to_oneself():
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    services.block_create(blocker=b, blocked=a)
    like_notice(b, a)
    like_notice(a, b)
    like_notice(a, a)
    assert not Notification.objects.exists()
    like_notice(c, a)  # a block between a and b says nothing about c
    assert list(Notification.objects.values_list("recipient", "actor")) == [(c.pk, a.pk)]


def test_distinct_targets_are_distinct_notifications():
    a, b = UserFactory(), UserFactory()
    for note_id in (1, 2, 2):
        like_notice(b, a, note_id)
    assert sorted(Notification.objects.filter(recipient=b).values_list("target_id", flat=True)) == [1, 2]


def make_inbox(recipient, n: int) -> list[Notification]:
    for actor in UserFactory.create_batch(n):
        services.notify(recipient_id=recipient.pk, actor_id=actor.pk, verb="follow")
    return list(Notification.objects.filter(recipient=recipient).order_by("pk"))


def test_inbox_is_newest_first_with_unread_count(api):
    notes = make_inbox(api.user, 3)
    body = inbox(api)
    assert [item["id"] for item in body["results"]] == [n.pk for n in reversed(notes)]
    assert body["unread_count"] == 3


def test_mark_some_read(api):
    notes = make_inbox(api.user, 3)
    response = api.post(READ, {"ids": [notes[0].pk, notes[2].pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"marked": 2, "unread_count": 1}
    body = inbox(api)
    assert body["unread_count"] == 1
    assert {item["id"]: item["is_read"] for item in body["results"]} == {
        notes[0].pk: True,
        notes[1].pk: False,
        notes[2].pk: True,
    }
    # Marking again changes nothing.
    assert api.post(READ, {"ids": [notes[0].pk]}, format="json").json() == {"marked": 0, "unread_count": 1}


def test_mark_all_read(api):
    make_inbox(api.user, 4)
    assert api.post(READ, {}, format="json").json() == {"marked": 4, "unread_count": 0}
    assert all(item["is_read"] for item in inbox(api)["results"])
    assert not Notification.objects.filter(recipient=api.user, read_at__isnull=True).exists()


def test_nobody_sees_or_marks_anothers_notifications(client_for):
    alice, bob = UserFactory(), UserFactory()
    alices = make_inbox(alice, 2)
    bobs = make_inbox(bob, 1)
    bob_client = client_for(bob)
    assert [item["id"] for item in inbox(bob_client)["results"]] == [bobs[0].pk]

    response = bob_client.post(READ, {"ids": [n.pk for n in alices]}, format="json")
    assert response.json() == {"marked": 0, "unread_count": 1}
    bob_client.post(READ, {}, format="json")  # "all" means all of *mine*
    assert Notification.objects.filter(recipient=alice, read_at__isnull=True).count() == 2
    assert inbox(client_for(alice))["unread_count"] == 2


@pytest.mark.parametrize("body", [{"ids": ["x"]}, {"ids": [0]}, {"ids": 5}, {"all": True}])
def test_mark_read_validates_its_input(api, body):
    make_inbox(api.user, 1)
    error = assert_error(api.post(READ, body, format="json"), 400, "invalid")
    assert set(error["fields"]) == set(body)
    assert inbox(api)["unread_count"] == 1


def test_notifications_need_authentication(anon_client):
    assert_error(anon_client.get(INBOX), 401, "not_authenticated")
    assert_error(anon_client.post(READ, {}, format="json"), 401, "not_authenticated")
