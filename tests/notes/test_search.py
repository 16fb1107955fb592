"""Search through the API: Chinese and English matching, visibility, types, sorts, paging, history,
suggestions, the index's life cycle, the reindex command and query budgets.

Most tests write rows with factories and index them with ``indexing`` directly (what the Celery
tasks do); the life-cycle tests go through the services and their on-commit signals instead.
"""

from __future__ import annotations

from base64 import b64encode
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import ReviewStatus
from notes.choices import NoteStatus, Visibility
from notes.models import (
    HotSearch,
    Note,
    NoteSearchDocument,
    NoteTopic,
    ProductSearchDocument,
    SearchHistory,
    Topic,
    UserSearchDocument,
)
from notes.search import indexing
from notes.search import selectors as search_selectors
from notes.search import services as search_services
from notes.search.segmentation import index_tokens, query_tokens
from notes.search.selectors import search_notes
from notes.services import interactions
from notes.services import notes as note_services
from shop.choices import ProductStatus
from tests.conftest import requires_postgres
from tests.factories import BlockFactory, FollowFactory, UserFactory
from tests.factories.notes import MediaFactory, NoteFactory
from tests.factories.shop import ProductFactory, StoreFactory
from tests.helpers import assert_error, pages_by_link

pytestmark = pytest.mark.django_db

URL = "/api/v1/search"


def make_note(title: str, body: str = "", *, topics=(), index: bool = True, **kwargs) -> Note:
    note = NoteFactory(title=title, body=body, **kwargs)
    for name in topics:
        topic, _ = Topic.objects.get_or_create(name=name)
        NoteTopic.objects.create(note=note, topic=topic)
    if index:
        indexing.index_notes([note.pk])
    return note


def reindex_everything() -> None:
    for kind in indexing.KINDS:
        indexing.reindex(kind)


def search(client, q: str, **params) -> dict:
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def titles(client, q: str, **params) -> list[str]:
    return [item["title"] for item in search(client, q, **params)["results"]]


# --- Segmentation ---------------------------------------------------------------------------


def test_segmentation_indexes_every_word_and_character_and_cuts_queries_precisely():
    tokens = index_tokens("春日穿搭分享")
    assert {"春日", "穿搭", "分享", "穿", "搭", "春"} <= set(tokens)
    assert query_tokens("春日穿搭分享") == ["春日", "穿搭", "分享"]
    assert query_tokens("  Running　SHOES!! ") == ["run", "shoe"]  # full-width space, case, stem
    assert query_tokens("好看的裙子") == ["好看", "裙子"]  # stop word dropped
    assert query_tokens("的 the") == []
    assert {"iphone15", "iphon", "15"} <= set(index_tokens("iPhone15"))


# --- Matching -------------------------------------------------------------------------------


def test_chinese_words_are_found_inside_longer_text(anon_client):
    make_note("春日穿搭分享", "温柔奶油色")
    make_note("连衣裙推荐", "夏天必备")
    make_note("上海咖啡探店", "武康路的小店")
    assert titles(anon_client, "穿搭") == ["春日穿搭分享"]
    assert titles(anon_client, "裙") == ["连衣裙推荐"]  # one character, inside a word
    assert titles(anon_client, "奶油") == ["春日穿搭分享"]  # from the body
    assert titles(anon_client, "小店") == ["上海咖啡探店"]
    assert titles(anon_client, "火锅") == []


def test_english_is_found_by_stem(anon_client):
    make_note("How I run every morning")
    make_note("She runs marathons")
    make_note("Running shoes review")
    make_note("Swimming tips")
    assert set(titles(anon_client, "running")) == {
        "How I run every morning",
        "She runs marathons",
        "Running shoes review",
    }
    assert titles(anon_client, "SHOES") == ["Running shoes review"]
    assert titles(anon_client, "swim") == ["Swimming tips"]


def test_every_query_word_must_match(anon_client):
    make_note("春日穿搭", "去咖啡店")
    make_note("秋冬穿搭")
    make_note("咖啡拉花")
    assert titles(anon_client, "穿搭 咖啡") == ["春日穿搭"]
    assert titles(anon_client, "穿搭咖啡") == ["春日穿搭"]


