"""Note cards read as rows (``note_cards``, SQL compiled once) render exactly like ``NoteCardOut``
(DRF, from ``notes_for_cards``), and a compiled query reused across viewers never carries one
viewer's visibility over to another."""

from __future__ import annotations

import base64
import inspect

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Q
from django.test import RequestFactory
from django.utils.dateparse import parse_datetime

from accounts.api.serializers import user_summary_of
from accounts.models import Follow, User
from accounts.selectors import USER_SUMMARY_COLUMNS, viewer_from_id
from config import db as config_db
from config.db import PreparedQuery
from notes.api.media import media_out
from notes.api.serializers import NoteCardOut, note_card
from notes.choices import MediaStatus, Visibility
from notes.models import Note, NoteCollect, NoteLike
from notes.selectors import MEDIA_COLUMNS, note_cards, notes_for_cards
from tests.conftest import requires_postgres
from tests.factories.accounts import BlockFactory, FollowFactory, UserFactory
from tests.factories.notes import BoardFactory, NoteFactory
from tests.helpers import pages_by_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    viewer, friend, stranger, blocker = UserFactory.create_batch(4)
    friend.avatar = "avatars/2026/12/friend.webp"
    friend.nickname = ""  # the card falls back to the username
    friend.is_kol_certified = True
    friend.follower_count = 7
    friend.save()
    FollowFactory(follower=viewer, followee=friend)
    BlockFactory(blocker=blocker, blocked=viewer)
    notes = {
        "public": NoteFactory(author=stranger, like_count=3, collect_count=2, comment_count=1),
        "followers": NoteFactory(author=friend, visibility=Visibility.FOLLOWERS, category="food"),
        "no cover": NoteFactory(author=friend, cover=None),
        "processing cover": NoteFactory(author=stranger, cover__status=MediaStatus.PENDING),
        "private": NoteFactory(author=stranger, visibility=Visibility.PRIVATE),
        "blocked": NoteFactory(author=blocker),
    }
    NoteLike.objects.create(note=notes["public"], user=viewer)
    NoteCollect.objects.create(note=notes["followers"], user=viewer, board=BoardFactory(owner=viewer))
    return viewer, notes


def drf_cards(viewer, ids, request) -> dict[int, dict]:
    notes = notes_for_cards(viewer).filter(pk__in=ids)
    cards = {}
    for note in notes:
        if viewer is not None and Follow.objects.filter(follower=viewer, followee=note.author_id).exists():
            note.author.viewer_is_following = True
        cards[note.pk] = NoteCardOut(note, context={"request": request}).data
    return cards


@pytest.mark.parametrize("signed_in", [True, False])
def test_card_rows_render_like_the_drf_card(world, signed_in):
    viewer, notes = world
    viewer = viewer if signed_in else None
    request = RequestFactory().get("/api/v1/feed/following")
    ids = [note.pk for note in notes.values()]

    rows = note_cards(viewer=viewer, note_ids=ids)
    expected = drf_cards(viewer, ids, request)

    assert {pk: note_card(request, row) for pk, row in rows.items()} == expected
    # The blocker's note is hidden from the one they blocked, not from anonymous readers.
    visible = {"public", "no cover", "processing cover"} | ({"followers"} if signed_in else {"blocked"})
    assert set(rows) == {notes[name].pk for name in visible}
    card = note_card(request, rows[notes["public"].pk])
    assert card["liked"] is signed_in
    if signed_in:
        assert note_card(request, rows[notes["followers"].pk])["collected"] is True
    assert card["cover"]["variants"]["thumb"].startswith("http://testserver/media/variants/test/")
    assert note_card(request, rows[notes["no cover"].pk])["cover"] is None
    assert note_card(request, rows[notes["processing cover"].pk])["cover"]["variants"] is None
    author = note_card(request, rows[notes["no cover"].pk])["author"]
    assert author["nickname"] == author["username"]
    assert author["avatar"] == "http://testserver/media/avatars/2026/12/friend.webp"
    assert author["is_following"] is signed_in


def test_following_only_keeps_followed_authors(world):
    viewer, notes = world
    rows = note_cards(viewer=viewer, note_ids=[n.pk for n in notes.values()], following_only=True)
    assert set(rows) == {notes["followers"].pk, notes["no cover"].pk}
    assert all(row["author_followed"] for row in rows.values())


