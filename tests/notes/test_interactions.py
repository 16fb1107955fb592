"""Likes, collects and shares: idempotent toggles, exact counters, notifications."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Notification, User
from config.errors import NotFound
from notes.choices import NoteStatus, Visibility
from notes.models import Board, Note, NoteCollect, NoteLike
from notes.selectors import note_ref
from notes.services import interactions
from tests.conftest import requires_postgres
from tests.factories import BlockFactory, FollowFactory, UserFactory
from tests.factories.notes import BoardFactory, NoteFactory
from tests.helpers import assert_error, run_together


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.mark.django_db
def test_like_is_idempotent_and_counts_once(api, django_capture_on_commit_callbacks):
    note = NoteFactory()
    url = f"/api/v1/notes/{note.pk}/like"
    with django_capture_on_commit_callbacks(execute=True):
        first, second = api.post(url).json(), api.post(url).json()
    assert first == {"active": True, "changed": True, "count": 1}
    assert second == {"active": True, "changed": False, "count": 1}
    assert NoteLike.objects.filter(note=note).count() == 1
    assert fresh(note.author).like_collect_count == 1
    assert api.get(f"/api/v1/notes/{note.pk}").json()["liked"] is True
    assert Notification.objects.filter(recipient=note.author, verb="like").count() == 1
    assert api.delete(url).json() == {"active": False, "changed": True, "count": 0}
    assert api.delete(url).json() == {"active": False, "changed": False, "count": 0}
    assert fresh(note.author).like_collect_count == 0
    with django_capture_on_commit_callbacks(execute=True):
        api.post(url)
    assert Notification.objects.filter(recipient=note.author, verb="like").count() == 1  # de-duplicated


@pytest.mark.django_db
def test_collect_into_default_then_chosen_board(api):
    note = NoteFactory()
    url = f"/api/v1/notes/{note.pk}/collect"
    assert api.post(url, {}, format="json").json() == {"active": True, "changed": True, "count": 1}
    default = Board.objects.get(owner=api.user, is_default=True)
    assert default.note_count == 1
    trip = BoardFactory(owner=api.user, name="旅行清单")
    moved = api.post(url, {"board": trip.pk}, format="json").json()
    assert moved == {"active": True, "changed": True, "count": 1}
    assert (fresh(default).note_count, fresh(trip).note_count) == (0, 1)
    assert NoteCollect.objects.get(note=note, user=api.user).board == trip
    assert fresh(note.author).like_collect_count == 1
    assert api.delete(url).json() == {"active": False, "changed": True, "count": 0}
    assert (fresh(trip).note_count, fresh(note).collect_count, fresh(note.author).like_collect_count) == (
        0,
        0,
        0,
    )


@pytest.mark.django_db
def test_cannot_collect_into_someone_elses_board(api):
    note, board = NoteFactory(), BoardFactory()
    assert_error(
        api.post(f"/api/v1/notes/{note.pk}/collect", {"board": board.pk}, format="json"), 404, "not_found"
    )
    assert not NoteCollect.objects.exists() and fresh(board).note_count == 0


@pytest.mark.django_db
def test_share_counts_every_share(api):
    note = NoteFactory()
    for expected in (1, 2):
        response = api.post(f"/api/v1/notes/{note.pk}/share", {"channel": "wechat"}, format="json")
        assert response.json() == {"share_count": expected}
    assert fresh(note).shares.filter(channel="wechat").count() == 2


@pytest.mark.django_db
def test_anonymous_cannot_like(anon_client):
    note = NoteFactory()
    assert_error(anon_client.post(f"/api/v1/notes/{note.pk}/like"), 401, "not_authenticated")
    assert fresh(note).like_count == 0


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_likes_by_one_user_make_one_row():
    note, fan = NoteFactory(), UserFactory()
    results = run_together(
        [lambda: interactions.note_like(note=fresh(note), user=User.objects.get(pk=fan.pk))] * 50
    )
    assert sum(r.changed for r in results) == 1
    assert NoteLike.objects.filter(note=note).count() == 1
    assert (fresh(note).like_count, fresh(note.author).like_collect_count) == (1, 1)


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_parallel_likes_by_many_users_and_collect_toggles_stay_exact():
    note = NoteFactory()
    fans = [UserFactory() for _ in range(16)]
    jobs = [lambda u=u: interactions.note_like(note=fresh(note), user=u) for u in fans]
    jobs += [lambda u=u: interactions.note_collect(note=fresh(note), user=u) for u in fans[:8]]
    jobs += [lambda u=u: interactions.note_uncollect(note=fresh(note), user=u) for u in fans[:4]]
    run_together(jobs)
    note = fresh(note)
    assert note.like_count == NoteLike.objects.filter(note=note).count() == 16
    assert note.collect_count == NoteCollect.objects.filter(note=note).count()
    assert fresh(note.author).like_collect_count == note.like_count + note.collect_count
    for board in Board.objects.all():
        assert board.note_count == board.collects.count()
    assert Note.objects.count() == 1


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_parallel_likes_then_unlikes_by_many_users_come_back_to_zero():
    note = NoteFactory()
    fans = [UserFactory() for _ in range(16)]
    liked = run_together([lambda u=u: interactions.note_like(note=fresh(note), user=u) for u in fans])
    assert sorted(r.count for r in liked) == list(range(1, 17))  # each saw its own increment
    assert (fresh(note).like_count, fresh(note.author).like_collect_count) == (16, 16)
    jobs = [lambda u=u: interactions.note_unlike(note=fresh(note), user=u) for u in fans]
    jobs += [lambda u=u: interactions.note_unlike(note=fresh(note), user=u) for u in fans[:4]]  # repeats
    unliked = run_together(jobs)
    assert sum(r.changed for r in unliked) == 16
    assert (fresh(note).like_count, fresh(note.author).like_collect_count) == (0, 0)
    assert not NoteLike.objects.exists()


@pytest.mark.django_db
def test_collect_adopts_an_existing_board_with_the_default_name(api):
    legacy = BoardFactory(owner=api.user, name=interactions.DEFAULT_BOARD_NAME)
    note = NoteFactory()
    assert api.post(f"/api/v1/notes/{note.pk}/collect", {}, format="json").json()["active"] is True
    legacy.refresh_from_db()
    assert (legacy.is_default, legacy.note_count) == (True, 1)
    assert Board.objects.filter(owner=api.user).count() == 1


# (setup, whether the viewer may like and collect the note: a live note the rule lets them see).
# The toggles check it with SQL compiled once and reused with each viewer's and note's ids: these
# hold it to the rule. An author sees their own draft or hidden note, but nobody likes one.
VISIBILITY = [
    ("public", True),
    ("draft", False),
    ("own draft", False),
    ("own hidden", False),
    ("private", False),
    ("own private", True),
    ("followers only", False),
    ("followers only, following", True),
    ("private account", False),
    ("private account, following", True),
    ("hidden", False),
    ("deleted", False),
    ("own deleted", False),
    ("blocked by author", False),
    ("blocking author", False),
    ("inactive author", False),
]


@pytest.mark.parametrize(("setup", "visible"), VISIBILITY)
@pytest.mark.django_db
def test_toggles_see_exactly_what_the_visibility_rule_shows(api, setup, visible):
    author = api.user if setup.startswith("own") else UserFactory(is_private="private account" in setup)
    note = NoteFactory(author=author)
    if "draft" in setup:
        note.status = NoteStatus.DRAFT
    elif "hidden" in setup:
        note.status = NoteStatus.HIDDEN
    elif "deleted" in setup:
        note.deleted_at = timezone.now()
    elif "private" in setup and "account" not in setup:
        note.visibility = Visibility.PRIVATE
    elif "followers only" in setup:
        note.visibility = Visibility.FOLLOWERS
    note.save()
    if "following" in setup:
        FollowFactory(follower=api.user, followee=author)
    if setup == "blocked by author":
        BlockFactory(blocker=author, blocked=api.user)
    elif setup == "blocking author":
        BlockFactory(blocker=api.user, blocked=author)
    elif setup == "inactive author":
        User.objects.filter(pk=author.pk).update(is_active=False)
    assert Note.objects.live().visible_to(api.user).filter(pk=note.pk).exists() is visible
    base = f"/api/v1/notes/{note.pk}"
    calls = [
        (api.post, f"{base}/like", {"active": True, "changed": True, "count": 1}),
        (api.delete, f"{base}/like", {"active": False, "changed": True, "count": 0}),
        (api.post, f"{base}/collect", {"active": True, "changed": True, "count": 1}),
        (api.delete, f"{base}/collect", {"active": False, "changed": True, "count": 0}),
    ]
    for call, url, answer in calls:
        if visible:
            assert call(url, {}, format="json").json() == answer
        else:
            assert_error(call(url, {}, format="json"), 404, "not_found")
            assert not NoteLike.objects.exists() and not NoteCollect.objects.exists()
    note, author = fresh(note), fresh(author)
    assert (note.like_count, note.collect_count, author.like_collect_count) == (0, 0, 0)


@pytest.mark.django_db
def test_toggles_on_a_missing_note_are_404(api):
    for call in (api.post, api.delete):
        for action in ("like", "collect"):
            assert_error(call(f"/api/v1/notes/987654/{action}", {}, format="json"), 404, "not_found")


@pytest.mark.django_db
def test_a_collect_whose_existing_row_vanishes_before_the_lock_inserts_again(monkeypatch):
    """The race a board deletion can cause: the insert meets the old row (and does nothing), then
    the row is deleted and committed before the collect locks it."""
    owner, author = UserFactory(), UserFactory()
    note, old_board, new_board = (
        NoteFactory(author=author),
        BoardFactory(owner=owner),
        BoardFactory(owner=owner),
    )
    interactions.note_collect(note=note, user=owner, board=old_board)
    real_insert, raced = interactions._insert_once, []

    def insert_then_lose_the_row(table, **ids):
        inserted = real_insert(table, **ids)
        if not raced:  # what the concurrent board deletion does between the two statements
            raced.append(True)
            NoteCollect.objects.filter(note=note, user=owner).delete()
            Note.objects.filter(pk=note.pk).update(collect_count=0)
            User.objects.filter(pk=author.pk).update(like_collect_count=0)
            Board.objects.filter(pk=old_board.pk).update(note_count=0)
        return inserted

    monkeypatch.setattr(interactions, "_insert_once", insert_then_lose_the_row)
    result = interactions.note_collect(note=note, user=owner, board=new_board)

    assert (result.active, result.changed, result.count) == (True, True, 1)
    assert NoteCollect.objects.get(note=note, user=owner).board_id == new_board.pk
    assert Board.objects.get(pk=new_board.pk).note_count == 1
    assert User.objects.get(pk=author.pk).like_collect_count == 1


@pytest.mark.django_db
def test_toggles_notify_the_author_but_never_oneself_and_refuse_across_a_block():
    author, fan, blocked, blocker = UserFactory.create_batch(4)
    note = NoteFactory(author=author)
    BlockFactory(blocker=author, blocked=blocked)
    BlockFactory(blocker=blocker, blocked=author)
    for user in (fan, author):
        interactions.note_like(note=note, user=user)
        interactions.note_collect(note=note, user=user)
    for user in (blocked, blocker):  # neither may see the note: the toggle itself checks
        for toggle in (interactions.note_like, interactions.note_collect):
            with pytest.raises(NotFound):
                toggle(note=note_ref(note.pk), user=user)
    assert sorted(Notification.objects.values_list("recipient", "actor", "verb", "target_id")) == [
        (author.pk, fan.pk, "collect", note.pk),
        (author.pk, fan.pk, "like", note.pk),
    ]
    note = fresh(note)  # every toggle counted, whoever was told
    assert (note.like_count, note.collect_count, fresh(author).like_collect_count) == (2, 2, 4)
    assert set(NoteLike.objects.values_list("user", flat=True)) == {fan.pk, author.pk}


@pytest.mark.django_db(transaction=True)
def test_a_toggle_on_a_note_that_is_gone_is_not_found_and_writes_nothing():
    author, fan = UserFactory(), UserFactory()
    gone = note_ref(987654)  # as the view passes it: the id alone
    for toggle in (interactions.note_like, interactions.note_collect):
        with pytest.raises(NotFound):
            toggle(note=gone, user=fan)
    assert not NoteLike.objects.exists() and not NoteCollect.objects.exists()
    assert not Notification.objects.exists()
    assert fresh(author).like_collect_count == 0
