"""Boards and collects through the API: CRUD, privacy and blocks, ordering, covers, hidden
collects, exact counters when a board goes, and query budgets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Block, Follow, User
from config.errors import NotFound
from notes.choices import Visibility
from notes.models import Board, Note, NoteCollect
from notes.services.boards import board_delete
from notes.services.interactions import DEFAULT_BOARD_NAME, board_default, note_collect, note_uncollect
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.factories.notes import BoardFactory, NoteFactory
from tests.helpers import assert_error, run_together

pytestmark = pytest.mark.django_db

BOARDS = "/api/v1/boards"


def board_url(board_id) -> str:
    return f"{BOARDS}/{board_id}"


def board_notes_url(board_id) -> str:
    return f"{BOARDS}/{board_id}/notes"


def user_boards_url(user) -> str:
    return f"/api/v1/users/{user.username}/boards"


def user_collects_url(user) -> str:
    return f"/api/v1/users/{user.username}/collects"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(response) -> list[int]:
    return [item["id"] for item in results(response)]


def create_board(client, **data) -> dict:
    response = client.post(BOARDS, data)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def other(db):
    return UserFactory(username="other")


def assert_collect_counters_exact() -> None:
    """Every note's collect_count and every author's like_collect_count match the rows."""
    per_note = dict(NoteCollect.objects.values_list("note").annotate(n=Count("id")))
    for pk, count in Note.objects.values_list("pk", "collect_count"):
        assert count == per_note.get(pk, 0), pk
    per_author = dict(NoteCollect.objects.values_list("note__author").annotate(n=Count("id")))
    for pk, count in User.objects.values_list("pk", "like_collect_count"):
        assert count == per_author.get(pk, 0), pk


# --- CRUD ----------------------------------------------------------------------------------------


def test_board_crud(client_for, owner):
    client = client_for(owner)
    created = create_board(client, name="  Trips ", description="Places to go")
    assert created["name"] == "Trips"
    assert created["owner"] == "owner"
    assert (created["is_private"], created["is_default"], created["note_count"], created["cover"]) == (
        False,
        False,
        0,
        None,
    )
    secret = create_board(client, name="Gifts", is_private=True)

    assert ids(client.get(BOARDS)) == [secret["id"], created["id"]]
    assert client.get(board_url(secret["id"])).json()["is_private"] is True

    response = client.patch(board_url(created["id"]), {"name": "Trips 2026", "is_private": True})
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["is_private"]) == ("Trips 2026", True)
    assert response.json()["description"] == "Places to go"

    assert client.delete(board_url(created["id"])).status_code == 204
    assert_error(client.get(board_url(created["id"])), 404, "not_found")
    assert ids(client.get(BOARDS)) == [secret["id"]]


def test_board_names_are_unique_per_owner(client_for, owner, other):
    client = client_for(owner)
    trips = create_board(client, name="Trips")
    error = assert_error(client.post(BOARDS, {"name": "Trips"}), 409, "board_exists")
    assert "name" in error["fields"]
    create_board(client_for(other), name="Trips")  # someone else's namesake is fine
    gifts = create_board(client, name="Gifts")
    assert_error(client.patch(board_url(gifts["id"]), {"name": "Trips"}), 409, "board_exists")
    assert client.patch(board_url(trips["id"]), {"name": "Trips"}).status_code == 200  # unchanged
    # The default board's name is kept for it, so collecting can always create it.
    assert_error(client.post(BOARDS, {"name": DEFAULT_BOARD_NAME}), 409, "board_exists")
    assert board_default(user=owner).name == DEFAULT_BOARD_NAME


@pytest.mark.parametrize(
    "payload",
    [{"name": ""}, {"name": "   "}, {"name": "x" * 41}, {"name": "ok", "is_default": True}, {}],
)
def test_board_input_is_validated(client_for, owner, payload):
    assert_error(client_for(owner).post(BOARDS, payload), 400, "invalid")
    assert not Board.objects.exists()


def test_board_update_refuses_read_only_fields(client_for, owner):
    board = BoardFactory(owner=owner)
    for payload in ({"note_count": 5}, {"is_default": True}, {"owner": 1}):
        assert_error(client_for(owner).patch(board_url(board.pk), payload), 400, "invalid")
    assert_error(client_for(owner).patch(board_url(board.pk), {"name": " "}), 400, "invalid")


def test_the_default_board_cannot_be_deleted_but_can_be_edited(client_for, owner):
    default = board_default(user=owner)
    client = client_for(owner)
    assert_error(client.delete(board_url(default.pk)), 409, "default_board")
    response = client.patch(board_url(default.pk), {"name": "Saved", "is_private": True})
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is True
    assert board_default(user=owner).pk == default.pk


def test_boards_need_an_account(anon_client):
    assert_error(anon_client.get(BOARDS), 401, "not_authenticated")
    assert_error(anon_client.post(BOARDS, {"name": "x"}), 401, "not_authenticated")


# --- Privacy and blocks --------------------------------------------------------------------------


def test_private_boards_are_404_for_everyone_else(client_for, anon_client, owner, other):
    secret = BoardFactory(owner=owner, is_private=True)
    public = BoardFactory(owner=owner)
    them = client_for(other)
    for client in (them, anon_client):
        assert_error(client.get(board_url(secret.pk)), 404, "not_found")
        assert_error(client.get(board_notes_url(secret.pk)), 404, "not_found")
        assert ids(client.get(user_boards_url(owner))) == [public.pk]
    assert client_for(owner).get(board_url(secret.pk)).status_code == 200
    assert ids(client_for(owner).get(user_boards_url(owner))) == [public.pk, secret.pk]
    # Changes to someone else's board are 404, private or not, and change nothing.
    for board in (secret, public):
        assert_error(them.patch(board_url(board.pk), {"name": "mine now"}), 404, "not_found")
        assert_error(them.delete(board_url(board.pk)), 404, "not_found")
        assert_error(anon_client.delete(board_url(board.pk)), 401, "not_authenticated")
    assert Board.objects.filter(owner=owner).count() == 2
    assert not Board.objects.filter(name="mine now").exists()
    assert ids(them.get(BOARDS)) == []


@pytest.mark.parametrize("direction", ["owner_blocks", "blocks_owner"])
def test_a_blocked_pair_sees_no_boards(client_for, owner, other, direction):
    board = BoardFactory(owner=owner)
    if direction == "owner_blocks":
        Block.objects.create(blocker=owner, blocked=other)
    else:
        Block.objects.create(blocker=other, blocked=owner)
    them = client_for(other)
    assert_error(them.get(user_boards_url(owner)), 404, "not_found")
    assert_error(them.get(user_collects_url(owner)), 404, "not_found")
    assert_error(them.get(board_url(board.pk)), 404, "not_found")
    assert_error(them.get(board_notes_url(board.pk)), 404, "not_found")


def test_a_private_account_shows_boards_and_collects_to_followers_only(client_for, anon_client, owner, other):
    User.objects.filter(pk=owner.pk).update(is_private=True)
    board = BoardFactory(owner=owner)
    note_collect(note=NoteFactory(), user=owner, board=board)
    for client in (client_for(other), anon_client):
        assert_error(client.get(user_boards_url(owner)), 403, "private_account")
        assert_error(client.get(user_collects_url(owner)), 403, "private_account")
        assert_error(client.get(board_url(board.pk)), 404, "not_found")
        assert_error(client.get(board_notes_url(board.pk)), 404, "not_found")
    Follow.objects.create(follower=other, followee=owner)
    them = client_for(other)
    assert ids(them.get(user_boards_url(owner))) == [board.pk]
    assert len(ids(them.get(user_collects_url(owner)))) == 1
    assert them.get(board_url(board.pk)).status_code == 200
    assert len(ids(them.get(board_notes_url(board.pk)))) == 1
    assert len(ids(client_for(owner).get(user_collects_url(owner)))) == 1


# --- Board notes, covers, collects ---------------------------------------------------------------


def test_collect_into_a_chosen_board(client_for, owner, other):
    board = BoardFactory(owner=owner)
    note = NoteFactory()
    note_collect(note=note, user=owner, board=board)
    assert Board.objects.get(pk=board.pk).note_count == 1
    assert ids(client_for(owner).get(board_notes_url(board.pk))) == [note.pk]
    # Someone else's board is refused.
    with pytest.raises(NotFound):
        note_collect(note=NoteFactory(), user=other, board=board)


def test_board_notes_are_ordered_by_collect_time_and_filtered_by_visibility(client_for, owner, other):
    board = BoardFactory(owner=owner)
    first, second, third = NoteFactory(), NoteFactory(), NoteFactory()
    hidden = NoteFactory()
    # Collected in this order (not creation order).
    for note in (second, hidden, third, first):
        note_collect(note=note, user=owner, board=board)
    Note.objects.filter(pk=hidden.pk).update(visibility=Visibility.PRIVATE)  # its author made it private
    # Moving a note to another board and back keeps its collect time.
    note_collect(note=second, user=owner, board=board_default(user=owner))
    note_collect(note=second, user=owner, board=board)

    body = client_for(other).get(board_notes_url(board.pk)).json()
    assert [n["id"] for n in body["results"]] == [first.pk, third.pk, second.pk]
    card = body["results"][0]
    assert card["author"]["username"] == first.author.username
    assert card["cover"]["id"] == first.cover_id
    assert card["collected"] is False and card["collected_at"]
    assert [n["collected"] for n in client_for(owner).get(board_notes_url(board.pk)).json()["results"]] == [
        True
    ] * 3

    page = client_for(other).get(board_notes_url(board.pk), {"page_size": 2}).json()
    assert [n["id"] for n in page["results"]] == [first.pk, third.pk]
    assert [n["id"] for n in client_for(other).get(page["next"]).json()["results"]] == [second.pk]


def test_board_cover_is_the_latest_collected_visible_note(client_for, owner, other):
    board = BoardFactory(owner=owner)
    older, newer = NoteFactory(), NoteFactory(visibility=Visibility.FOLLOWERS)
    Follow.objects.create(follower=owner, followee=newer.author)
    note_collect(note=older, user=owner, board=board)
    note_collect(note=newer, user=owner, board=board)

    assert client_for(owner).get(board_url(board.pk)).json()["cover"]["id"] == newer.cover_id
    # Someone who may not see the newer note gets the older one's cover instead.
    assert client_for(other).get(board_url(board.pk)).json()["cover"]["id"] == older.cover_id
    [listed] = results(client_for(other).get(user_boards_url(owner)))
    assert listed["cover"]["id"] == older.cover_id

    note_uncollect(note=newer, user=owner)
    assert results(client_for(owner).get(BOARDS))[0]["cover"]["id"] == older.cover_id
    Note.objects.filter(pk=older.pk).update(deleted_at=timezone.now())
    assert client_for(owner).get(board_url(board.pk)).json()["cover"] is None


def test_user_collects_tab(client_for, anon_client, owner, other):
    public, secret = BoardFactory(owner=owner), BoardFactory(owner=owner, is_private=True)
    shown, kept = NoteFactory(), NoteFactory()
    by_default = NoteFactory()
    note_collect(note=shown, user=owner, board=public)
    note_collect(note=kept, user=owner, board=secret)
    note_collect(note=by_default, user=owner)

    assert ids(client_for(owner).get(user_collects_url(owner))) == [by_default.pk, kept.pk, shown.pk]
    assert ids(client_for(other).get(user_collects_url(owner))) == [by_default.pk, shown.pk]
    assert ids(anon_client.get(user_collects_url(owner))) == [by_default.pk, shown.pk]

    User.objects.filter(pk=owner.pk).update(hide_collects=True)
    assert_error(client_for(other).get(user_collects_url(owner)), 403, "collects_hidden")
    assert_error(anon_client.get(user_collects_url(owner)), 403, "collects_hidden")
    assert len(ids(client_for(owner).get(user_collects_url(owner)))) == 3


# --- Deleting a board ----------------------------------------------------------------------------


def test_deleting_a_board_keeps_counters_exact(client_for, owner, other):
    authors = UserFactory.create_batch(3)
    board, keep = BoardFactory(owner=owner), BoardFactory(owner=owner)
    notes = [NoteFactory(author=authors[n % 3]) for n in range(7)]
    for note in notes[:5]:
        note_collect(note=note, user=owner, board=board)
    note_collect(note=notes[5], user=owner, board=keep)
    for note in notes:  # someone else collects everything too
        note_collect(note=note, user=other)
    Note.objects.filter(pk=notes[0].pk).update(deleted_at=timezone.now())  # still counted as a row
    assert Note.objects.get(pk=notes[1].pk).collect_count == 2
    assert_collect_counters_exact()

    assert client_for(owner).delete(board_url(board.pk)).status_code == 204
    assert not Board.objects.filter(pk=board.pk).exists()
    assert not NoteCollect.objects.filter(user=owner, note__in=notes[:5]).exists()
    assert NoteCollect.objects.filter(user=owner).count() == 1
    assert [Note.objects.get(pk=n.pk).collect_count for n in notes] == [1, 1, 1, 1, 1, 2, 1]
    assert_collect_counters_exact()
    assert Board.objects.get(pk=keep.pk).note_count == 1


@requires_postgres()
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_deleting_a_board_while_uncollecting_and_moving_keeps_counters_exact():
    owner = UserFactory()
    board, other_board = BoardFactory(owner=owner), BoardFactory(owner=owner)
    notes = [NoteFactory(author=UserFactory()) for _ in range(12)]
    for note in notes:
        note_collect(note=note, user=owner, board=board)

    def fresh():
        return User.objects.get(pk=owner.pk)

    def uncollect(note):
        return lambda: note_uncollect(note=Note.objects.get(pk=note.pk), user=fresh())

    def move(note):
        return lambda: note_collect(
            note=Note.objects.get(pk=note.pk), user=fresh(), board=Board.objects.get(pk=other_board.pk)
        )

    def delete():
        board_delete(board=Board.objects.get(pk=board.pk), user=fresh())

    run_together([delete] + [uncollect(n) for n in notes[:5]] + [move(n) for n in notes[5:8]])
    assert not Board.objects.filter(pk=board.pk).exists()
    assert not NoteCollect.objects.filter(note__in=notes[:5]).exists()
    assert NoteCollect.objects.filter(note__in=notes[8:]).count() == 0
    moved = NoteCollect.objects.filter(board=other_board).count()
    assert Board.objects.get(pk=other_board.pk).note_count == moved
    assert_collect_counters_exact()


# --- Query budgets -------------------------------------------------------------------------------

ROWS = 22


def _count_queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == min(params.get("page_size", 20), ROWS), url
    return len(ctx.captured_queries)


@pytest.fixture
def collector(db):
    """A user with ROWS public boards (each with a cover) and ROWS collects in one board, by
    ROWS different authors, some of whom the viewer follows."""
    user = UserFactory(username="collector")
    viewer = UserFactory(username="viewer")
    boards = [BoardFactory(owner=user, name=f"B{n}") for n in range(ROWS)]
    notes = [NoteFactory() for _ in range(ROWS)]
    for board, note in zip(boards, notes, strict=True):
        note_collect(note=note, user=user, board=board)
    big = BoardFactory(owner=user, name="big")
    for note in [NoteFactory() for _ in range(ROWS)]:
        note_collect(note=note, user=user, board=big)
        Follow.objects.create(follower=viewer, followee=note.author)
    return user, viewer, big


@pytest.mark.parametrize("who", ["owner", "viewer", "anonymous"])
def test_query_budgets_of_board_and_collect_lists(client_for, anon_client, collector, who):
    user, viewer, big = collector
    client = {"owner": lambda: client_for(user), "viewer": lambda: client_for(viewer)}.get(
        who, lambda: anon_client
    )()
    urls = [user_boards_url(user), board_notes_url(big.pk), user_collects_url(user)]
    if who == "owner":
        urls.append(BOARDS)
    for url in urls:
        assert _count_queries(client, url, page_size=1) == _count_queries(client, url, page_size=20), url
    auth = 0 if who == "anonymous" else 1
    # (auth +) user, boards page, their covers
    assert _count_queries(client, user_boards_url(user), page_size=20) == auth + 3
    # (auth +) board, page of collects with notes, authors, covers and flags
    assert _count_queries(client, board_notes_url(big.pk), page_size=20) == auth + 2
    assert _count_queries(client, user_collects_url(user), page_size=20) == auth + 2


def test_admin_edits_boards_through_the_service(client, owner):
    board, taken = BoardFactory(owner=owner, name="Rude name"), BoardFactory(owner=owner, name="Taken")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/notes/board/{board.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Renamed", "description": "", "is_private": "on"})
    assert response.status_code == 302, response.content
    board.refresh_from_db()
    assert (board.name, board.is_private) == ("Renamed", True)
    client.post(url, {"name": taken.name, "description": ""})
    board.refresh_from_db()
    assert board.name == "Renamed"  # refused with a message, nothing saved
