"""Hot searches and hot topics: counting, sliding-window roll-up (Redis when configured, the
database otherwise), pinning and suppression, and the endpoints that show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notes import tasks
from notes.choices import Visibility
from notes.models import HotSearch, NoteTopic, SearchHistory, Topic, TopicHeat, TrendCounter
from notes.search import trending
from notes.search.trending import count_note_topics, count_query, trending_rollup
from notes.services import notes as note_services
from tests.factories import UserFactory
from tests.factories.notes import MediaFactory, NoteFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _plain_hours(settings):
    """Hourly buckets over 24 hours, no decay unless a test asks for it."""
    settings.TRENDING_BUCKET_SECONDS = 3600
    settings.TRENDING_WINDOW_HOURS = 24
    settings.TRENDING_HALF_LIFE_HOURS = 0
    settings.TRENDING_KEEP = 200


def hot() -> list[tuple[str, float]]:
    return list(HotSearch.objects.order_by("rank").values_list("query", "score"))


def test_the_window_slides_and_counts_each_user_once_per_bucket():
    users = [UserFactory() for _ in range(4)]
    for user in users[:3]:
        count_query(user_id=user.pk, query="穿搭", now=NOW)
    assert count_query(user_id=users[0].pk, query="穿搭", now=NOW + timedelta(minutes=5)) is False
    count_query(user_id=users[3].pk, query="咖啡", now=NOW - timedelta(hours=3))
    count_query(user_id=users[3].pk, query="咖啡", now=NOW - timedelta(hours=2))  # another bucket
    count_query(user_id=users[3].pk, query="旧闻", now=NOW - timedelta(hours=30))  # out of the window
    trending_rollup(now=NOW)
    assert hot() == [("穿搭", 3.0), ("咖啡", 2.0)]
    # A day later the window has moved past all of it.
    trending_rollup(now=NOW + timedelta(hours=25))
    assert hot() == []


def test_recent_searches_weigh_more_with_a_half_life(settings):
    settings.TRENDING_HALF_LIFE_HOURS = 6
    users = [UserFactory() for _ in range(4)]
    for user in users:  # 4 searches six hours ago
        count_query(user_id=user.pk, query="早八妆容", now=NOW - timedelta(hours=6))
    for user in users[:3]:  # 3 searches now
        count_query(user_id=user.pk, query="春日穿搭", now=NOW)
    trending_rollup(now=NOW)
    assert hot() == [("春日穿搭", 3.0), ("早八妆容", 2.0)]


def test_roll_up_keeps_the_top_and_breaks_ties_by_text(settings):
    settings.TRENDING_KEEP = 2
    user = UserFactory()
    for query in ["c", "a", "b"]:
        count_query(user_id=user.pk, query=query, now=NOW)
    count_query(user_id=UserFactory().pk, query="b", now=NOW)
    trending_rollup(now=NOW)
    assert hot() == [("b", 2.0), ("a", 1.0)]


def test_roll_up_prunes_old_counters_and_old_history():
    user = UserFactory()
    count_query(user_id=user.pk, query="旧", now=NOW - timedelta(hours=48))
    count_query(user_id=user.pk, query="新", now=NOW)
    SearchHistory.objects.create(user=user, query="old", searched_at=NOW - timedelta(days=91))
    SearchHistory.objects.create(user=user, query="new", searched_at=NOW - timedelta(days=1))
    trending_rollup(now=NOW)
    if not django_settings.REDIS_URL:  # Redis buckets expire by themselves
        assert list(TrendCounter.objects.values_list("term", flat=True)) == ["新"]
    assert list(SearchHistory.objects.values_list("query", flat=True)) == ["new"]


def test_searching_through_the_api_counts_signed_in_searches_that_found_something(client_for, anon_client):
    NoteFactory(title="春日穿搭")
    from notes.search import indexing

    indexing.reindex("notes")
    for _ in range(3):
        client_for(UserFactory()).get("/api/v1/search", {"q": "穿搭"})
    anon_client.get("/api/v1/search", {"q": "穿搭"})  # anonymous: not counted
    client_for(UserFactory()).get("/api/v1/search", {"q": "不存在的东西"})  # found nothing
    tasks.trending_rollup.delay()
    response = anon_client.get("/api/v1/search/hot")
    assert response.status_code == 200
    assert response.json() == [{"rank": 1, "query": "穿搭", "score": 3.0}]


# --- Hot topics -----------------------------------------------------------------------------


def topic_note(*names: str, **kwargs):
    note = NoteFactory(**kwargs)
    for name in names:
        topic, _ = Topic.objects.get_or_create(name=name)
        NoteTopic.objects.create(note=note, topic=topic)
    return note


def trending_names(client) -> list[str]:
    response = client.get("/api/v1/topics/trending")
    assert response.status_code == 200, response.content
    return [t["name"] for t in response.json()]


def test_a_public_note_going_live_counts_its_topics_once(anon_client):
    public = topic_note("穿搭", "OOTD")
    private = topic_note("秘密", visibility=Visibility.PRIVATE)
    assert tasks.trending_count_note.delay(public.pk).get() is True
    assert tasks.trending_count_note.delay(public.pk).get() is False  # a retry or a re-publish
    assert tasks.trending_count_note.delay(private.pk).get() is False
    for _ in range(2):
        count_note_topics(note_id=topic_note("OOTD").pk, topic_ids=[Topic.objects.get(name="OOTD").pk])
    trending_rollup()
    heat = dict(TopicHeat.objects.values_list("topic__name", "score"))
    assert heat == {"OOTD": 3.0, "穿搭": 1.0}
    body = anon_client.get("/api/v1/topics/trending").json()
    assert body[0] == {
        "id": Topic.objects.get(name="OOTD").pk,
        "name": "OOTD",
        "note_count": 0,
        "is_pinned": False,
        "heat": 3.0,
    }


def test_publishing_through_the_service_feeds_hot_topics(
    api, anon_client, django_capture_on_commit_callbacks
):
    media = MediaFactory(owner=api.user)
    with django_capture_on_commit_callbacks(execute=True):
        note_services.note_create(author=api.user, media_ids=[media.pk], title="今日 #春日穿搭 #OOTD")
    trending_rollup()
    assert set(TopicHeat.objects.values_list("topic__name", flat=True)) == {"春日穿搭", "OOTD"}
    assert trending_names(anon_client)[:2] == ["春日穿搭", "OOTD"]  # equal heat and use: older first


def test_pinned_first_then_hot_then_all_time_and_suppressed_never(anon_client):
    Topic.objects.create(name="官方活动", is_pinned=True)
    hot_topic = Topic.objects.create(name="春日穿搭", note_count=3)
    warm = Topic.objects.create(name="咖啡", note_count=1)
    Topic.objects.create(name="老话题", note_count=500)
    banned = Topic.objects.create(name="禁区", note_count=900, is_pinned=True, is_suppressed=True)
    Topic.objects.create(name="没人用")  # never used: not listed
    count_note_topics(note_id=1, topic_ids=[hot_topic.pk, banned.pk, warm.pk])
    count_note_topics(note_id=2, topic_ids=[hot_topic.pk, banned.pk])
    trending_rollup()
    assert trending_names(anon_client) == ["官方活动", "春日穿搭", "咖啡", "老话题"]
    # Suppressing a topic takes it off at once (no roll-up needed); pinning puts one on top.
    Topic.objects.filter(pk=hot_topic.pk).update(is_suppressed=True)
    Topic.objects.filter(name="老话题").update(is_pinned=True)
    assert trending_names(anon_client) == ["老话题", "官方活动", "咖啡"]


def test_moderators_pin_and_suppress_in_the_admin(admin_client, anon_client):
    topic = Topic.objects.create(name="春日穿搭", note_count=1)
    other = Topic.objects.create(name="咖啡", note_count=5)
    response = admin_client.post(
        "/admin/notes/topic/",
        {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-id": str(other.pk),
            "form-0-is_suppressed": "on",
            "form-1-id": str(topic.pk),
            "form-1-is_pinned": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert trending_names(anon_client) == ["春日穿搭"]


def test_trending_endpoints_have_fixed_budgets(anon_client):
    for n in range(25):
        Topic.objects.create(name=f"话题{n}", note_count=n, is_pinned=n % 5 == 0)
    count_note_topics(note_id=1, topic_ids=list(Topic.objects.values_list("pk", flat=True)))
    for n in range(25):
        count_query(user_id=n + 1, query=f"查询{n}", now=timezone.now())
    trending_rollup()
    for url in ["/api/v1/topics/trending", "/api/v1/search/hot"]:
        with CaptureQueriesContext(connection) as captured:
            response = anon_client.get(url)
        assert response.status_code == 200 and len(response.json()) == 20
        assert len(captured) == 1, url


def test_beat_rolls_up_every_few_minutes():
    entry = django_settings.CELERY_BEAT_SCHEDULE["trending-rollup"]
    assert entry["task"] == "notes.tasks.trending_rollup"
    assert entry["schedule"] <= 600
    assert trending.get_store().__class__.__name__ == (
        "RedisStore" if django_settings.REDIS_URL else "DatabaseStore"
    )


def test_admin_lists_hot_searches_and_topic_heat_read_only(admin_client):
    topic = Topic.objects.create(name="春日穿搭", is_pinned=True)
    count_note_topics(note_id=1, topic_ids=[topic.pk])
    count_query(user_id=1, query="穿搭", now=timezone.now())
    trending_rollup()
    for url in ["/admin/notes/hotsearch/", "/admin/notes/topicheat/"]:
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "穿搭" in response.content.decode()
    assert admin_client.get("/admin/notes/hotsearch/add/").status_code == 403
