"""Cursor pagination over relation lists: no repeats, no gaps, stable under inserts."""

import pytest

from accounts.models import Follow, Notification
from config.api.pagination import CursorPagination
from tests.factories import UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def star_with_45_followers(db):
    star = UserFactory(username="star")
    fans = UserFactory.create_batch(45)
    for fan in fans:  # one by one: ids (and so the list order) follow the creation order
        Follow.objects.create(follower=fan, followee=star)
    return star, fans


def walk(client, url: str) -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item["username"] for item in body["results"]])
        url = body["next"]
        assert len(pages) < 10, "pagination does not end"
    return pages


def test_walking_next_links_sees_everyone_once(anon_client, star_with_45_followers):
    star, fans = star_with_45_followers
    pages = walk(anon_client, f"/api/v1/users/{star.username}/followers?page_size=20")
    assert [len(page) for page in pages] == [20, 20, 5]
    seen = [name for page in pages for name in page]
    assert len(seen) == len(set(seen)) == 45
    assert seen == [fan.username for fan in reversed(fans)]  # newest first


def test_pages_are_stable_when_people_follow_meanwhile(api, star_with_45_followers):
    star, fans = star_with_45_followers
    first = api.get(f"/api/v1/users/{star.username}/followers?page_size=20").json()
    late = UserFactory.create_batch(3)
    for fan in late:
        Follow.objects.create(follower=fan, followee=star)
    rest = walk(api, first["next"])
    seen = [item["username"] for item in first["results"]] + [name for page in rest for name in page]
    assert seen == [fan.username for fan in reversed(fans)]
    # The newcomers are at the head of a fresh first page.
    fresh = api.get(f"/api/v1/users/{star.username}/followers?page_size=3").json()["results"]
    assert [item["username"] for item in fresh] == [fan.username for fan in reversed(late)]


def test_previous_link_walks_back(anon_client, star_with_45_followers):
    star, _ = star_with_45_followers
    first = anon_client.get(f"/api/v1/users/{star.username}/followers?page_size=20").json()
    assert first["previous"] is None
    second = anon_client.get(first["next"]).json()
    back = anon_client.get(second["previous"]).json()
    assert back["results"] == first["results"]


def test_page_size_is_capped(anon_client, star_with_45_followers, monkeypatch):
    monkeypatch.setattr(CursorPagination, "max_page_size", 10)
    star, _ = star_with_45_followers
    body = anon_client.get(f"/api/v1/users/{star.username}/followers?page_size=1000").json()
    assert len(body["results"]) == 10
    assert body["next"] is not None


def test_bad_cursor_is_a_json_404(anon_client, star_with_45_followers):
    star, _ = star_with_45_followers
    assert_error(anon_client.get(f"/api/v1/users/{star.username}/followers?cursor=garbage"), 404, "not_found")


def test_every_notification_page_carries_the_unread_count(api):
    actors = UserFactory.create_batch(25)
    Notification.objects.bulk_create(
        [Notification(recipient=api.user, actor=a, verb="follow") for a in actors]
    )
    first = api.get("/api/v1/me/notifications?page_size=20").json()
    second = api.get(first["next"]).json()
    assert (first["unread_count"], second["unread_count"]) == (25, 25)
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 25
    assert second["next"] is None
