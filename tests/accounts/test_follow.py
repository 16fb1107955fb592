"""Follow, follow requests, blocks and private accounts: the relationship invariants."""

import random

import pytest
from django.db.models import Exists, OuterRef, Q

from accounts import services
from accounts.models import Block, Follow, FollowRequest, User
from tests.factories import UserFactory
from tests.helpers import assert_counters_match_rows, assert_error, usernames

pytestmark = pytest.mark.django_db


def follow_url(user: User) -> str:
    return f"/api/v1/users/{user.username}/follow"


def block_url(user: User) -> str:
    return f"/api/v1/users/{user.username}/block"


def counters(user: User) -> tuple[int, int]:
    user = User.objects.get(pk=user.pk)
    return user.follower_count, user.following_count


# --- Follow / unfollow -----------------------------------------------------------------------


def test_follow_is_idempotent(api):
    star = UserFactory()
    first = api.post(follow_url(star))
    assert first.status_code == 200, first.content
    assert first.json() == {"state": "following", "changed": True, "follower_count": 1}
    second = api.post(follow_url(star))
    assert second.json() == {"state": "following", "changed": False, "follower_count": 1}
    assert Follow.objects.filter(follower=api.user, followee=star).count() == 1
    assert counters(star) == (1, 0)
    assert counters(api.user) == (0, 1)


def test_unfollow_is_idempotent(api):
    star = UserFactory()
    api.post(follow_url(star))
    first = api.delete(follow_url(star))
    assert first.json() == {"state": "none", "changed": True, "follower_count": 0}
    second = api.delete(follow_url(star))
    assert second.json() == {"state": "none", "changed": False, "follower_count": 0}
    assert not Follow.objects.exists()
    assert counters(star) == (0, 0)
    assert counters(api.user) == (0, 0)


def test_unfollow_without_following_changes_nothing(api):
    star = UserFactory()
    assert api.delete(follow_url(star)).json() == {"state": "none", "changed": False, "follower_count": 0}
    assert counters(star) == (0, 0)


def test_cannot_follow_yourself(api):
    error = assert_error(api.post(follow_url(api.user)), 400, "self_follow")
    assert "yourself" in error["message"]
    assert not Follow.objects.exists()
    assert counters(api.user) == (0, 0)


def test_follow_unknown_user_is_404(api):
    assert_error(api.post("/api/v1/users/ghost/follow"), 404, "not_found")


def test_follow_needs_authentication(anon_client):
    star = UserFactory()
    assert_error(anon_client.post(follow_url(star)), 401, "not_authenticated")
    assert not Follow.objects.exists()


def test_profile_shows_relationship_flags(client_for):
    a, b = UserFactory(), UserFactory()
    services.follow_create(follower=b, followee=a)
    client = client_for(a)
    body = client.get(f"/api/v1/users/{b.username}").json()
    assert (body["is_following"], body["follows_you"], body["is_requested"]) == (False, True, False)
    client.post(follow_url(b))
    body = client.get(f"/api/v1/users/{b.username}").json()
    assert (body["is_following"], body["follows_you"]) == (True, True)
    assert (body["follower_count"], body["following_count"]) == (1, 1)
    assert "email" not in body and "birthday" not in body


# --- Private accounts and follow requests ------------------------------------------------------


def test_following_a_private_account_makes_a_request(client_for):
    fan, private = UserFactory(), UserFactory(is_private=True)
    fan_client = client_for(fan)
    first = fan_client.post(follow_url(private))
    assert first.json() == {"state": "requested", "changed": True, "follower_count": 0}
    again = fan_client.post(follow_url(private))
    assert again.json() == {"state": "requested", "changed": False, "follower_count": 0}
    assert FollowRequest.objects.filter(requester=fan, target=private).count() == 1
    assert not Follow.objects.exists()
    assert counters(private) == (0, 0) and counters(fan) == (0, 0)
    assert fan_client.get(f"/api/v1/users/{private.username}").json()["is_requested"] is True

    requests = client_for(private).get("/api/v1/me/follow-requests")
    assert usernames(requests) == [fan.username]
    # Nobody else sees them.
    assert usernames(fan_client.get("/api/v1/me/follow-requests")) == []