def test_a_compiled_query_reused_across_viewers_applies_each_viewers_rule(world):
    viewer, notes = world
    other = UserFactory()
    followers_only = notes["followers"].pk
    ids = [followers_only, notes["public"].pk]

    # Same shape (signed in, two ids): one compiled query serves both viewers, in either order.
    assert followers_only in note_cards(viewer=viewer, note_ids=ids)
    assert followers_only not in note_cards(viewer=other, note_ids=ids)
    assert followers_only in note_cards(viewer=viewer, note_ids=ids)
    assert note_cards(viewer=other, note_ids=ids)[notes["public"].pk]["viewer_liked"] is False
    assert note_cards(viewer=viewer, note_ids=ids)[notes["public"].pk]["viewer_liked"] is True
    assert note_cards(viewer=viewer, note_ids=[]) == {}


def test_prepared_query_compiles_once_per_shape_and_refuses_values_baked_into_sql(
    world, django_assert_num_queries
):
    _, notes = world
    built = []

    def build(author_id, note_ids, *, newest):
        built.append((author_id, tuple(note_ids), newest))
        order = "-id" if newest else "id"
        return Note.objects.filter(author_id=author_id, pk__in=note_ids).order_by(order).values("id", "title")

    query = PreparedQuery(build)
    friend_notes = [notes["followers"], notes["no cover"]]
    ids = [n.pk for n in friend_notes]
    author = friend_notes[0].author_id
    with django_assert_num_queries(1):
        assert [r["id"] for r in query.rows(author, ids, newest=True)] == sorted(ids, reverse=True)
    assert [r["id"] for r in query.rows(author, ids, newest=False)] == sorted(ids)
    assert query.rows(notes["public"].author_id, ids, newest=True) == []
    assert query.rows(author, ids[:1], newest=True) == [{"id": ids[0], "title": friend_notes[0].title}]
    assert len(built) == 3  # (newest, 2 ids), (oldest, 2 ids), (newest, 1 id): the third call reused

    sliced = PreparedQuery(
        lambda limit_author: Note.objects.filter(pk__gt=0)[: abs(limit_author) % 5].values("id")
    )
    with pytest.raises(ImproperlyConfigured):
        sliced.rows(author)
    with pytest.raises(TypeError):
        query.rows(1.5, ids, newest=True)


@pytest.mark.parametrize("position", ["abc", "99999999999999999999999"])
def test_a_forged_cursor_position_is_a_404_not_a_500(anon_client, position):
    author = UserFactory()
    NoteFactory.create_batch(3, author=author)
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = anon_client.get(f"/api/v1/users/{author.username}/notes", {"cursor": cursor})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid cursor"


def test_profile_notes_page_by_keyset_without_repeats(anon_client):
    author = UserFactory()
    notes = NoteFactory.create_batch(5, author=author)
    NoteFactory(author=author, visibility=Visibility.PRIVATE)
    seen, url = [], f"/api/v1/users/{author.username}/notes?page_size=2"
    while url:
        page = anon_client.get(url).json()
        seen += [card["id"] for card in page["results"]]
        url = page["next"]
    assert seen == sorted((n.pk for n in notes), reverse=True)


def test_profile_notes_page_back_by_keyset(anon_client):
    """``previous`` runs the compiled query the other way (``id > position``, oldest first)."""
    author = UserFactory()
    NoteFactory.create_batch(5, author=author)
    forward, last = pages_by_link(anon_client, f"/api/v1/users/{author.username}/notes?page_size=2", "next")
    assert [len(page) for page in forward] == [2, 2, 1]
    backward, _ = pages_by_link(anon_client, last, "previous")
    assert backward[::-1] == forward


def test_note_page_renders_the_card_and_every_detail_column(client_for):
    author, reader = UserFactory.create_batch(2)
    note = NoteFactory(
        author=author,
        body="春日穿搭分享",
        place_name="武康路",
        place_city="上海",
        lat="31.205",
        lng="121.437",
        share_count=4,
        ai_assisted=True,
    )
    NoteLike.objects.create(note=note, user=reader)
    body = client_for(reader).get(f"/api/v1/notes/{note.pk}").json()

    request = RequestFactory().get("/")
    card = note_card(request, note_cards(viewer=reader, note_ids=[note.pk])[note.pk])
    assert {key: body[key] for key in card} == card
    assert body["liked"] is True
    assert body["place"] == {"name": "武康路", "city": "上海", "lat": 31.205, "lng": 121.437}
    assert (body["body"], body["share_count"], body["ai_assisted"]) == ("春日穿搭分享", 4, True)
    assert (body["product"], body["rating"], body["pinned_comment_id"], body["publish_at"]) == (None,) * 4
    assert (body["visibility"], body["status"]) == ("public", "published")
    assert parse_datetime(body["created_at"]) == note.created_at
    assert parse_datetime(body["updated_at"]) == note.updated_at
    assert [m["id"] for m in body["media"]] == [note.cover_id]