def test_topics_and_place_are_searchable(anon_client):
    make_note("周末去哪儿", topics=["城市漫步"], place_name="武康路", place_city="上海")
    assert titles(anon_client, "漫步") == ["周末去哪儿"]
    assert titles(anon_client, "武康路") == ["周末去哪儿"]
    assert titles(anon_client, "上海") == ["周末去哪儿"]


def test_a_query_of_stop_words_or_symbols_finds_nothing(anon_client):
    make_note("的的的 the the")
    assert search(anon_client, "的")["results"] == []
    assert search(anon_client, "!!!")["results"] == []


def test_bad_parameters_are_400_in_the_error_shape(anon_client):
    assert_error(anon_client.get(URL), 400, "invalid")
    assert_error(anon_client.get(URL, {"q": "穿搭", "type": "boards"}), 400, "invalid")
    assert_error(anon_client.get(URL, {"q": "穿搭", "sort": "random"}), 400, "invalid")
    assert_error(anon_client.get(URL, {"q": "x" * 101}), 400, "invalid")
    assert_error(anon_client.get(URL, {"q": "穿搭", "cursor": "not-a-cursor"}), 404, "not_found")


# --- Visibility -----------------------------------------------------------------------------


@pytest.fixture
def crowd(db):
    """A viewer and notes about 穿搭 that they may, or may not, see."""
    viewer = UserFactory(username="viewer")
    friend = UserFactory(username="friend")
    FollowFactory(follower=viewer, followee=friend)
    stranger = UserFactory(username="stranger")
    blocker = UserFactory(username="blocker")
    blockee = UserFactory(username="blockee")
    BlockFactory(blocker=blocker, blocked=viewer)
    BlockFactory(blocker=viewer, blocked=blockee)
    locked = UserFactory(username="locked", is_private=True)
    gone = UserFactory(username="gone", is_active=False)
    make_note("穿搭 public", author=stranger)
    make_note("穿搭 followers of friend", author=friend, visibility=Visibility.FOLLOWERS)
    make_note("穿搭 followers of stranger", author=stranger, visibility=Visibility.FOLLOWERS)
    make_note("穿搭 private", author=stranger, visibility=Visibility.PRIVATE)
    make_note("穿搭 by blocker", author=blocker)
    make_note("穿搭 by blockee", author=blockee)
    make_note("穿搭 private account", author=locked)
    make_note("穿搭 inactive author", author=gone)
    make_note("穿搭 hidden", author=stranger, status=NoteStatus.HIDDEN)
    make_note("穿搭 draft", author=viewer, status=NoteStatus.DRAFT, published_at=None)
    make_note("穿搭 deleted", author=stranger, deleted_at=timezone.now())
    make_note("穿搭 my own private", author=viewer, visibility=Visibility.PRIVATE)
    make_note("穿搭 by viewer", author=viewer)
    return viewer


def test_search_never_returns_notes_the_viewer_may_not_see(client_for, anon_client, crowd):
    assert set(titles(client_for(crowd), "穿搭")) == {
        "穿搭 public",
        "穿搭 followers of friend",
        "穿搭 my own private",  # your own published private note: you may see it
        "穿搭 by viewer",
    }
    assert set(titles(anon_client, "穿搭")) == {
        "穿搭 public",
        "穿搭 by viewer",
        "穿搭 by blocker",
        "穿搭 by blockee",
    }
    # Blocks work both ways: neither side finds the other's notes.
    for name in ["blocker", "blockee"]:
        found = titles(client_for(UserFactory(username=name)), "穿搭")
        assert "穿搭 by viewer" not in found and f"穿搭 by {name}" in found


@pytest.fixture(params=[0, 1, 50], ids=["index", "walk-and-index", "walk"])
def latest_walk(request, monkeypatch):
    """How far the newest-first search walks before it turns to the GIN index (PostgreSQL): not at
    all, a little (pages come from both halves), or as in production (small data: all walk)."""
    monkeypatch.setattr(search_selectors, "LATEST_WALK_PER_ROW", request.param)
    return request.param


def newest_first(notes) -> list[int]:
    return [n.pk for n in sorted(notes, key=lambda n: (n.published_at, n.pk), reverse=True)]


