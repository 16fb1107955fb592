"""Writing notes and boards under real concurrency (PostgreSQL only): publishing twice, editing
while deleting, boards deleted while notes go into them, one board name, and a note published while
its medium is being processed.

As in the other concurrency suites, ``run_together`` starts the calls at one barrier, each in its
own thread and database connection; the races that depend on which call takes a lock first are run
for several rounds.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.choices import NotificationVerb
from accounts.models import Notification, User
from notes.choices import MediaStatus, NoteStatus
from notes.models import Board, Media, Note, NoteCollect, NoteRevision, Topic
from notes.services import media as media_services
from notes.services import notes as notes_services
from notes.services.interactions import note_collect
from notes.services.notes import note_create
from tests.conftest import requires_postgres, twin
from tests.factories import UserFactory
from tests.factories.notes import BoardFactory, MediaFactory, NoteFactory, live_note
from tests.helpers import assert_error, run_together
from tests.notes.conftest import image_bytes

pytestmark = [
    requires_postgres(),
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

ROUNDS = 8
NOTES = "/api/v1/notes"
BOARDS = "/api/v1/boards"


def note_count(user: User) -> int:
    return User.objects.values_list("note_count", flat=True).get(pk=user.pk)


def topic_count(name: str) -> int:
    return Topic.objects.values_list("note_count", flat=True).get(name=name)


def assert_collect_counters_exact() -> None:
    """Every note's and author's collect counters, and every board's, match the rows."""
    for note in Note.objects.all():
        assert note.collect_count == NoteCollect.objects.filter(note=note).count(), note.pk
    for user in User.objects.all():
        assert user.like_collect_count == NoteCollect.objects.filter(note__author=user).count(), user.pk
    for board in Board.objects.all():
        assert board.note_count == NoteCollect.objects.filter(board=board).count(), board.pk


# --- Publishing, editing, deleting -------------------------------------------------------------------


def test_a_draft_published_twice_at_once_counts_once(client_for):
    author, friend = UserFactory(), UserFactory(username="friend_h3")
    first = client_for(author)
    second = twin(first)
    draft = live_note(author=author, title="草稿", body="#并发话题 @friend_h3", action="draft")
    assert (note_count(author), Topic.objects.get(name="并发话题").note_count) == (0, 0)

    responses = run_together(
        [
            lambda c=c: c.patch(f"{NOTES}/{draft.pk}", {"action": "publish"}, format="json")
            for c in (first, second)
        ]
    )

    assert [r.status_code for r in responses] == [200, 200]
    assert {r.json()["status"] for r in responses} == {"published"}
    note = Note.objects.get(pk=draft.pk)
    assert note.status == NoteStatus.PUBLISHED and note.published_at is not None
    assert (note_count(author), topic_count("并发话题")) == (1, 1)
    mentions = Notification.objects.filter(recipient=friend, verb=NotificationVerb.MENTION, target_id=note.pk)
    assert mentions.count() == 1


def test_editing_a_note_while_it_is_deleted(client_for):
    """The edit lands before the deletion, or finds the note gone (404) and writes nothing: no
    revision, no new title, no counter moved on a deleted note."""
    author = UserFactory()
    first = client_for(author)
    second = twin(first)
    outcomes = set()
    for n in range(ROUNDS * 2):
        note = live_note(author=author, title=f"原标题 {n}", body="#编辑删除")
        edit, deletion = run_together(
            [
                lambda note=note, n=n: first.patch(
                    f"{NOTES}/{note.pk}", {"title": f"新标题 {n}", "body": "#另一个话题"}, format="json"
                ),
                lambda note=note: second.delete(f"{NOTES}/{note.pk}"),
            ]
        )
        assert deletion.status_code == 204
        note.refresh_from_db()
        assert note.deleted_at is not None
        revisions = list(NoteRevision.objects.filter(note=note).values_list("created_at", flat=True))
        assert all(created_at <= note.deleted_at for created_at in revisions), "edited once deleted"
        if revisions:  # the edit committed first (its answer may still be a 404: read after the delete)
            outcomes.add("edited, then deleted")
            assert (note.title, len(revisions)) == (f"新标题 {n}", 1)
        else:
            outcomes.add("deleted first")
            assert_error(edit, 404, "not_found")
            assert note.title == f"原标题 {n}" and note.body == "#编辑删除"
        if edit.status_code == 200:
            assert revisions
        assert note_count(author) == 0
        assert topic_count("编辑删除") == 0
        assert not Topic.objects.filter(name="另一个话题", note_count__gt=0).exists()
    assert outcomes


