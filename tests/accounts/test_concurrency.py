"""Follow/block services under real concurrency (PostgreSQL only).

``run_together`` gives each call its own thread and so its own database connection (Django's are
per thread), closed when the thread ends; a barrier makes the calls really overlap.
"""

from __future__ import annotations

import random

import pytest

from accounts import services
from accounts.models import Block, Follow, FollowRequest, User
from tests.conftest import make_client, requires_postgres
from tests.factories import UserFactory
from tests.helpers import assert_counters_match_rows, run_together

pytestmark = [requires_postgres(), pytest.mark.services, pytest.mark.django_db(transaction=True)]


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_parallel_follows_by_one_user_make_one_row():
    fan, star = UserFactory(), UserFactory()
    results = run_together([lambda: services.follow_create(follower=fresh(fan), followee=fresh(star))] * 20)
    assert {r.state for r in results} == {services.FollowState.FOLLOWING}
    assert sum(r.changed for r in results) == 1
    assert Follow.objects.filter(follower=fan, followee=star).count() == 1
    assert (fresh(star).follower_count, fresh(fan).following_count) == (1, 1)


def test_parallel_follows_through_the_api_make_one_row():
    fan, star = UserFactory(), UserFactory()
    tokens = make_client(fan).tokens

    def follow():
        client = make_client()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        return client.post(f"/api/v1/users/{star.username}/follow")

    responses = run_together([follow] * 20)
    assert [r.status_code for r in responses] == [200] * 20
    bodies = [r.json() for r in responses]
    assert sum(body["changed"] for body in bodies) == 1
    assert {body["state"] for body in bodies} == {"following"}
    assert Follow.objects.filter(follower=fan, followee=star).count() == 1
    assert fresh(star).follower_count == 1


def test_parallel_follows_by_many_users_lose_no_increment():
    star = UserFactory()
    fans = UserFactory.create_batch(20)
    run_together([lambda fan=fan: services.follow_create(follower=fan, followee=fresh(star)) for fan in fans])
    assert fresh(star).follower_count == 20 == Follow.objects.filter(followee=star).count()
    assert_counters_match_rows()


def test_parallel_requests_to_a_private_account_make_one_request():
    fan, private = UserFactory(), UserFactory(is_private=True)
    results = run_together([lambda: services.follow_create(follower=fan, followee=fresh(private))] * 10)
    assert {r.state for r in results} == {services.FollowState.REQUESTED}
    assert sum(r.changed for r in results) == 1
    assert FollowRequest.objects.filter(requester=fan, target=private).count() == 1
    assert not Follow.objects.exists()


def test_follow_unfollow_storm_keeps_counters_exact():
    people = UserFactory.create_batch(5)

    def storm(seed: int):
        rng = random.Random(seed)
        for _ in range(15):
            a, b = rng.sample(people, 2)
            if rng.random() < 0.6:
                services.follow_create(follower=a, followee=fresh(b))
            else:
                services.follow_delete(follower=a, followee=b)

    run_together([lambda seed=seed: storm(seed) for seed in range(12)])
    assert_counters_match_rows()
    assert Follow.objects.exists()


def test_mutual_follows_and_unfollows_do_not_deadlock():
    a, b = UserFactory(), UserFactory()
    for _ in range(10):
        run_together(
            [
                lambda: services.follow_create(follower=a, followee=fresh(b)),
                lambda: services.follow_create(follower=b, followee=fresh(a)),
            ]
        )
        assert Follow.objects.count() == 2
        assert (fresh(a).follower_count, fresh(a).following_count) == (1, 1)
        run_together(
            [
                lambda: services.follow_delete(follower=a, followee=b),
                lambda: services.follow_delete(follower=b, followee=a),
            ]
        )
        assert not Follow.objects.exists()
        assert_counters_match_rows()


def test_mutual_blocks_do_not_deadlock():
    """Two people who follow each other block each other at the same moment."""
    a, b = UserFactory(), UserFactory()
    for _ in range(10):
        services.follow_create(follower=a, followee=b)
        services.follow_create(follower=b, followee=a)
        results = run_together(
            [
                lambda: services.block_create(blocker=a, blocked=b),
                lambda: services.block_create(blocker=b, blocked=a),
            ]
        )
        assert results == [True, True]
        assert not Follow.objects.exists()
        assert_counters_match_rows()
        Block.objects.all().delete()


def test_block_racing_an_unfollow_does_not_deadlock():
    a, b = UserFactory(), UserFactory()
    for _ in range(10):
        services.follow_create(follower=a, followee=b)
        services.follow_create(follower=b, followee=a)
        run_together(
            [
                lambda: services.block_create(blocker=a, blocked=b),
                lambda: services.follow_delete(follower=b, followee=a),
            ]
        )
        assert not Follow.objects.exists()
        assert_counters_match_rows()
        Block.objects.all().delete()


def test_relationship_storm_with_blocks_keeps_counters_exact():
    people = UserFactory.create_batch(5)

    def storm(seed: int):
        rng = random.Random(seed)
        for _ in range(12):
            a, b = rng.sample(people, 2)
            roll = rng.random()
            try:
                if roll < 0.5:
                    services.follow_create(follower=a, followee=fresh(b))
                elif roll < 0.7:
                    services.follow_delete(follower=a, followee=b)
                elif roll < 0.85:
                    services.block_create(blocker=a, blocked=b)
                else:
                    services.block_delete(blocker=a, blocked=b)
            except services.NotFound:
                pass  # following someone across a block

    run_together([lambda seed=seed: storm(seed) for seed in range(10)])
    assert_counters_match_rows()