def test_latest_is_newest_first_and_never_shows_what_the_viewer_may_not_see(
    client_for, anon_client, crowd, latest_walk
):
    expected = {
        crowd: {"穿搭 public", "穿搭 followers of friend", "穿搭 my own private", "穿搭 by viewer"},
        None: {"穿搭 public", "穿搭 by viewer", "穿搭 by blocker", "穿搭 by blockee"},
    }
    for viewer, visible in expected.items():
        client = client_for(viewer) if viewer else anon_client
        found = search(client, "穿搭", sort="latest")["results"]
        assert {n["title"] for n in found} == visible
        notes = Note.objects.filter(title__in=visible)
        assert [n["id"] for n in found] == newest_first(notes)
    for name in ["blocker", "blockee"]:
        found = titles(client_for(UserFactory(username=name)), "穿搭", sort="latest")
        assert "穿搭 by viewer" not in found and f"穿搭 by {name}" in found


def test_a_stale_document_never_leaks_a_note_that_stopped_being_visible(anon_client):
    note = make_note("穿搭 soon hidden")
    assert titles(anon_client, "穿搭") == ["穿搭 soon hidden"]
    # Hidden behind the services' back: the document is still there, the note is not shown.
    Note.objects.filter(pk=note.pk).update(status=NoteStatus.HIDDEN)
    assert NoteSearchDocument.objects.filter(pk=note.pk).exists()
    assert titles(anon_client, "穿搭") == []