# --- Boards ------------------------------------------------------------------------------------------


def test_deleting_a_board_while_notes_are_collected_into_it(client_for):
    """A collect into a board being deleted either lands first (and goes with the board) or finds
    the board gone (404); the counters stay exact."""
    owner = UserFactory()
    clients = [client_for(owner)]
    clients += [twin(clients[0]) for _ in range(4)]
    for _ in range(ROUNDS // 2):
        board = BoardFactory(owner=owner)
        notes = NoteFactory.create_batch(4)

        def collect(client, note, board=board):
            return client.post(f"{NOTES}/{note.pk}/collect", {"board": board.pk}, format="json")

        def delete(client, board=board):
            return client.delete(f"{BOARDS}/{board.pk}")

        deletion, *collects = run_together(
            [lambda b=board: delete(clients[0], b)]
            + [lambda c=c, note=note: collect(c, note) for c, note in zip(clients[1:], notes, strict=True)]
        )

        assert deletion.status_code == 204
        for response in collects:
            if response.status_code != 200:
                assert_error(response, 404, "not_found")
        assert not Board.objects.filter(pk=board.pk).exists()
        assert not NoteCollect.objects.filter(user=owner).exists()
        assert_collect_counters_exact()


def test_moving_notes_into_a_board_while_it_is_deleted(client_for):
    """Notes collected in one board are moved into another while that one is deleted."""
    owner = UserFactory()
    clients = [client_for(owner)]
    clients += [twin(clients[0]) for _ in range(4)]
    home = BoardFactory(owner=owner)
    for _ in range(ROUNDS // 2):
        board = BoardFactory(owner=owner)
        notes = NoteFactory.create_batch(4)
        for note in notes:
            note_collect(note=note, user=owner, board=home)

        def move(client, note, board=board):
            return client.post(f"{NOTES}/{note.pk}/collect", {"board": board.pk}, format="json")

        deletion, *moves = run_together(
            [lambda b=board: clients[0].delete(f"{BOARDS}/{b.pk}")]
            + [lambda c=c, note=note: move(c, note) for c, note in zip(clients[1:], notes, strict=True)]
        )

        assert deletion.status_code == 204
        for response in moves:
            if response.status_code != 200:
                assert_error(response, 404, "not_found")
        assert not Board.objects.filter(pk=board.pk).exists()
        # A move that lost stays in its old board; one that won went with the deleted board.
        stayed = NoteCollect.objects.filter(user=owner, note__in=notes, board=home).count()
        assert stayed == sum(r.status_code != 200 for r in moves)
        assert_collect_counters_exact()
        NoteCollect.objects.filter(user=owner).delete()
        Note.objects.update(collect_count=0)
        User.objects.update(like_collect_count=0)
        Board.objects.update(note_count=0)


def test_notes_moved_both_ways_between_two_boards_at_once(client_for):
    """Moves from A to B and from B to A at the same moment take the two boards' rows in one order,
    so they never wait on each other in a cycle (a deadlock would abort one of them)."""
    owner = UserFactory()
    clients = [client_for(owner)]
    clients += [twin(clients[0]) for _ in range(5)]
    a, b = BoardFactory(owner=owner), BoardFactory(owner=owner)
    notes = NoteFactory.create_batch(6)
    for _ in range(ROUNDS // 2):
        for n, note in enumerate(notes):
            note_collect(note=note, user=owner, board=a if n % 2 else b)

        def move(client, note, n):
            return client.post(f"{NOTES}/{note.pk}/collect", {"board": (b if n % 2 else a).pk}, format="json")

        responses = run_together(
            [
                lambda c=c, note=note, n=n: move(c, note, n)
                for n, (c, note) in enumerate(zip(clients, notes, strict=True))
            ]
        )

        assert [r.status_code for r in responses] == [200] * 6
        assert all(r.json()["changed"] for r in responses)
        assert (Board.objects.get(pk=a.pk).note_count, Board.objects.get(pk=b.pk).note_count) == (3, 3)
        assert_collect_counters_exact()


def test_five_boards_with_one_name_created_at_once_make_one(client_for):
    owner = UserFactory()
    clients = [client_for(owner)]
    clients += [twin(clients[0]) for _ in range(4)]

    responses = run_together(
        [lambda c=c: c.post(BOARDS, {"name": "周末去哪儿"}, format="json") for c in clients]
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "board_exists")
    created = next(r.json() for r in responses if r.status_code == 201)
    assert list(Board.objects.filter(owner=owner).values_list("pk", "name")) == [
        (created["id"], "周末去哪儿")
    ]


# --- Media --------------------------------------------------------------------------------------------


def pending_image(owner: User) -> Media:
    """A medium just uploaded: its original stored, its processing not run yet."""
    name = default_storage.save("uploads/test/race.jpg", ContentFile(image_bytes("JPEG", (1200, 900))))
    return MediaFactory(
        owner=owner, status=MediaStatus.PENDING, original=name, variants={}, processed_at=None
    )


def test_a_note_published_while_its_medium_is_processed_goes_out(settings):
    """The author publishes a note the moment its medium finishes processing: whichever commits
    first, the note does not wait for ever in ``processing`` next to a ready medium."""
    author = UserFactory()
    for n in range(ROUNDS):
        media = pending_image(author)

        def publish(media=media, n=n):
            return note_create(author=author, media_ids=[media.pk], title=f"刚拍的 {n}", body="#处理中")

        processed, note = run_together(
            [lambda media=media: media_services.media_process(media_id=media.pk), publish]
        )

        assert Media.objects.get(pk=media.pk).status == MediaStatus.READY
        assert Note.objects.get(pk=note.pk).status == NoteStatus.PUBLISHED, f"round {n}"
    assert note_count(author) == ROUNDS
    assert topic_count("处理中") == ROUNDS


def test_a_draft_published_just_after_its_medium_was_looked_at_goes_out(monkeypatch):
    """The interleaving the note's own second look cannot cover: the processing has looked for
    waiting notes (the draft was not one) but not committed yet when the author publishes the
    draft, which reads the medium as pending and commits. The processing's look after its commit
    publishes it."""
    author = UserFactory()
    original = notes_services.notes_media_settled
    for n in range(ROUNDS // 2):
        media = pending_image(author)
        draft = note_create(author=author, media_ids=[media.pk], title=f"草稿 {n}", action="draft")
        looked = threading.Event()

        def look_then_linger(*, media_id, looked=looked):
            original(media_id=media_id)
            if not looked.is_set():  # the look inside the processing's transaction: keep it open
                looked.set()
                time.sleep(0.3)

        monkeypatch.setattr(notes_services, "notes_media_settled", look_then_linger)

        def publish(draft=draft, looked=looked):
            assert looked.wait(timeout=10)
            return notes_services.note_update(note=draft, editor=author, data={}, action="publish")

        run_together([lambda media=media: media_services.media_process(media_id=media.pk), publish])

        assert Media.objects.get(pk=media.pk).status == MediaStatus.READY
        assert Note.objects.get(pk=draft.pk).status == NoteStatus.PUBLISHED, f"round {n}"
    assert note_count(author) == ROUNDS // 2
