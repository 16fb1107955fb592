"""Query budgets of the accounts endpoints, with 20+ rows present.

A JWT-authenticated request spends one query loading its user; the rest is the endpoint's own.
Each list must cost the same at ``page_size=1`` and ``page_size=20`` (no query per row).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Block, Brand, Follow, FollowRequest, Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROWS = 25


@pytest.fixture
def world(db):
    """A viewer and a star with ROWS of everything around them."""
    viewer = UserFactory(username="viewer", is_private=True)
    star = UserFactory(username="star", avatar="avatars/star.webp")
    crowd = UserFactory.create_batch(ROWS, avatar="avatars/someone.webp")
    others = UserFactory.create_batch(ROWS)
    blocked = UserFactory.create_batch(ROWS)
    Follow.objects.bulk_create(
        [Follow(follower=person, followee=star) for person in crowd]
        + [Follow(follower=star, followee=person) for person in others]
        + [Follow(follower=viewer, followee=person) for person in crowd]
        + [Follow(follower=viewer, followee=star)]
    )
    FollowRequest.objects.bulk_create([FollowRequest(requester=person, target=viewer) for person in others])
    Block.objects.bulk_create([Block(blocker=viewer, blocked=person) for person in blocked])
    Notification.objects.bulk_create(
        [Notification(recipient=viewer, actor=person, verb="follow") for person in crowd]
        + [Notification(recipient=viewer, actor=None, verb="brand", text=f"#{n}") for n in range(5)]
    )
    Brand.objects.bulk_create(
        [
            Brand(
                owner=person,
                name=f"Brand {n}",
                slug=f"brand-{n}",
                business_license=f"L{n}",
                status="approved",
            )
            for n, person in enumerate(crowd)
        ]
        + [
            Brand(owner=viewer, name=f"Mine {n}", slug=f"mine-{n}", business_license=f"M{n}")
            for n in range(ROWS)
        ]
    )
    return viewer, star


# (url, budget for an authenticated viewer, including the one query that loads the viewer)
ENDPOINTS = [
    ("/api/v1/users/star/followers", 3),
    ("/api/v1/users/star/following", 3),
    ("/api/v1/me/notifications", 3),
    ("/api/v1/me/follow-requests", 2),
    ("/api/v1/me/blocks", 2),
    ("/api/v1/me/brands", 2),
    ("/api/v1/brands", 2),
]


def queries_for(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured), response.json()


@pytest.mark.parametrize(("url", "budget"), ENDPOINTS)
def test_list_budget_does_not_grow_with_the_page(
    client_for, world, url, budget, django_assert_max_num_queries
):
    viewer, _ = world
    client = client_for(viewer)
    one, small = queries_for(client, f"{url}?page_size=1")
    twenty, big = queries_for(client, f"{url}?page_size=20")
    assert len(small["results"]) == 1
    assert len(big["results"]) == 20
    assert big["next"] is not None
    assert one == twenty, f"{url}: {one} queries for 1 row, {twenty} for 20"
    with django_assert_max_num_queries(budget):
        client.get(url)


@pytest.mark.parametrize(
    ("url", "budget"),
    [("/api/v1/users/star/followers", 2), ("/api/v1/users/star/following", 2), ("/api/v1/brands", 1)],
)
def test_anonymous_list_budget(anon_client, world, url, budget, django_assert_num_queries):
    one, _ = queries_for(anon_client, f"{url}?page_size=1")
    twenty, big = queries_for(anon_client, f"{url}?page_size=20")
    assert len(big["results"]) == 20
    assert one == twenty
    with django_assert_num_queries(budget):
        anon_client.get(url)


def test_private_followers_list_budget(client_for, world, django_assert_num_queries):
    viewer, star = world
    Follow.objects.create(follower=star, followee=viewer)
    client = client_for(star)
    one, _ = queries_for(client, "/api/v1/users/viewer/following?page_size=1")
    twenty, body = queries_for(client, "/api/v1/users/viewer/following?page_size=20")
    assert len(body["results"]) == 20
    assert one == twenty
    with django_assert_num_queries(4):  # + "does the viewer follow this private account?"
        client.get("/api/v1/users/viewer/following")


def test_profile_budget(client_for, world, django_assert_num_queries):
    viewer, _ = world
    client = client_for(viewer)
    with django_assert_num_queries(2):
        body = client.get("/api/v1/users/star").json()
    assert body["follower_count"] == 0  # raw rows: counters are not maintained by bulk_create
    assert body["is_following"] is True


def test_me_budget(client_for, world, django_assert_num_queries):
    viewer, _ = world
    client = client_for(viewer)
    with django_assert_num_queries(1):
        body = client.get("/api/v1/me").json()
    assert body["username"] == "viewer"
