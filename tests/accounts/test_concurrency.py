"""Follow/block services under real concurrency (PostgreSQL only).

``run_together`` gives each call its own thread and so its own database connection (Django's are
per thread), closed when the thread ends; a barrier makes the calls really overlap.
"""

from __future__ import annotations

import random

import pytest

from accounts import services
from accounts.choices import NotificationVerb
from accounts.models import Block, Brand, Follow, FollowRequest, KolCertification, Notification, User
from tests.conftest import make_client, requires_postgres, twin
from tests.factories import BrandFactory, UserFactory
from tests.helpers import assert_counters_match_rows, assert_error, run_together

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


# --- Profiles, applications, going public ---------------------------------------------------------


def test_two_profile_edits_at_once_keep_both_fields():
    """Each edit writes only the fields it was sent: neither undoes the other."""
    user = UserFactory()
    for n in range(8):
        run_together(
            [
                lambda n=n: services.user_update_profile(user=fresh(user), data={"nickname": f"昵称 {n}"}),
                lambda n=n: services.user_update_profile(
                    user=fresh(user), data={"bio": f"简介 {n}", "city": "杭州"}
                ),
            ]
        )
        assert (fresh(user).nickname, fresh(user).bio, fresh(user).city) == (f"昵称 {n}", f"简介 {n}", "杭州")


def test_a_brand_reviewed_by_two_moderators_at_once_is_decided_once():
    owner, moderators = UserFactory(), UserFactory.create_batch(2, is_staff=True)
    for approve_second in (True, False):
        brand = BrandFactory(owner=owner)

        def review(moderator, approve, brand=brand):
            try:
                return services.brand_review(brand=brand, reviewer=moderator, approve=approve).status
            except services.Conflict as exc:
                return exc.code

        outcomes = run_together(
            [
                lambda: review(moderators[0], True),
                lambda approve=approve_second: review(moderators[1], approve),
            ]
        )

        assert "already_decided" in outcomes and len(outcomes) == 2, outcomes
        decided = Brand.objects.get(pk=brand.pk)
        winner = moderators[outcomes.index(decided.status)]
        assert decided.reviewed_by == winner
        notices = Notification.objects.filter(recipient=owner, verb=NotificationVerb.BRAND)
        assert notices.count() == (1 if approve_second else 2)


def test_five_brand_applications_with_one_name_at_once_make_one(client_for):
    applicants = [client_for(UserFactory()) for _ in range(5)]
    body = {"name": "山茶花", "slug": "camellia", "business_license": "91310000MA00000001"}

    responses = run_together([lambda c=c: c.post("/api/v1/brands", body, format="json") for c in applicants])

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "brand_exists")
    created = next(r.json() for r in responses if r.status_code == 201)
    assert list(Brand.objects.values_list("slug", "name")) == [(created["slug"], "山茶花")]


def test_brand_names_differing_only_in_case_applied_for_at_once_make_one(client_for):
    """The service's clash check reads names case-blind, but two applications at once both pass it:
    only the constraint on ``Lower(name)`` holds them to one."""
    for round_ in range(3):
        names = ["Camellia", "CAMELLIA", "camellia", "CaMeLLiA", "cAMELLIA"]
        applicants = [client_for(UserFactory()) for _ in names]
        bodies = [
            {
                "name": f"{name} {round_}",
                "slug": f"camellia-{round_}-{i}",
                "business_license": "91310000MA00000001",
            }
            for i, name in enumerate(names)
        ]

        responses = run_together(
            [
                lambda c=c, b=b: c.post("/api/v1/brands", b, format="json")
                for c, b in zip(applicants, bodies, strict=True)
            ]
        )

        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
        for response in responses:
            if response.status_code == 409:
                assert assert_error(response, 409, "brand_exists")["fields"] == {
                    "name": ["A brand with this name exists."]
                }
        assert Brand.objects.filter(name__iexact=f"camellia {round_}").count() == 1


def test_one_certification_applied_for_twice_at_once_is_one_application(client_for, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "100/m/ip"}
    bodies = [
        {"real_name": name, "category": "beauty", "statement": "十年美妆博主"} for name in ("王一", "王二")
    ]
    for _ in range(6):
        user = UserFactory()
        first = client_for(user)
        second = twin(first)

        responses = run_together(
            [
                lambda c=c, body=body: c.post("/api/v1/creator/certification", body, format="json")
                for c, body in zip((first, second), bodies, strict=True)
            ]
        )

        assert sorted(r.status_code for r in responses) == [201, 409]
        created = next(r for r in responses if r.status_code == 201).json()
        assert_error(next(r for r in responses if r.status_code == 409), 409, "already_pending")
        assert list(KolCertification.objects.filter(user=user).values_list("real_name", flat=True)) == [
            created["real_name"]
        ]


def test_following_a_private_account_while_it_goes_public():
    """The follow is decided with the account's privacy as it is under the pair's lock: a request
    sent as the account opens is let in with the others, never left pending on a public account."""
    for _ in range(10):
        fan, star = UserFactory(), UserFactory(is_private=True)
        star_seen_by_fan = fresh(star)  # what the follow request's view looked up

        run_together(
            [
                lambda fan=fan, seen=star_seen_by_fan: services.follow_create(follower=fan, followee=seen),
                lambda star=star: services.user_update_profile(user=fresh(star), data={"is_private": False}),
            ]
        )

        assert Follow.objects.filter(follower=fan, followee=star).exists()
        assert not FollowRequest.objects.filter(target=star).exists()
        assert_counters_match_rows()


def test_an_account_going_public_while_a_requester_asks_again():
    """Going public lets the pending requesters in (their counters move) while one of them taps
    follow again: the two take the pair's rows in one order, so neither waits on the other in a
    cycle (a deadlock would abort one of them)."""
    for _ in range(10):
        fan = UserFactory()
        star = UserFactory(is_private=True)
        assert fan.pk < star.pk
        services.follow_create(follower=fan, followee=star)

        results = run_together(
            [
                lambda fan=fan, star=star: services.follow_create(follower=fan, followee=fresh(star)),
                lambda star=star: services.user_update_profile(user=fresh(star), data={"is_private": False}),
            ]
        )

        assert results[0].state in (services.FollowState.REQUESTED, services.FollowState.FOLLOWING)
        assert Follow.objects.filter(follower=fan, followee=star).exists()
        assert not FollowRequest.objects.filter(target=star).exists()
        assert_counters_match_rows()