def test_the_index_follows_the_note_life_cycle(api, anon_client, django_capture_on_commit_callbacks):
    media = MediaFactory(owner=api.user)
    with django_capture_on_commit_callbacks(execute=True):
        note = note_services.note_create(
            author=api.user, media_ids=[media.pk], title="春日穿搭分享", body="#通勤 好物"
        )
    assert titles(anon_client, "穿搭") == ["春日穿搭分享"]
    assert titles(anon_client, "通勤") == ["春日穿搭分享"]  # its topic
    with django_capture_on_commit_callbacks(execute=True):
        note_services.note_update(note=note, editor=api.user, data={"title": "秋日咖啡"})
    assert titles(anon_client, "穿搭") == []
    assert titles(anon_client, "咖啡") == ["秋日咖啡"]
    with django_capture_on_commit_callbacks(execute=True):
        note_services.note_moderate(note=note, hide=True)
    assert not NoteSearchDocument.objects.filter(pk=note.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        note_services.note_moderate(note=note, hide=False)
    assert titles(anon_client, "咖啡") == ["秋日咖啡"]
    with django_capture_on_commit_callbacks(execute=True):
        note_services.note_delete(note=Note.objects.get(pk=note.pk), user=api.user)
    assert titles(anon_client, "咖啡") == []
    assert not NoteSearchDocument.objects.filter(pk=note.pk).exists()


def test_a_document_holds_its_note_publication_date(api, django_capture_on_commit_callbacks):
    """The newest-first search reads documents in date order: a document carries its note's
    publication date from when the note goes live, a scheduled note's included."""
    now, later = timezone.now(), timezone.now() + timedelta(hours=2)
    media = [MediaFactory(owner=api.user) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        out_now = note_services.note_create(author=api.user, media_ids=[media[0].pk], title="穿搭", now=now)
        scheduled = note_services.note_create(
            author=api.user,
            media_ids=[media[1].pk],
            title="咖啡",
            action="schedule",
            publish_at=later,
            now=now,
        )
    assert NoteSearchDocument.objects.get(pk=out_now.pk).published_at == now
    assert not NoteSearchDocument.objects.filter(pk=scheduled.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        note_services.notes_publish_due(now=later)
    assert NoteSearchDocument.objects.get(pk=scheduled.pk).published_at == later
    with django_capture_on_commit_callbacks(execute=True):  # re-indexed on an edit: the date stays
        note_services.note_update(note=Note.objects.get(pk=out_now.pk), editor=api.user, data={"title": "鞋"})
    assert NoteSearchDocument.objects.get(pk=out_now.pk).published_at == now


def test_the_migration_copies_live_notes_dates_into_their_documents():
    """Migration 0008 added the date to documents written before it: it copies each note's."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("notes.migrations.0008_search_document_published")
    when = timezone.now() - timedelta(days=3)
    note = make_note("穿搭", published_at=when)
    other = make_note("咖啡")
    NoteSearchDocument.objects.update(published_at=None)  # as documents were before it
    migration.copy_publication_dates(apps, None)
    assert NoteSearchDocument.objects.get(pk=note.pk).published_at == when
    other.refresh_from_db()
    assert other.published_at is not None
    assert NoteSearchDocument.objects.get(pk=other.pk).published_at == other.published_at


# --- Other types ----------------------------------------------------------------------------


def test_users_are_found_by_name_nickname_and_bio_and_blocks_hide_them(
    client_for, django_capture_on_commit_callbacks
):
    viewer = UserFactory(username="viewer")
    with django_capture_on_commit_callbacks(execute=True):
        UserFactory(username="lulu_style", nickname="露露穿搭日记", bio="Loves running")
        UserFactory(username="blocked_style", nickname="穿搭达人")
        UserFactory(username="gone_style", nickname="穿搭退坑", is_active=False)
    BlockFactory(blocker=viewer, blocked=UserFactory(username="blocked_style"))
    client = client_for(viewer)

    def found(q):
        return [u["username"] for u in search(client, q, type="users")["results"]]

    assert found("穿搭") == ["lulu_style"]
    assert found("lulu") == ["lulu_style"]
    assert found("run") == ["lulu_style"]
    item = search(client, "露露", type="users")["results"][0]
    assert set(item) >= {"username", "nickname", "avatar", "follower_count", "is_following"}
    # A profile edit (written with update(), so no post_save) is indexed through profile_changed.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch("/api/v1/me", {"nickname": "咖啡爱好者"}, format="json")
    assert response.status_code == 200, response.content
    assert found("咖啡") == ["viewer"]


def test_products_on_sale_are_found_by_title_store_and_description(
    anon_client, django_capture_on_commit_callbacks
):
    store = StoreFactory(name="光研 Glow Lab")
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(store=store, title="小金条口红", description="丝绒哑光 lipstick")
        ProductFactory(store=store, title="口红 draft", status=ProductStatus.DRAFT)
        ProductFactory(title="口红 of a rejected brand", store__brand__status=ReviewStatus.REJECTED)
        ProductFactory(title="Moisturiser")

    def found(q, **params):
        return [p["title"] for p in search(anon_client, q, type="products", **params)["results"]]

    assert found("口红") == ["小金条口红"]
    assert found("光研") == ["小金条口红"]
    assert found("lipsticks") == ["小金条口红"]
    assert set(search(anon_client, "口红", type="products")["results"][0]) >= {"id", "store", "min_price"}
    with django_capture_on_commit_callbacks(execute=True):
        store.name = "Shine"
        store.save()
    assert found("shine") == ["小金条口红"]


def test_topics_are_found_by_substring_best_match_first_suppressed_never(anon_client):
    Topic.objects.create(name="春日穿搭", note_count=5)
    Topic.objects.create(name="穿搭", note_count=1)
    Topic.objects.create(name="穿搭公式", note_count=2)
    Topic.objects.create(name="禁止穿搭", note_count=50, is_suppressed=True)
    Topic.objects.create(name="咖啡")
    found = [t["name"] for t in search(anon_client, "#穿搭", type="topics")["results"]]
    assert found == ["穿搭", "穿搭公式", "春日穿搭"]
    popular = [t["name"] for t in search(anon_client, "穿搭", type="topics", sort="popular")["results"]]
    assert popular == ["春日穿搭", "穿搭公式", "穿搭"]
    latest = [t["name"] for t in search(anon_client, "穿搭", type="topics", sort="latest")["results"]]
    assert latest == ["穿搭公式", "穿搭", "春日穿搭"]


# --- Sorts and paging -----------------------------------------------------------------------


def test_sort_orders(anon_client):
    now = timezone.now()
    in_body = make_note("周末日记", "今天的穿搭", like_count=50, published_at=now - timedelta(days=1))
    in_title = make_note("穿搭分享", "内容", like_count=1, published_at=now - timedelta(days=3))
    both = make_note("穿搭合集", "更多穿搭", collect_count=20, published_at=now)

    def ids(sort):
        return [n["id"] for n in search(anon_client, "穿搭", sort=sort)["results"]]

    relevance = ids("relevance")
    assert relevance[-1] == in_body.pk  # a title hit beats a body-only hit
    assert set(relevance[:2]) == {in_title.pk, both.pk}
    assert ids("latest") == [both.pk, in_body.pk, in_title.pk]
    assert ids("popular") == [in_body.pk, both.pk, in_title.pk]  # likes + collects


@pytest.mark.parametrize("sort", ["relevance", "latest", "popular"])
def test_pages_cover_every_result_once(anon_client, sort):
    for n in range(25):
        make_note(f"穿搭 {n}", like_count=n % 7)
    seen, url, pages = [], f"{URL}?{urlencode({'q': '穿搭', 'page_size': 10, 'sort': sort})}", 0
    while url:
        body = anon_client.get(url).json()
        assert body["type"] == "notes"
        seen += [n["id"] for n in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen) == sorted(Note.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))


def test_latest_pages_both_ways_newest_first_one_query_a_page(anon_client, latest_walk):
    """Matches among other notes, some published at the same instant (the cursor's offset), paged
    forward to the end and back: every page in order, one query each (anonymous)."""
    now, matching = timezone.now(), []
    for n in range(30):
        when = now - timedelta(minutes=n // 3 if n % 5 == 0 else n)  # ties every few notes
        note = make_note(f"穿搭 {n}" if n % 3 else f"咖啡 {n}", published_at=when)
        if n % 3:
            matching.append(note)
    make_note("穿搭 draft", status=NoteStatus.DRAFT, published_at=None)
    make_note("穿搭 hidden", status=NoteStatus.HIDDEN)
    expected = newest_first(matching)

    pages, url = [], f"{URL}?{urlencode({'q': '穿搭', 'sort': 'latest', 'page_size': 4})}"
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = anon_client.get(url).json()
        assert len(captured) == 1
        pages.append([n["id"] for n in body["results"]])
        last, url = url, body["next"]
    assert [pk for page in pages for pk in page] == expected
    assert all(len(page) == 4 for page in pages[:-1])

    back, _ = pages_by_link(anon_client, last, "previous")
    assert back[::-1] == pages


def test_a_latest_cursor_with_a_bad_position_is_404(anon_client):
    make_note("穿搭")
    cursor = b64encode(b"o=0&p=not-a-date").decode()
    assert_error(anon_client.get(URL, {"q": "穿搭", "sort": "latest", "cursor": cursor}), 404, "not_found")


def test_relevance_paging_stops_at_the_configured_depth(anon_client, settings):
    settings.SEARCH_MAX_RESULTS = 12
    for n in range(20):
        make_note(f"穿搭 {n}")
    first = search(anon_client, "穿搭", page_size=10)
    assert first["previous"] is None
    second = anon_client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    assert second["previous"]


def test_ranked_pages_are_read_as_the_search_ranks_them(client_for, settings):
    """The API reads ranked note searches as card rows (compiled SQL on PostgreSQL): the same notes,
    in the same order, with the same flags as the ranked queryset, page after page."""
    reader = UserFactory()
    notes = [
        make_note(f"穿搭 {n}" if n % 3 else f"日常 {n}", body="穿搭 分享", like_count=n % 4) for n in range(9)
    ]
    interactions.note_like(note=notes[4], user=reader)
    client = client_for(reader)
    for sort in ("relevance", "popular"):
        expected = list(search_notes(query="穿搭", sort=sort, viewer=reader).values_list("id", flat=True))
        pages = [search(client, "穿搭", sort=sort, page_size=4)]
        while pages[-1]["next"]:
            pages.append(client.get(pages[-1]["next"]).json())
        cards = [card for page in pages for card in page["results"]]
        assert [card["id"] for card in cards] == expected and len(expected) == 9
        assert {card["id"] for card in cards if card["liked"]} == {notes[4].pk}
    with CaptureQueriesContext(connection) as queries:
        search(client, "穿搭", sort="relevance", page_size=4)
    # The user, the page, the history and hot count (one statement).
    assert len(queries) == 3, [q["sql"][:80] for q in queries]


def test_a_common_word_ranks_only_the_newest_candidates(anon_client, settings):
    settings.SEARCH_CANDIDATES = 3
    notes = [make_note(f"穿搭 {n}", like_count=10 - n) for n in range(5)]
    newest = {n.pk for n in notes[-3:]}
    for sort in ["relevance", "popular"]:
        assert {n["id"] for n in search(anon_client, "穿搭", sort=sort)["results"]} == newest
    # Newest first needs no window (it reads notes in date order): it pages through every match.
    assert {n["id"] for n in search(anon_client, "穿搭", sort="latest")["results"]} == {n.pk for n in notes}


# --- History --------------------------------------------------------------------------------


def test_history_lists_newest_distinct_queries_and_only_first_pages(client_for):
    for n in range(3):
        make_note(f"穿搭 {n}")
    me, other = UserFactory(), UserFactory()
    client = client_for(me)
    first = search(client, "穿搭", page_size=1)
    client.get(first["next"])  # paging does not search again
    search(client, "咖啡")
    search(client, "  穿搭 ")  # the same query again moves to the top
    search(client_for(other), "火锅")
    history = client.get(f"{URL}/history").json()
    assert [h["query"] for h in history] == ["穿搭", "咖啡"]
    assert SearchHistory.objects.filter(user=me).count() == 2
    assert [h["query"] for h in client_for(other).get(f"{URL}/history").json()] == ["火锅"]


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@requires_postgres("asynchronous commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_history_is_committed_without_waiting_for_the_disk_only_in_its_own_transaction():
    """Outside a transaction the upsert commits asynchronously, and the setting ends with it; inside
    one it would cover the whole transaction, so there the ordinary upsert runs."""
    user, now = UserFactory(), timezone.now()
    with CaptureQueriesContext(connection) as own:
        search_services.search_record(user_id=user.pk, query="穿搭", found=False, now=now - timedelta(1))
        search_services.search_record(user_id=user.pk, query=" 穿搭 ", found=False, now=now)
    assert all("set_config('synchronous_commit', 'off', true)" in q["sql"] for q in own.captured_queries)
    history = SearchHistory.objects.filter(user=user).values_list("query", "searched_at")
    assert list(history) == [("穿搭", now)]
    assert _synchronous_commit() == "on"
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        search_services.search_record(user_id=user.pk, query="咖啡", found=False, now=now)
        assert _synchronous_commit() == "on"
    assert "set_config" not in inside.captured_queries[0]["sql"]
    assert SearchHistory.objects.filter(user=user).count() == 2
    transaction.set_autocommit(False)  # a transaction managed by hand: the same
    try:
        search_services.search_record(user_id=user.pk, query="火锅", found=False, now=now)
        assert _synchronous_commit() == "on"
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert SearchHistory.objects.filter(user=user).count() == 2


def test_history_delete_one_or_all_and_only_your_own(client_for, anon_client):
    me, other = UserFactory(), UserFactory()
    client, other_client = client_for(me), client_for(other)
    for q in ["穿搭", "咖啡", "火锅"]:
        search(client, q)
    search(other_client, "咖啡")
    assert client.delete(f"{URL}/history?q=咖啡").status_code == 204
    assert [h["query"] for h in client.get(f"{URL}/history").json()] == ["火锅", "穿搭"]
    assert [h["query"] for h in other_client.get(f"{URL}/history").json()] == ["咖啡"]
    assert client.delete(f"{URL}/history").status_code == 204
    assert client.get(f"{URL}/history").json() == []
    assert [h["query"] for h in other_client.get(f"{URL}/history").json()] == ["咖啡"]
    assert_error(anon_client.get(f"{URL}/history"), 401, "not_authenticated")
    search(anon_client, "穿搭")
    assert SearchHistory.objects.count() == 1


def test_history_delete_of_a_query_no_search_can_hold_is_a_400_and_forgets_nothing(client_for):
    client = client_for(UserFactory())
    search(client, "穿搭")
    # A NUL no text column can hold (found by fuzzing the schema: it reached PostgreSQL, a 500).
    error = assert_error(client.delete(f"{URL}/history?q=a%00b"), 400, "invalid")
    assert set(error["fields"]) == {"q"}
    assert [h["query"] for h in client.get(f"{URL}/history").json()] == ["穿搭"]
    assert client.delete(f"{URL}/history?q=").status_code == 204  # blank: nothing matches it
    assert [h["query"] for h in client.get(f"{URL}/history").json()] == ["穿搭"]


def test_a_failing_hot_search_counter_does_not_fail_the_search(client_for, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from notes.search import trending

    def down(**kwargs):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(trending, "count_query", down)
    make_note("穿搭")
    client = client_for(UserFactory())
    assert titles(client, "穿搭") == ["穿搭"]
    assert [h["query"] for h in client.get(f"{URL}/history").json()] == ["穿搭"]


def test_history_keeps_the_newest_entries_only(client_for, settings):
    settings.SEARCH_HISTORY_LIMIT = 3
    client = client_for(UserFactory())
    for q in ["一", "二", "三", "四"]:
        search(client, q)
    assert [h["query"] for h in client.get(f"{URL}/history").json()] == ["四", "三", "二"]


# --- Suggestions ----------------------------------------------------------------------------


def test_suggestions_come_from_hot_searches_and_topics(anon_client):
    now = timezone.now()
    HotSearch.objects.bulk_create(
        [
            HotSearch(query="穿搭 小个子", score=9, rank=1, computed_at=now),
            HotSearch(query="咖啡", score=5, rank=2, computed_at=now),
            HotSearch(query="穿搭 显瘦", score=3, rank=3, computed_at=now),
        ]
    )
    Topic.objects.create(name="穿搭公式", note_count=2)
    Topic.objects.create(name="穿搭", note_count=9)
    Topic.objects.create(name="穿搭禁区", note_count=99, is_suppressed=True)
    Topic.objects.create(name="春日穿搭", note_count=99)  # contains, does not start with
    response = anon_client.get(f"{URL}/suggest", {"q": "穿搭"})
    assert response.status_code == 200
    assert response.json() == [
        {"text": "穿搭 小个子", "kind": "query"},
        {"text": "穿搭 显瘦", "kind": "query"},
        {"text": "穿搭", "kind": "topic"},
        {"text": "穿搭公式", "kind": "topic"},
    ]
    assert anon_client.get(f"{URL}/suggest", {"q": "Zz"}).json() == []
    assert_error(anon_client.get(f"{URL}/suggest"), 400, "invalid")


# --- Reindex command and the demo world -----------------------------------------------------


def test_reindex_command_rebuilds_every_kind_and_drops_stale_documents(anon_client):
    make_note("穿搭 one", index=False)
    make_note("穿搭 two", index=False)
    gone = make_note("穿搭 deleted later")
    Note.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())  # nobody told the index
    UserFactory(username="coffee_lover", nickname="咖啡")
    ProductFactory(title="咖啡豆")
    UserSearchDocument.objects.all().delete()
    ProductSearchDocument.objects.all().delete()
    assert titles(anon_client, "穿搭") == []

    out, err = StringIO(), StringIO()
    call_command("search_reindex", "--kind", "notes", stdout=out, stderr=err)
    assert "notes: 2 documents written." in out.getvalue()
    assert set(titles(anon_client, "穿搭")) == {"穿搭 one", "穿搭 two"}
    assert NoteSearchDocument.objects.count() == 2
    assert not UserSearchDocument.objects.exists()

    call_command("search_reindex", "--no-progress", stdout=out, stderr=err)
    assert "users:" in out.getvalue() and "products: 1 documents written." in out.getvalue()
    assert [u["username"] for u in search(anon_client, "咖啡", type="users")["results"]] == ["coffee_lover"]
    assert [p["title"] for p in search(anon_client, "咖啡", type="products")["results"]] == ["咖啡豆"]


def test_seeded_demo_notes_are_searchable(anon_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--users", "4", "--notes", "2", stdout=StringIO())
    found = titles(anon_client, "穿搭")
    assert found and all("穿搭" in title for title in found)
    assert NoteSearchDocument.objects.count() == Note.objects.live().count()


# --- Query budgets and the PostgreSQL plan --------------------------------------------------

ROWS = 25


@pytest.fixture
def big_world(db):
    """ROWS of every type matching 穿搭, for a viewer who follows and blocks people."""
    viewer = UserFactory(username="viewer")
    for n in range(ROWS):
        author = UserFactory(username=f"stylist{n}", nickname=f"穿搭博主{n}", avatar="avatars/a.webp")
        make_note(f"穿搭 {n}", author=author, like_count=n)
        FollowFactory(follower=viewer, followee=author)
        ProductFactory(title=f"穿搭 单品 {n}")
        Topic.objects.create(name=f"穿搭{n}", note_count=n)
    BlockFactory(blocker=viewer, blocked=UserFactory(username="blocked"))
    reindex_everything()
    return viewer


def _queries(client, params: dict) -> tuple[int, int]:
    cache.clear()  # the hot-search count is once per user and query: let every call count
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["results"])


# JWT user (1) + the search (1), then the recording task, run inline by the eager Celery of the
# tests (a worker's, in production): history upsert (1) + hot count (1 on the database store;
# Redis when configured). Anonymous: the search only.
BUDGET = 4


@pytest.mark.parametrize("type_", ["notes", "users", "products", "topics"])
@pytest.mark.parametrize("sort", ["relevance", "latest", "popular"])
def test_search_budget_does_not_grow_with_the_page(client_for, big_world, type_, sort):
    client = client_for(big_world)
    small = _queries(client, {"q": "穿搭", "type": type_, "sort": sort, "page_size": 1})
    large = _queries(client, {"q": "穿搭", "type": type_, "sort": sort, "page_size": 20})
    assert small[1] == 1 and large[1] == 20
    assert small[0] == large[0] <= BUDGET
    anonymous = _queries(client_for(None), {"q": "穿搭", "type": type_, "sort": sort, "page_size": 20})
    assert anonymous == (1, 20)


def test_other_search_endpoints_budgets(client_for, big_world, django_assert_max_num_queries):
    client = client_for(big_world)
    for q in ["穿搭", "咖啡", "火锅"]:
        search(client, q)
    with django_assert_max_num_queries(2):
        assert client.get(f"{URL}/history").status_code == 200
    with django_assert_max_num_queries(3):
        assert len(client.get(f"{URL}/suggest", {"q": "穿搭"}).json()) == 10
    with django_assert_max_num_queries(2):
        assert client.get(f"{URL}/hot").status_code == 200


@requires_postgres("the GIN index is PostgreSQL's")
def test_short_chinese_queries_use_the_gin_index():
    author = UserFactory()
    cover = MediaFactory(owner=author)
    words = ["穿搭", "咖啡", "火锅", "旅行", "健身", "口红", "护肤", "探店"]
    Note.objects.bulk_create(
        Note(
            author=author,
            title=f"{words[n % len(words)]}分享 {n}",
            body="今天天气很好，出门走走" * 3,
            status=NoteStatus.PUBLISHED,
            published_at=timezone.now(),
            cover=cover,
        )
        for n in range(2000)
    )
    Note.objects.create(
        author=author, title="连衣裙", status=NoteStatus.PUBLISHED, published_at=timezone.now()
    )
    indexing.reindex("notes")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notes_notesearchdocument")
        cursor.execute("ANALYZE notes_note")
    viewer = UserFactory()
    for q in ["裙", "连衣", "连衣裙"]:  # 1-3 characters, rare
        for sort, who in [("relevance", AnonymousUser()), ("latest", AnonymousUser()), ("latest", viewer)]:
            qs = search_notes(query=q, sort=sort, viewer=who)[:20]
            plan = qs.explain()
            assert "notes_notesearchdocument_vector_gin" in plan, plan
            assert not _unbounded_document_scans(plan), plan
            assert [n.title for n in qs] == ["连衣裙"]
    # A common word: newest first walks the documents from a date on, testing each as it is read
    # (the GIN index only for what is older than the walk).
    plan = search_notes(query="穿搭", sort="latest", viewer=viewer)[:20].explain()
    assert "ts_match_vq(vector" in plan and not _unbounded_document_scans(plan), plan


def _unbounded_document_scans(plan: str) -> list[str]:
    """Sequential scans of the note documents, except the newest-first walk's, which reads from a
    date on (by its index at scale; at this test's size PostgreSQL may rightly read the little
    table whole instead)."""
    lines = plan.splitlines()
    return [
        line
        for line, detail in zip(lines, [*lines[1:], ""], strict=True)
        if "Seq Scan on notes_notesearchdocument" in line and "published_at >=" not in detail
    ]


def test_schema_describes_the_search_endpoints(tmp_path):
    import yaml

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for path, methods in {
        "/api/v1/search": {"get"},
        "/api/v1/search/suggest": {"get"},
        "/api/v1/search/history": {"get", "delete"},
        "/api/v1/search/hot": {"get"},
        "/api/v1/topics/trending": {"get"},
    }.items():
        assert methods <= set(schema["paths"][path]), path
    components = schema["components"]["schemas"]
    page = components["SearchPage"]
    assert page["discriminator"]["propertyName"] == "type"
    assert set(page["discriminator"]["mapping"]) == {"notes", "users", "products", "topics"}
    notes_page = components["SearchNotesPage"]["properties"]
    assert notes_page["results"]["items"]["$ref"].endswith("/NoteCardOut")
    params = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert params == {"q", "type", "sort", "cursor", "page_size"}