def test_prepared_query_keeps_a_bounded_number_of_shapes(world, monkeypatch):
    monkeypatch.setattr(config_db, "MAX_SHAPES", 3)
    query = PreparedQuery(lambda ids: Note.objects.filter(pk__in=ids).values("id"))
    _, notes = world
    ids = [note.pk for note in notes.values()]
    for size in range(1, len(ids) + 1):
        assert {row["id"] for row in query.rows(ids[:size])} == set(ids[:size])
    assert len(query._compiled) == 3
    assert {row["id"] for row in query.rows(ids[:1])} == {ids[0]}  # an evicted shape compiles again


@requires_postgres("PostgreSQL's plans")
def test_on_postgresql_constants_are_written_into_the_sql_and_run_time_values_stay_parameters(world):
    """So that PostgreSQL can plan the statement once (``_constants_inlined``): the statuses,
    visibilities and ``EXISTS``' ``1`` become literals (a ``%`` in one escaped), the viewer's id
    stays a parameter, and the rows are the queryset's."""
    viewer, notes = world
    titled = NoteFactory(author=notes["public"].author, title="100% 好物")

    def build(viewer_id, *, title):
        return (
            notes_for_cards(viewer_from_id(viewer_id))
            .filter(title__in=[title, notes["public"].title])
            .order_by("id")
            .values("id", "title")
        )

    for plan_per_call in (False, True):
        query, seen = PreparedQuery(build, plan_per_call=plan_per_call), []

        def spy(execute, sql, params, many, context, seen=seen):
            seen.append((sql, list(params)))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(spy):
            rows = query.rows(viewer.pk, title=titled.title)
        assert rows == list(build(viewer.pk, title=titled.title))
        assert [r["id"] for r in rows] == [notes["public"].pk, titled.pk]
        sql, params = seen[0]
        if plan_per_call:
            assert "'published'" not in sql and "published" in params
        else:
            assert set(params) == {viewer.pk}
            assert "'published'" in sql and "'100%% 好物'" in sql


def test_json_columns_read_by_a_compiled_query_are_what_the_orm_reads(db):
    """Compiled queries decode JSON columns with orjson; values beyond what it reads (integers over
    64 bits) and JSON paths still come out as Django's own reader gives them."""
    interests = ["穿搭", 2**70, {"ключ": [1.5, None, True, "\u2028"]}, -(2**63)]
    user = UserFactory(interests=interests)
    orm = User.objects.filter(pk=user.pk).values("interests", "interests__2")
    query = PreparedQuery(lambda pk: User.objects.filter(pk=pk).values("interests", "interests__2"))
    assert query.rows(user.pk) == list(orm)
    assert query.rows(user.pk)[0]["interests"] == interests
    # What Django's reader does with what no JSON column should hold: no value, text that is no JSON.
    field = User._meta.get_field("interests")
    for stored in (None, "not json", '{"a": 1}'):
        expected = field.from_db_value(stored, None, connection)
        assert config_db._json_from_db(stored, None, connection) == expected


def test_row_renderers_take_the_columns_in_the_selectors_order():
    """Card rows are rendered by position (``media_out(request, *cover_columns)``): the parameters
    must follow the column tuples the selectors read."""
    assert tuple(inspect.signature(media_out).parameters)[1:] == MEDIA_COLUMNS
    assert tuple(inspect.signature(user_summary_of).parameters)[1:6] == USER_SUMMARY_COLUMNS


def test_prepared_query_as_a_part_of_a_larger_statement():
    """``statement`` hands over the SQL ``rows`` runs with its parameters named, so it can be a
    ``WITH`` query of a statement written with named parameters; a literal ``%`` in the SQL (a
    constant written in on PostgreSQL) stays a literal."""
    sale, named, other = UserFactory(username="sale100%off"), UserFactory(), UserFactory()
    query = PreparedQuery(
        lambda pk, name: (
            User.objects.filter(Q(username__contains="100%") | Q(username=name))
            .exclude(pk=pk)
            .order_by("username")
            .values("username")
        )
    )
    sql, params = query.statement(other.pk, named.username, name="q")
    assert list(params) == [f"q{i}" for i in range(len(params))]
    assert {other.pk, named.username} <= set(params.values())  # (SQLite's keep the constants too)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH q AS ({sql}) SELECT username FROM q WHERE username <> %(kept)s",
            {**params, "kept": sale.username},
        )
        assert cursor.fetchall() == [(named.username,)]
    assert query.rows(other.pk, named.username) == [
        {"username": u} for u in sorted([sale.username, named.username])
    ]
    assert query.rows(sale.pk, "nobody") == []