def test_approving_a_request_creates_the_follow(client_for):
    fan, private = UserFactory(), UserFactory(is_private=True)
    client_for(fan).post(follow_url(private))
    owner = client_for(private)
    response = owner.post(f"/api/v1/me/follow-requests/{fan.username}/approve")
    assert response.status_code == 204, response.content
    assert Follow.objects.filter(follower=fan, followee=private).exists()
    assert not FollowRequest.objects.exists()
    assert counters(private) == (1, 0) and counters(fan) == (0, 1)
    assert usernames(owner.get("/api/v1/me/follow-requests")) == []
    assert_error(owner.post(f"/api/v1/me/follow-requests/{fan.username}/approve"), 404, "not_found")
    assert counters(private) == (1, 0)


def test_rejecting_a_request_creates_nothing(client_for):
    fan, private = UserFactory(), UserFactory(is_private=True)
    client_for(fan).post(follow_url(private))
    owner = client_for(private)
    assert owner.post(f"/api/v1/me/follow-requests/{fan.username}/reject").status_code == 204
    assert not Follow.objects.exists() and not FollowRequest.objects.exists()
    assert counters(private) == (0, 0) and counters(fan) == (0, 0)
    assert_error(owner.post(f"/api/v1/me/follow-requests/{fan.username}/reject"), 404, "not_found")


def test_only_the_target_can_approve(client_for):
    fan, private, other = UserFactory(), UserFactory(is_private=True), UserFactory()
    client_for(fan).post(follow_url(private))
    assert_error(
        client_for(other).post(f"/api/v1/me/follow-requests/{fan.username}/approve"), 404, "not_found"
    )
    assert FollowRequest.objects.filter(requester=fan, target=private).exists()
    assert not Follow.objects.exists()


def test_unfollow_withdraws_a_pending_request(client_for):
    fan, private = UserFactory(), UserFactory(is_private=True)
    client = client_for(fan)
    client.post(follow_url(private))
    assert client.delete(follow_url(private)).json() == {
        "state": "none",
        "changed": True,
        "follower_count": 0,
    }
    assert not FollowRequest.objects.exists()


