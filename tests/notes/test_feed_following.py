"""The following feed: fan-out on write, pull on read, follows, unfollows, blocks, deletes and hides,
cursors under inserts, rebuilds, query budgets. Every test runs on both timeline backends."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command

from accounts import services as account_services
from accounts.models import User
from notes.api.feeds import FeedCardOut
from notes.api.serializers import NoteCardOut
from notes.choices import Visibility
from notes.feeds import fanout
from notes.feeds.timelines import Entry, decode_cursor, encode_cursor, from_us, timeline_backend, to_us
from notes.models import Note, TimelineEntry
from notes.selectors import notes_for_cards
from notes.services import notes as note_services
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.helpers import assert_error, run_together
from tests.notes.feeds_support import (
    ago,
    all_pages,
    budget,
    follow,
    ids,
    publish,
    stored_timeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feed_backend")]

FEED = "/api/v1/feed/following"


@pytest.fixture
def people(db):
    reader, bob, carol, stranger = (UserFactory(username=n) for n in ("reader", "bob", "carol", "stranger"))
    return reader, bob, carol, stranger


def test_notes_of_followees_newest_first_and_nothing_else(people, committed, client_for):
    reader, bob, carol, stranger = people
    with committed():
        follow(reader, bob)
        follow(reader, carol)
    with committed():
        old = publish(bob, at=ago(hours=3))
        new = publish(carol, at=ago(hours=1))
        middle = publish(bob, at=ago(hours=2))
        publish(stranger, at=ago(minutes=5))
        publish(reader, at=ago(minutes=1))  # your own notes are on your profile, not in this feed
    response = client_for(reader).get(FEED)
    assert ids(response) == [new.pk, middle.pk, old.pk]
    assert response.json()["next"] is None
    first = response.json()["results"][0]
    assert first["author"]["username"] == "carol" and first["author"]["is_following"] is True


def test_signed_out_is_401(anon_client):
    assert_error(anon_client.get(FEED), 401, "not_authenticated")


def test_follow_back_fills_recent_notes_and_unfollow_removes_them(people, committed, client_for, settings):
    settings.FEED_BACKFILL = 2
    reader, bob, *_ = people
    with committed():
        notes = [publish(bob, at=ago(hours=h)) for h in (4, 3, 2)]
    api = client_for(reader)
    assert ids(api.get(FEED)) == []
    with committed():
        assert api.post(f"/api/v1/users/{bob.username}/follow").status_code == 200
    assert ids(api.get(FEED)) == [notes[2].pk, notes[1].pk]  # the newest FEED_BACKFILL
    with committed():
        assert api.delete(f"/api/v1/users/{bob.username}/follow").status_code == 200
    assert ids(api.get(FEED)) == []
    assert stored_timeline(reader.pk) == []


def test_a_block_removes_notes_both_ways(people, committed, client_for):
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        follow(bob, reader)
        theirs, mine = publish(bob), publish(reader)
    assert ids(client_for(reader).get(FEED)) == [theirs.pk]
    assert ids(client_for(bob).get(FEED)) == [mine.pk]
    with committed():
        account_services.block_create(blocker=reader, blocked=bob)
    assert ids(client_for(reader).get(FEED)) == [] and ids(client_for(bob).get(FEED)) == []
    assert stored_timeline(reader.pk) == [] and stored_timeline(bob.pk) == []


def test_deleted_and_hidden_notes_disappear_and_restored_ones_return(people, committed, client_for):
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        kept, deleted, hidden = publish(bob, at=ago(hours=3)), publish(bob, at=ago(hours=2)), publish(bob)
    api = client_for(reader)
    assert ids(api.get(FEED)) == [hidden.pk, deleted.pk, kept.pk]
    with committed():
        assert client_for(bob).delete(f"/api/v1/notes/{deleted.pk}").status_code == 204
        note_services.note_moderate(note=hidden, hide=True)
    assert ids(api.get(FEED)) == [kept.pk]
    assert stored_timeline(reader.pk) == [kept.pk]
    with committed():
        note_services.note_moderate(note=hidden, hide=False)
    assert ids(api.get(FEED)) == [hidden.pk, kept.pk]


def test_followers_only_notes_reach_followers_private_ones_nobody(people, committed, client_for):
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        for_followers = publish(bob, visibility=Visibility.FOLLOWERS, at=ago(hours=1))
        private = publish(bob, visibility=Visibility.PRIVATE)
    assert ids(client_for(reader).get(FEED)) == [for_followers.pk]
    assert private.pk not in stored_timeline(reader.pk)
    with committed():  # made private by an edit: it leaves the timelines
        note_services.note_update(note=for_followers, editor=bob, data={"visibility": Visibility.PRIVATE})
    assert ids(client_for(reader).get(FEED)) == []
    with committed():
        note_services.note_update(note=private, editor=bob, data={"visibility": Visibility.PUBLIC})
    assert ids(client_for(reader).get(FEED)) == [private.pk]


def test_a_stale_entry_never_leaks(people, committed, client_for):
    """Timelines may lag behind (tasks run after commit): the page still checks visibility."""
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        note = publish(bob)
    # Behind the feeds' back: no signal, so the timeline still lists the note.
    Note.objects.filter(pk=note.pk).update(visibility=Visibility.PRIVATE)
    assert stored_timeline(reader.pk) == [note.pk]
    assert ids(client_for(reader).get(FEED)) == []
    # Likewise an unfollow whose task has not run yet.
    Note.objects.filter(pk=note.pk).update(visibility=Visibility.PUBLIC)
    from accounts.models import Follow

    Follow.objects.filter(follower=reader, followee=bob).delete()
    assert ids(client_for(reader).get(FEED)) == []


def _world(committed, *, authors: int = 4, notes_each: int = 4, readers: int = 3):
    """Authors with notes and readers following all of them; author 0 has the most followers."""
    writers = [UserFactory(username=f"writer{n}") for n in range(authors)]
    fans = [UserFactory(username=f"fan{n}") for n in range(readers)]
    crowd = UserFactory.create_batch(5)
    with committed():
        for fan in fans:
            for writer in writers:
                follow(fan, writer)
        for person in crowd:
            follow(person, writers[0])
        minutes = itertools.count(1)
        notes = [publish(w, at=ago(minutes=next(minutes))) for w in writers for _ in range(notes_each)]
    return writers, fans, notes


def test_fan_out_and_pull_merge_give_the_same_feed(committed, client_for, settings):
    writers, fans, notes = _world(committed)
    fanned = {fan.pk: all_pages(client_for(fan), FEED) for fan in fans}
    assert sum(len(page) for page in fanned[fans[0].pk]) == len(notes)

    # writer0 (8 followers) becomes a pull author: rebuilt timelines leave their notes out...
    settings.FEED_PULL_THRESHOLD = 8
    assert User.objects.get(pk=writers[0].pk).follower_count == 8
    fanout.timelines_rebuild()
    celebrity_notes = {n.pk for n in notes if n.author_id == writers[0].pk}
    assert not celebrity_notes & set(stored_timeline(fans[0].pk))
    # ...and reads merge them back in: the very same pages.
    assert {fan.pk: all_pages(client_for(fan), FEED) for fan in fans} == fanned

    # A new note of a pull author is not written to any timeline, yet every follower sees it first.
    with committed():
        fresh = publish(writers[0])
    assert fresh.pk not in stored_timeline(fans[1].pk)
    for fan in fans:
        assert ids(client_for(fan).get(FEED))[0] == fresh.pk

    # An author between half the threshold and the threshold is both fanned out and pulled:
    # nothing shows twice.
    settings.FEED_PULL_THRESHOLD = 12
    with committed():
        fresher = publish(writers[0])
    assert fresher.pk in stored_timeline(fans[1].pk)
    pages = all_pages(client_for(fans[1]), FEED)
    flat = [pk for page in pages for pk in page]
    assert flat[:2] == [fresher.pk, fresh.pk] and len(flat) == len(set(flat)) == len(notes) + 2


def test_following_a_pull_author_shows_their_notes_at_the_next_read(committed, client_for, settings):
    """Who a reader pulls may be remembered (Redis): a follow or an unfollow must still show at once."""
    writers, _, notes = _world(committed, authors=2, notes_each=2, readers=1)
    settings.FEED_PULL_THRESHOLD = 6  # writer0 (6 followers) is a pull author, writer1 (1) is not
    fanout.timelines_rebuild()
    newcomer = UserFactory()
    with committed():
        follow(newcomer, writers[1])
    api = client_for(newcomer)
    theirs = [n.pk for n in notes if n.author_id == writers[1].pk]
    assert ids(api.get(FEED)) == theirs
    with committed():
        assert api.post(f"/api/v1/users/{writers[0].username}/follow").status_code == 200
    pulled = [n.pk for n in notes if n.author_id == writers[0].pk]
    assert not set(pulled) & set(stored_timeline(newcomer.pk))  # merged at read time, not stored
    assert ids(api.get(FEED)) == pulled + theirs  # writer0 wrote the newest
    with committed():
        assert api.delete(f"/api/v1/users/{writers[0].username}/follow").status_code == 200
    assert ids(api.get(FEED)) == theirs


def test_a_pull_cache_time_of_zero_still_serves_pages(people, committed, client_for, settings):
    settings.FEED_PULL_CACHE_SECONDS = 0  # remembered for the shortest time Redis allows
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        note = publish(bob)
    assert ids(client_for(reader).get(FEED)) == [note.pk]


def test_cursor_pages_never_repeat_or_skip_while_notes_arrive(committed, client_for, settings):
    settings.FEED_BACKFILL = 10
    writers, fans, notes = _world(committed, authors=3, notes_each=5, readers=1)
    newcomer = UserFactory()
    with committed():
        older = [publish(newcomer, at=ago(minutes=m)) for m in (7, 8, 9)]  # will land mid-timeline
    api, seen = client_for(fans[0]), []
    response = api.get(f"{FEED}?page_size=4")
    seen += ids(response)
    step = 0
    while response.json()["next"]:
        step += 1
        with committed():
            publish(writers[step % 3])  # newer than everything: above the cursor
            if step == 2:
                follow(fans[0], newcomer)  # back-fills notes below and above the cursor
        response = api.get(response.json()["next"])
        seen += ids(response)
    assert len(seen) == len(set(seen)), "a note was served twice"
    assert {n.pk for n in notes} <= set(seen), "a note that was there all along was skipped"
    times = dict(Note.objects.filter(pk__in=seen).values_list("pk", "published_at"))
    keys = [(times[pk], pk) for pk in seen]
    assert keys == sorted(keys, reverse=True)
    assert set(seen) & {n.pk for n in older}  # the back-filled ones below the cursor did show up


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_never_repeat_or_skip(settings, eager_celery, client_for):
    reader = UserFactory()
    writers = UserFactory.create_batch(3)
    for writer in writers:
        follow(reader, writer)  # committed at once (no atomic block around it): signals run
    before = [publish(writers[n % 3], at=ago(minutes=n + 1)) for n in range(24)]
    api = client_for(reader)

    def read_all():
        served, url = [], f"{FEED}?page_size=5"
        while url:
            response = api.get(url)
            served += ids(response)
            url = response.json()["next"]
        return served

    def write_more():
        return [publish(writers[n % 3]).pk for n in range(12)]

    served, written = run_together([read_all, write_more])
    assert len(served) == len(set(served))
    assert {n.pk for n in before} <= set(served)
    assert set(served) <= {n.pk for n in before} | set(written)


def test_cursors_are_opaque_and_checked(people, client_for):
    reader, *_ = people
    api = client_for(reader)
    assert decode_cursor(encode_cursor((123456, 7))) == (123456, 7)
    for bad in ("nonsense!", encode_cursor((1, 2))[:-3] + "###", "LTEuMg"):  # the last is "-1.2"
        assert_error(api.get(f"{FEED}?cursor={bad}"), 400, "invalid_cursor")
    assert_error(api.get(f"{FEED}?page_size=0"), 400, "invalid")
    assert_error(api.get(f"{FEED}?page_size=101"), 400, "invalid")


def test_entries_keep_their_exact_time_and_order():
    moment = ago(days=3).replace(microsecond=123456)
    assert from_us(to_us(moment)) == moment
    a = Entry.of(note_id=9, author_id=1, published_at=moment)
    b = Entry.of(note_id=10, author_id=1, published_at=moment)
    assert Entry.from_member(a.member()) == a
    assert sorted([a.member(), b.member()]) == [a.member(), b.member()]  # same time: by note id


def test_timelines_are_capped(people, committed, client_for, settings):
    settings.FEED_TIMELINE_MAX = 5
    reader, bob, *_ = people
    with committed():
        follow(reader, bob)
        notes = [publish(bob, at=ago(minutes=10 - n)) for n in range(8)]
    timeline_backend().trim()  # Redis trims on write; the database hourly
    assert stored_timeline(reader.pk) == [n.pk for n in reversed(notes)][:5]


def test_rebuild_command_restores_every_timeline(committed, client_for):
    writers, fans, notes = _world(committed, authors=2, notes_each=3, readers=2)
    expected = {fan.pk: ids(client_for(fan).get(FEED)) for fan in fans}
    timeline_backend().replace({fan.pk: [] for fan in fans})
    assert ids(client_for(fans[0]).get(FEED)) == []
    out = StringIO()
    call_command("rebuild_feeds", "--timelines", stdout=out)
    assert "timelines" in out.getvalue()
    assert {fan.pk: ids(client_for(fan).get(FEED)) for fan in fans} == expected
    timeline_backend().replace({fans[1].pk: []})
    call_command("rebuild_feeds", "--user", fans[1].username, stdout=StringIO())
    assert ids(client_for(fans[1]).get(FEED)) == expected[fans[1].pk]


def test_feed_cards_render_exactly_like_note_cards(people, committed, rf):
    reader, bob, *_ = people
    bob.avatar = "avatars/bob.webp"
    bob.save(update_fields=["avatar"])
    with committed():
        follow(reader, bob)
        note = publish(bob, category="food")
    card = notes_for_cards(reader).get(pk=note.pk)
    context = {"request": rf.get("/")}
    assert FeedCardOut(card, context=context).data == NoteCardOut(card, context=context).data


def test_query_budget_is_the_same_at_every_page_size(
    committed, client_for, settings, redis_trips, feed_backend
):
    """<= 4 SQL (the user, the timeline, the pull authors' notes, the cards) and <= 2 Redis round
    trips, whatever the page size, with a pull author followed too. With Redis the timeline, the
    outboxes and who the reader pulls (remembered from the first page) come from Redis: 2 SQL."""
    writers, fans, notes = _world(committed, authors=4, notes_each=7, readers=1)
    settings.FEED_PULL_THRESHOLD = 2  # writer0 is a pull author now
    fanout.timelines_rebuild()
    api = client_for(fans[0])
    api.get(FEED)  # warm connections
    counts = []
    for size in (1, 20):
        with budget(redis_trips) as spent:
            response = api.get(f"{FEED}?page_size={size}")
        assert len(ids(response)) == size
        assert spent["sql"] <= (2 if feed_backend == "redis" else 4), spent["queries"]
        # With Redis: the timeline and who the reader pulls, then the pull author's outbox.
        assert spent["redis"] == spent["feeds_redis"] == (2 if feed_backend == "redis" else 0)
        counts.append((spent["sql"], spent["redis"]))
    assert counts[0] == counts[1]


def test_fan_out_writes_each_follower_once_even_when_run_twice(people, committed, feed_backend):
    reader, bob, carol, _ = people
    with committed():
        follow(reader, bob)
        follow(carol, bob)
        note = publish(bob)
    fanout.note_feeds_sync(note_id=note.pk)  # a retried task
    assert stored_timeline(reader.pk) == stored_timeline(carol.pk) == [note.pk]
    if feed_backend == "db":
        assert TimelineEntry.objects.filter(note=note).count() == 2