def test_going_public_accepts_pending_requests(client_for):
    private = UserFactory(is_private=True)
    fans = UserFactory.create_batch(3)
    for fan in fans:
        services.follow_create(follower=fan, followee=private)
    assert FollowRequest.objects.count() == 3
    response = client_for(private).patch("/api/v1/me", {"is_private": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["follower_count"] == 3
    assert not FollowRequest.objects.exists()
    assert set(Follow.objects.filter(followee=private).values_list("follower", flat=True)) == {
        fan.pk for fan in fans
    }
    assert counters(private) == (3, 0)
    assert all(counters(fan) == (0, 1) for fan in fans)


def test_going_private_keeps_existing_followers(client_for):
    star, fan = UserFactory(), UserFactory()
    services.follow_create(follower=fan, followee=star)
    client_for(star).patch("/api/v1/me", {"is_private": True}, format="json")
    assert Follow.objects.filter(follower=fan, followee=star).exists()
    assert counters(star) == (1, 0)


def test_private_lists_are_hidden_from_non_followers(client_for, anon_client):
    private = UserFactory(is_private=True)
    follower, stranger = UserFactory(), UserFactory()
    followed = UserFactory()
    services.follow_create(follower=follower, followee=private)
    services.follow_request_approve(target=private, requester=follower)
    services.follow_create(follower=private, followee=followed)

    for kind in ("followers", "following"):
        url = f"/api/v1/users/{private.username}/{kind}"
        assert_error(client_for(stranger).get(url), 403, "private_account")
        assert_error(anon_client.get(url), 403, "private_account")
    for client in (client_for(follower), client_for(private)):
        assert usernames(client.get(f"/api/v1/users/{private.username}/followers")) == [follower.username]
        assert usernames(client.get(f"/api/v1/users/{private.username}/following")) == [followed.username]
    # The profile itself stays visible, and says it is private.
    profile = anon_client.get(f"/api/v1/users/{private.username}")
    assert profile.status_code == 200
    assert profile.json()["is_private"] is True
    assert profile.json()["follower_count"] == 1


def test_a_pending_request_does_not_open_private_lists(client_for):
    private, fan = UserFactory(is_private=True), UserFactory()
    client = client_for(fan)
    client.post(follow_url(private))
    assert_error(client.get(f"/api/v1/users/{private.username}/followers"), 403, "private_account")


def test_public_lists_show_relationship_flags(client_for, anon_client):
    star = UserFactory()
    fan1, fan2, viewer = UserFactory(), UserFactory(), UserFactory()
    for fan in (fan1, fan2):
        services.follow_create(follower=fan, followee=star)
    services.follow_create(follower=viewer, followee=fan1)
    services.follow_create(follower=fan2, followee=viewer)

    results = client_for(viewer).get(f"/api/v1/users/{star.username}/followers").json()["results"]
    by_name = {item["username"]: item for item in results}
    assert list(by_name) == [fan2.username, fan1.username]  # newest first
    assert by_name[fan1.username]["is_following"] is True
    assert by_name[fan1.username]["follows_you"] is False
    assert by_name[fan2.username]["is_following"] is False
    assert by_name[fan2.username]["follows_you"] is True
    assert usernames(anon_client.get(f"/api/v1/users/{fan1.username}/following")) == [star.username]
    anon_item = anon_client.get(f"/api/v1/users/{star.username}/followers").json()["results"][0]
    assert anon_item["is_following"] is False and anon_item["follows_you"] is False


# --- Blocks ----------------------------------------------------------------------------------


def test_block_removes_follows_both_ways_and_hides_both(client_for):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    services.follow_create(follower=a, followee=b)
    services.follow_create(follower=b, followee=a)
    services.follow_create(follower=b, followee=c)
    services.follow_create(follower=a, followee=c)
    client_a, client_b = client_for(a), client_for(b)

    response = client_a.post(block_url(b))
    assert response.json() == {"blocked": True, "changed": True}
    assert client_a.post(block_url(b)).json() == {"blocked": True, "changed": False}
    assert Block.objects.filter(blocker=a, blocked=b).count() == 1
    assert not Follow.objects.filter(follower__in=[a, b], followee__in=[a, b]).exists()
    assert counters(a) == (0, 1) and counters(b) == (0, 1) and counters(c) == (2, 0)
    assert_counters_match_rows()

    # Hidden from each other, both ways.
    assert_error(client_a.get(f"/api/v1/users/{b.username}"), 404, "not_found")
    assert_error(client_b.get(f"/api/v1/users/{a.username}"), 404, "not_found")
    assert_error(client_b.get(f"/api/v1/users/{a.username}/followers"), 404, "not_found")
    assert usernames(client_a.get(f"/api/v1/users/{c.username}/followers")) == [a.username]
    assert usernames(client_b.get(f"/api/v1/users/{c.username}/followers")) == [b.username]
    # Neither can follow the other.
    assert_error(client_a.post(follow_url(b)), 404, "not_found")
    assert_error(client_b.post(follow_url(a)), 404, "not_found")
    assert not Follow.objects.filter(follower__in=[a, b], followee__in=[a, b]).exists()

    assert usernames(client_a.get("/api/v1/me/blocks")) == [b.username]
    assert usernames(client_b.get("/api/v1/me/blocks")) == []


def test_block_removes_pending_follow_requests_both_ways(client_for):
    a, b = UserFactory(is_private=True), UserFactory(is_private=True)
    services.follow_create(follower=a, followee=b)
    services.follow_create(follower=b, followee=a)
    assert FollowRequest.objects.count() == 2
    client_for(b).post(block_url(a))
    assert not FollowRequest.objects.exists()


def test_cannot_block_yourself(api):
    assert_error(api.post(block_url(api.user)), 400, "self_block")
    assert not Block.objects.exists()


def test_unblock(client_for):
    a, b = UserFactory(), UserFactory()
    services.follow_create(follower=a, followee=b)
    client = client_for(a)
    client.post(block_url(b))
    assert client.delete(block_url(b)).json() == {"blocked": False, "changed": True}
    assert client.delete(block_url(b)).json() == {"blocked": False, "changed": False}
    assert not Block.objects.exists()
    assert client.get(f"/api/v1/users/{b.username}").status_code == 200
    assert client_for(b).get(f"/api/v1/users/{a.username}").status_code == 200
    # The old follow is not restored; following again works and counts once.
    assert not Follow.objects.exists()
    assert client.post(follow_url(b)).json() == {"state": "following", "changed": True, "follower_count": 1}
    assert_counters_match_rows()


def test_blocked_user_can_still_block_back_and_unblock_only_their_own(client_for):
    a, b = UserFactory(), UserFactory()
    client_for(a).post(block_url(b))
    client_b = client_for(b)
    assert client_b.post(block_url(a)).json() == {"blocked": True, "changed": True}
    client_b.delete(block_url(a))
    # b removing their own block does not lift a's.
    assert Block.objects.filter(blocker=a, blocked=b).exists()
    assert_error(client_b.get(f"/api/v1/users/{a.username}"), 404, "not_found")


def test_block_needs_authentication(anon_client):
    b = UserFactory()
    assert_error(anon_client.post(block_url(b)), 401, "not_authenticated")


# --- Counters stay exact ---------------------------------------------------------------------


def follows_across_a_block():
    across = Block.objects.filter(
        Q(blocker=OuterRef("follower"), blocked=OuterRef("followee"))
        | Q(blocker=OuterRef("followee"), blocked=OuterRef("follower"))
    )
    return Follow.objects.filter(Exists(across))


@pytest.mark.parametrize("seed", range(3))
def test_counters_match_rows_after_a_random_sequence(seed):
    rng = random.Random(seed)
    people = UserFactory.create_batch(6)
    people[0].is_private = True
    User.objects.filter(pk=people[0].pk).update(is_private=True)
    for _ in range(120):
        a, b = rng.sample(people, 2)
        a.refresh_from_db()
        b.refresh_from_db()
        action = rng.choices(
            ["follow", "unfollow", "block", "unblock", "approve", "privacy", "self"],
            weights=[10, 5, 1, 2, 3, 1, 1],
        )[0]
        try:
            if action == "follow":
                services.follow_create(follower=a, followee=b)
            elif action == "unfollow":
                services.follow_delete(follower=a, followee=b)
            elif action == "block":
                services.block_create(blocker=a, blocked=b)
            elif action == "unblock":
                services.block_delete(blocker=a, blocked=b)
            elif action == "approve":
                services.follow_request_approve(target=b, requester=a)
            elif action == "privacy":
                services.user_update_profile(user=a, data={"is_private": not a.is_private})
            else:
                services.follow_create(follower=a, followee=a)
        except services.InvalidInput:
            assert action == "self"
        except services.NotFound:
            assert action in {"follow", "approve"}
        assert not follows_across_a_block().exists()
    assert_counters_match_rows()
    assert Follow.objects.exists()  # the sequence did something


def test_counters_match_rows_after_a_random_sequence_through_the_api(client_for):
    rng = random.Random(7)
    people = UserFactory.create_batch(4)
    clients = {person.pk: client_for(person) for person in people}
    for _ in range(60):
        a, b = rng.sample(people, 2)
        client = clients[a.pk]
        method, url = rng.choice(
            [("post", follow_url(b))] * 4
            + [("delete", follow_url(b))] * 2
            + [("post", block_url(b))]
            + [("delete", block_url(b))] * 2
        )
        response = getattr(client, method)(url)
        assert response.status_code in (200, 404), response.content
    assert_counters_match_rows()
    assert not follows_across_a_block().exists()


@pytest.mark.django_db
def test_relationship_signals_are_sent_after_commit(django_capture_on_commit_callbacks):
    from accounts.signals import block_created, follow_changed

    a, b = UserFactory(), UserFactory()
    seen = []

    def on_follow(sender, follower_id, followee_id, following, **kwargs):
        seen.append(("follow", follower_id, followee_id, following))

    def on_block(sender, blocker_id, blocked_id, **kwargs):
        seen.append(("block", blocker_id, blocked_id))

    follow_changed.connect(on_follow)
    block_created.connect(on_block)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.follow_create(follower=a, followee=b)
            services.follow_create(follower=a, followee=b)  # a repeat changes nothing: no signal
        with django_capture_on_commit_callbacks(execute=True):
            services.block_create(blocker=b, blocked=a)
    finally:
        follow_changed.disconnect(on_follow)
        block_created.disconnect(on_block)
    assert seen == [("follow", a.pk, b.pk, True), ("follow", a.pk, b.pk, False), ("block", b.pk, a.pk)]
