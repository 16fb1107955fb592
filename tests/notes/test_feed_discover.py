"""The discovery feed: the score, incremental scoring and the decay pass, personalisation, the
seen filter, diversity, "not interested", channels, visibility, query budgets and the ads hook.
Endpoint tests run on both backends (database and Redis)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from notes.choices import NoteStatus, Visibility
from notes.feeds import ranking, redisconn, scoring, selectors
from notes.feeds.rankstore import Pool, RankRow, rank_store, reader_tag
from notes.feeds.services import note_set_reach
from notes.models import FeedWatermark, Note, NoteLike, NoteScore, NoteTopic, ReaderProfile, Topic
from notes.services import comments, interactions
from notes.services import notes as note_services
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.helpers import assert_error
from tests.notes.feeds_support import RedisCommands, all_pages, budget, follow, ids, publish

pytestmark = pytest.mark.django_db

FEED = "/api/v1/feed/discover"
NOW = timezone.now().replace(microsecond=0)
HALF_LIFE = 36.0


def features(**kwargs) -> ranking.Features:
    values = {"note_id": 1, "author_id": 1, "published_at": NOW - timedelta(days=2)}
    return ranking.Features(**{**values, **kwargs})


# --- the score, no database -------------------------------------------------------------------------


def test_the_score_is_a_pure_function_of_features_and_now(settings):
    settings.FEED_RANK_HALF_LIFE_HOURS, settings.FEED_NEW_NOTE_HOURS = HALF_LIFE, 12
    base = features(likes=10, collects=2, comments=1)
    assert ranking.score(base, NOW) == ranking.score(base, NOW)
    rank = ranking.score(base, NOW).rank
    # Engagement weighs in, collects more than likes, shares and follows more still.
    assert ranking.score(features(likes=11, collects=2, comments=1), NOW).rank > rank
    assert (
        ranking.score(features(likes=10, collects=3, comments=1), NOW).rank
        > ranking.score(features(likes=11, collects=2, comments=1), NOW).rank
    )
    assert ranking.score(features(likes=10, collects=2, comments=1, not_interested=2), NOW).rank < rank
    # Decay: the same note published one half-life later is worth exactly twice as much.
    later = features(
        likes=10, collects=2, comments=1, published_at=base.published_at + timedelta(hours=HALF_LIFE)
    )
    assert ranking.score(later, NOW).rank - rank == pytest.approx(math.log(2))
    # ...and once past the new-note window a rank no longer depends on when it is computed, so the
    # order of scored notes never needs rewriting as time passes.
    assert ranking.score(base, NOW + timedelta(days=30)).rank == pytest.approx(rank)
    # A brand new note gets x3, fading to nothing over FEED_NEW_NOTE_HOURS.
    fresh = features(published_at=NOW)
    at_publish, halfway, after = (ranking.score(fresh, NOW + timedelta(hours=h)).rank for h in (0, 6, 13))
    assert at_publish - after == pytest.approx(math.log(3))
    assert halfway - after == pytest.approx(math.log(2))
    assert ranking.score(fresh, NOW).signals[0] == "new"
    # Moderation halves it; author quality and impressions move it within bounds.
    assert ranking.score(features(likes=10, collects=2, comments=1, reach=0.5), NOW).rank == pytest.approx(
        rank - math.log(2)
    )
    certified = ranking.score(features(likes=10, collects=2, comments=1, author_certified=True), NOW)
    assert certified.rank == pytest.approx(rank + math.log(ranking.KOL_FACTOR))
    assert "trusted_author" in certified.signals
    few_seen = ranking.score(features(likes=10, impressions=ranking.MIN_IMPRESSIONS - 1), NOW).rank
    assert few_seen == ranking.score(features(likes=10), NOW).rank  # too few impressions to judge
    ignored = ranking.score(features(likes=1, impressions=1000), NOW).rank
    loved = ranking.score(features(likes=1, collects=40, impressions=100), NOW)
    assert ignored < ranking.score(features(likes=1), NOW).rank
    assert loved.signals[:2] == ["collects", "likes"] and "engaging" in loved.signals


def test_diversity_keeps_few_notes_per_author_and_passes_the_rest_over():
    ranked = [ranking.Candidate(note_id=n, author_id=1 if n < 6 else n, rank=10 - n) for n in range(10)]
    kept, passed = ranking.diversify(ranked, limit=5, per_author=2)
    assert [c.note_id for c in kept] == [0, 1, 6, 7, 8]
    assert [c.note_id for c in passed] == [2, 3, 4, 5]


# --- building scored worlds --------------------------------------------------------------------------


def scored(specs, *, now=NOW):
    """Notes from (author, category, likes, collects, hours before ``now``), scored at ``now``."""
    notes = [
        NoteFactory(
            author=author,
            category=category,
            like_count=likes,
            collect_count=collects,
            published_at=now - timedelta(hours=hours),
        )
        for author, category, likes, collects, hours in specs
    ]
    scoring.notes_score([n.pk for n in notes], now=now)
    return notes


def expected_order(notes, *, per_author=2, limit=100):
    ranks = dict(NoteScore.objects.filter(note__in=notes).values_list("note_id", "rank"))
    candidates = [ranking.Candidate(note_id=n.pk, author_id=n.author_id, rank=ranks[n.pk]) for n in notes]
    kept, _ = ranking.diversify(
        ranking.order(candidates, ranking.Reader()), limit=limit, per_author=per_author
    )
    return [c.note_id for c in kept]


@pytest.fixture
def authors(db):
    return UserFactory.create_batch(6)


@pytest.mark.usefixtures("feed_backend")
def test_ranking_is_deterministic_for_a_fixed_now(authors, anon_client, settings):
    settings.FEED_AUTHOR_DIVERSITY = 100
    specs = [(authors[n % 6], "food", (n * 7) % 11, n % 3, 20 + (n * 5) % 40) for n in range(15)]
    notes = scored(specs)
    first = ids(anon_client.get(f"{FEED}?page_size=50"))
    assert first == expected_order(notes, per_author=100)
    assert ids(anon_client.get(f"{FEED}?page_size=50")) == first
    scoring.notes_score([n.pk for n in notes], now=NOW)  # rescoring at the same now changes nothing
    assert ids(anon_client.get(f"{FEED}?page_size=50")) == first
    item = anon_client.get(FEED).json()["results"][0]
    assert item["sponsored"] is False and isinstance(item["why"], list) and len(item["why"]) <= 3


@pytest.mark.usefixtures("feed_backend")
def test_a_new_note_is_ranked_the_moment_it_is_published(authors, anon_client, committed):
    scored([(authors[0], "food", 3, 1, 30), (authors[1], "food", 1, 0, 50)])
    with committed():
        fresh = publish(authors[2], category="travel")
    results = anon_client.get(FEED).json()["results"]
    assert [item["id"] for item in results][1] == fresh.pk  # ahead of older notes with some likes
    assert results[1]["why"][0] == "new"


@pytest.mark.usefixtures("feed_backend")
def test_diversity_holds_on_every_page_and_anonymous_pages_never_repeat_or_skip(
    authors, anon_client, settings
):
    settings.FEED_AUTHOR_DIVERSITY = 2
    prolific = authors[0]
    notes = scored(
        [(prolific, "food", 50 - n, 5, 10) for n in range(7)]
        + [(authors[1 + n % 5], "home", 3, 0, 10 + n) for n in range(8)]
    )
    pages = all_pages(anon_client, FEED, page_size=4)
    by_author = {n.pk: n.author_id for n in notes}
    for page in pages:
        authors_on_page = [by_author[pk] for pk in page]
        assert max(authors_on_page.count(a) for a in set(authors_on_page)) <= 2, page
    served = [pk for page in pages for pk in page]
    assert sorted(served) == sorted(n.pk for n in notes)  # each exactly once
    assert pages[0][:2] == [notes[0].pk, notes[1].pk]  # the best two of the prolific author lead


@pytest.mark.usefixtures("feed_backend")
def test_seen_notes_are_skipped_then_come_back(authors, client_for, settings):
    settings.FEED_SEEN_DAYS = 3
    reader = UserFactory()
    notes = scored([(authors[n % 6], "food", n, 0, 5) for n in range(7)])
    api = client_for(reader)
    pages = all_pages(api, FEED, page_size=3)
    served = [pk for page in pages for pk in page]
    assert sorted(served) == sorted(n.pk for n in notes) and len(pages[0]) == 3
    assert ids(api.get(FEED)) == []  # everything seen: a refresh brings nothing old
    later = selectors.discover_page(viewer=reader, now=timezone.now() + timedelta(days=4))
    assert len(later.items) == len(notes)  # seen long enough ago: back in the running


@pytest.mark.usefixtures("feed_backend")
def test_own_notes_are_not_discovered(authors, client_for):
    notes = scored([(authors[0], "food", 5, 1, 5), (authors[1], "food", 1, 0, 5)])
    assert ids(client_for(authors[0]).get(FEED)) == [notes[1].pk]


@pytest.mark.usefixtures("feed_backend")
def test_declared_and_learned_interests_boost_categories_and_topics(authors, client_for, settings):
    settings.FEED_AUTHOR_DIVERSITY = 100
    food = scored([(authors[n], "food", 2, 0, 10) for n in range(3)])
    travel = scored([(authors[n], "travel", 3, 0, 10) for n in range(3, 6)])
    # Nobody's taste: travel first (more likes).
    stranger = UserFactory()
    assert ids(client_for(stranger).get(FEED))[:3] == sorted((n.pk for n in travel), reverse=True)
    # Declared interest in food puts food first, and says so.
    foodie = UserFactory(interests=["food"])
    body = client_for(foodie).get(FEED).json()
    assert [item["id"] for item in body["results"][:3]] == sorted((n.pk for n in food), reverse=True)
    assert body["results"][0]["why"][0] == "interest:food"
    # Learned: a reader who liked food notes gets food first too, once the job has run.
    learner = UserFactory()
    topic = Topic.objects.create(name="拉面")
    liked = scored([(authors[0], "food", 0, 0, 30)])[0]
    NoteTopic.objects.create(note=liked, topic=topic)
    NoteTopic.objects.create(note=food[0], topic=topic)
    scoring.notes_score([food[0].pk], now=NOW)  # topics are scored with the note (at publish or edit)
    interactions.note_like(note=liked, user=learner)
    scoring.scores_update_changed(now=timezone.now() + timedelta(minutes=5))
    profile = ReaderProfile.objects.get(user=learner)
    assert profile.categories == {"food": 1.0} and profile.topics == {str(topic.pk): [1.0, "拉面"]}
    body = client_for(learner).get(FEED).json()
    assert body["results"][0]["id"] == food[0].pk  # category and topic
    assert body["results"][0]["why"][:2] == ["interest:food", "topic:拉面"]


@pytest.mark.usefixtures("feed_backend")
def test_not_interested_hides_the_note_and_sinks_its_author(authors, client_for, settings):
    settings.FEED_AUTHOR_DIVERSITY = 100
    settings.FEED_SEEN_DAYS = 0  # so that only "not interested" keeps notes away
    annoying, other = authors[0], authors[1]
    notes = scored([(annoying, "food", 9, 0, 5), (annoying, "food", 8, 0, 5), (other, "food", 1, 0, 5)])
    reader = UserFactory()
    api = client_for(reader)
    assert ids(api.get(FEED)) == [notes[0].pk, notes[1].pk, notes[2].pk]
    url = f"/api/v1/notes/{notes[0].pk}/not-interested"
    assert api.post(url).json() == {"not_interested": True, "changed": True}
    assert api.post(url).json() == {"not_interested": True, "changed": False}
    assert ids(api.get(FEED)) == [notes[2].pk, notes[1].pk]  # gone, and its author sinks
    assert ids(client_for(UserFactory()).get(FEED))[0] == notes[0].pk  # for this reader only...
    scoring.scores_update_changed(now=timezone.now() + timedelta(minutes=5))
    assert NoteScore.objects.get(note=notes[0]).not_interested == 1  # ...though it costs the note
    assert api.delete(url).json() == {"not_interested": False, "changed": True}
    assert notes[0].pk in ids(api.get(FEED))
    assert_error(client_for(annoying).post(url), 400, "own_note")
    private = NoteFactory(author=other, visibility=Visibility.PRIVATE)
    assert_error(api.post(f"/api/v1/notes/{private.pk}/not-interested"), 404, "not_found")


def test_not_interested_needs_a_login(anon_client, authors):
    note = NoteFactory(author=authors[0])
    assert_error(anon_client.post(f"/api/v1/notes/{note.pk}/not-interested"), 401, "not_authenticated")


@pytest.mark.usefixtures("feed_backend")
def test_category_channels(authors, anon_client):
    food = scored([(authors[0], "food", 2, 0, 5), (authors[1], "food", 1, 0, 5)])
    scored([(authors[2], "travel", 9, 0, 5)])
    assert ids(anon_client.get(f"{FEED}?category=food")) == [food[0].pk, food[1].pk]
    assert ids(anon_client.get(f"{FEED}?category=tech")) == []
    assert_error(anon_client.get(f"{FEED}?category=nope"), 400, "invalid")
    assert_error(anon_client.get(f"{FEED}?cursor=e30x"), 400, "invalid_cursor")


@pytest.mark.usefixtures("feed_backend")
def test_nothing_leaks_even_when_scores_are_stale(authors, client_for, committed):
    reader, blocked = UserFactory(), authors[5]
    closed = UserFactory(is_private=True)
    visible = scored([(authors[0], "food", 1, 0, 5)])[0]
    followers_only = NoteFactory(author=authors[1], visibility=Visibility.FOLLOWERS)
    hidden = NoteFactory(author=authors[2])
    deleted = NoteFactory(author=authors[3])
    draft = NoteFactory(author=authors[4], status=NoteStatus.DRAFT, published_at=None)
    from_closed = NoteFactory(author=closed)
    from_blocked = NoteFactory(author=blocked)
    others = [followers_only, hidden, deleted, draft, from_closed, from_blocked]
    scoring.notes_score([n.pk for n in others], now=NOW)
    assert NoteScore.objects.filter(rankable=True).count() == 4  # visible, hidden, deleted, blocked
    with committed():
        account_services.block_create(blocker=reader, blocked=blocked)
    # Hidden and deleted behind the feeds' back, and every score forced rankable as if stale.
    type(hidden).objects.filter(pk=hidden.pk).update(status=NoteStatus.HIDDEN)
    type(deleted).objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    NoteScore.objects.update(rankable=True)
    rank_store().publish([(None, RankRow.of(score)) for score in NoteScore.objects.all()])
    assert ids(client_for(reader).get(FEED)) == [visible.pk]
    assert visible.pk in ids(client_for(UserFactory()).get(FEED))


@pytest.mark.usefixtures("feed_backend")
def test_moderators_limit_reach(authors, anon_client):
    notes = scored([(authors[0], "food", 5, 0, 5), (authors[1], "food", 3, 0, 5)])
    before = NoteScore.objects.get(note=notes[0]).rank
    note_set_reach(note=notes[0], reach=0.5)
    score = NoteScore.objects.get(note=notes[0])
    assert score.reach == 0.5 and score.rank < before
    note_set_reach(note=notes[0], reach=0)
    assert ids(anon_client.get(FEED)) == [notes[1].pk]
    scoring.notes_score([notes[0].pk])  # a rescoring keeps the moderators' setting
    assert NoteScore.objects.get(note=notes[0]).reach == 0


@pytest.mark.usefixtures("feed_backend")
def test_scoring_job_rescores_only_notes_whose_engagement_changed(authors, committed):
    liked, untouched = scored([(authors[0], "food", 0, 0, 5), (authors[1], "food", 0, 0, 5)])
    scoring.scores_update_changed(now=NOW)  # start from a settled watermark
    reader = UserFactory()
    interactions.note_like(note=liked, user=reader)
    like_time = NoteLike.objects.get(user=reader).created_at
    before = {s.note_id: s.scored_at for s in NoteScore.objects.all()}

    scoring.scores_update_changed(now=like_time + timedelta(seconds=5))  # within the lag
    after = {s.note_id: s.scored_at for s in NoteScore.objects.all()}
    assert after[untouched.pk] == before[untouched.pk]
    assert NoteScore.objects.get(note=liked).likes == 1
    assert FeedWatermark.objects.get(name="like").last_id < NoteLike.objects.get(user=reader).pk  # read again

    scoring.scores_update_changed(now=like_time + timedelta(minutes=1))
    assert FeedWatermark.objects.get(name="like").last_id == NoteLike.objects.get(user=reader).pk
    # A follow of the author by someone who liked the note counts as a follow gained from it.
    with committed():
        follow(reader, authors[0])
    scoring.scores_update_changed(now=timezone.now() + timedelta(minutes=1))
    assert NoteScore.objects.get(note=liked).follows == 1
    assert "follows" in NoteScore.objects.get(note=liked).signals


@pytest.mark.parametrize("feed_backend", ["redis"], indirect=True)
def test_scoring_job_sends_redis_a_constant_number_of_commands(feed_backend, authors, monkeypatch):
    """BENCH.md B9: an engagement event costs Redis a constant number of commands. A run of the
    scoring job sends one ``HMGET`` of the changed notes' impressions, one ``INCRBY`` of the ranks'
    version (what redis-py's ``incr`` sends) and one ``ZADD`` per channel the changed notes are in
    (everything, and each of their categories), per 1,000 notes: nothing per event, per reader
    (profiles are database rows) or per note. Counted as sent, so a pipeline of n commands counts
    n; what the ZADD commands carried is checked in the store."""
    categories = ["food", "food", "food", "food", "travel", "travel", "travel"]
    notes = scored([(authors[n % 6], category, 0, 0, 5) for n, category in enumerate(categories)])
    once, busy, several = notes[0], notes[1], notes[2:]
    commands = RedisCommands(monkeypatch)
    per_run = Counter({"HMGET": 1, "INCRBY": 1})

    def run() -> tuple[dict, Counter]:
        with commands.counted() as sent:
            result = scoring.scores_update_changed(now=timezone.now() + timedelta(minutes=1))
        return result, sent

    assert run() == ({"notes": 0, "readers": 0}, Counter())
    interactions.note_like(note=once, user=UserFactory())
    assert run() == ({"notes": 1, "readers": 1}, per_run + Counter({"ZADD": 2}))  # rank:all, rank:c:food
    fans = UserFactory.create_batch(12)
    for fan in fans[:3]:
        interactions.note_like(note=busy, user=fan)
    for fan in fans[3:6]:
        interactions.note_collect(note=busy, user=fan)
    for fan in fans[6:9]:
        comments.comment_create(note=busy, author=fan, body="Lovely")
    for fan in fans[9:]:
        interactions.note_share(note=busy, user=fan)
    # Twelve events from twelve people (six of them readers whose profiles are relearned): what
    # one like cost.
    assert run() == ({"notes": 1, "readers": 6}, per_run + Counter({"ZADD": 2}))
    score = NoteScore.objects.get(note=busy)
    assert (score.likes, score.collects, score.comments, score.shares) == (3, 3, 3, 3)
    # Five notes in two categories: a ZADD into everything, food and travel.
    for note in several:
        interactions.note_like(note=note, user=UserFactory())
    assert run() == ({"notes": 5, "readers": 5}, per_run + Counter({"ZADD": 3}))
    ranked = {
        int(member.split(":")[0]): rank
        for member, rank in redisconn.client().zrange(redisconn.key("rank", "all"), 0, -1, withscores=True)
    }
    stored = dict(NoteScore.objects.values_list("note_id", "rank"))
    assert {n.pk: ranked[n.pk] for n in notes} == pytest.approx({n.pk: stored[n.pk] for n in notes})
    assert all(NoteScore.objects.get(note=n).likes == 1 for n in several)


@pytest.mark.usefixtures("feed_backend")
def test_decay_pass_moves_only_what_changed(authors, settings):
    settings.FEED_NEW_NOTE_HOURS = 12
    young, old = scored([(authors[0], "food", 1, 0, 1), (authors[1], "food", 1, 0, 30)])
    assert scoring.scores_decay_pass(now=NOW) == 0  # nothing changed since scoring
    later = NOW + timedelta(hours=6)
    assert scoring.scores_decay_pass(now=later) == 1  # only the young note's boost faded
    # What the pass wrote is what scoring the note afresh at that time writes.
    written = ("rank", "signals", "author_quality", "likes", "rankable", "scored_at")
    decayed = NoteScore.objects.filter(note=young).values(*written).get()
    scoring.notes_score([young.pk], now=later)
    assert NoteScore.objects.filter(note=young).values(*written).get() == decayed
    assert decayed["scored_at"] == later and "new" in decayed["signals"]
    assert (
        NoteScore.objects.get(note=young).rank
        < ranking.score(
            ranking.Features(
                note_id=young.pk, author_id=young.author_id, published_at=young.published_at, likes=1
            ),
            NOW,
        ).rank
    )
    # An unlike leaves no row behind: the pass picks up the counter.
    type(old).objects.filter(pk=old.pk).update(like_count=0)
    assert scoring.scores_decay_pass(now=later) == 1
    assert NoteScore.objects.get(note=old).likes == 0
    assert scoring.scores_decay_pass(now=later) == 0


@pytest.mark.usefixtures("feed_backend")
def test_decay_pass_in_batches_writes_and_publishes_what_scoring_afresh_does(
    authors, anon_client, settings, monkeypatch
):
    """Batches are scored in a second thread while the previous one is written: every batch still
    lands, with the ranks scoring each note afresh gives, and the ranking serves them in that order."""
    settings.FEED_AUTHOR_DIVERSITY = 100
    notes = scored([(author, "food", i, i % 2, 1 + i) for i, author in enumerate(authors * 2)])
    Note.objects.filter(pk__in=[n.pk for n in notes]).update(like_count=F("like_count") + 3)
    monkeypatch.setattr(scoring, "DECAY_BATCH", 5)
    later = NOW + timedelta(hours=1)
    assert scoring.scores_decay_pass(now=later) == len(notes)  # 12 notes: batches of 5, 5 and 2
    written = ("rank", "signals", "likes", "scored_at")
    decayed = {row["note_id"]: row for row in NoteScore.objects.values("note_id", *written)}
    assert [decayed[n.pk]["likes"] for n in notes] == [n.like_count + 3 for n in notes]
    assert ids(anon_client.get(f"{FEED}?page_size=50")) == expected_order(notes, per_author=100)
    scoring.notes_score([n.pk for n in notes], now=later)
    assert {row["note_id"]: row for row in NoteScore.objects.values("note_id", *written)} == decayed


@pytest.mark.usefixtures("feed_backend")
def test_query_budget_is_the_same_at_every_page_size(authors, client_for, anon_client, redis_trips):
    """Signed in: the user, the profile, candidates (with cards on the database), seen (the
    database) or cards (Redis) <= 4 SQL and <= 2 Redis round trips. Anonymous: less (plus, when the
    cache is Redis, DRF's anonymous throttle: a cache get and set)."""
    crowd = UserFactory.create_batch(25)
    scored([(crowd[n % 25], "food", n, n % 3, 5 + n) for n in range(50)])
    for client in (client_for(UserFactory(interests=["food"])), anon_client):
        client.get(f"{FEED}?page_size=1")  # warm connections
        counts = []
        for size in (1, 20):
            with budget(redis_trips) as spent:
                response = client.get(f"{FEED}?page_size={size}")
            assert len(ids(response)) == size
            assert spent["sql"] <= 4, spent["queries"]
            assert spent["feeds_redis"] <= 2
            if client.user is not None:
                assert spent["redis"] == spent["feeds_redis"]
            counts.append((spent["sql"], spent["redis"]))
        assert counts[0] == counts[1]


def fake_ads(*, viewer, category, slots, page, now):
    return [{"id": -1, "title": "Glow Lab serum"}, {"id": -2, "title": "Glow Lab mask"}]


@pytest.mark.usefixtures("feed_backend")
def test_feed_ads_slot_in_where_settings_say(authors, anon_client, settings):
    notes = scored([(authors[n], "beauty", 6 - n, 0, 5) for n in range(6)])
    assert all(item["sponsored"] is False for item in anon_client.get(FEED).json()["results"])
    settings.FEED_ADS_PROVIDER = "tests.notes.test_feed_discover.fake_ads"
    settings.FEED_AD_SLOTS = [1, 3]
    results = anon_client.get(FEED).json()["results"]
    assert [item["id"] for item in results] == [notes[0].pk, -1, notes[1].pk, -2, *(n.pk for n in notes[2:])]
    assert [item["sponsored"] for item in results[:4]] == [False, True, False, True]


def test_private_account_going_public_rejoins_discovery(authors, committed, feed_backend):
    closed = UserFactory(is_private=True)
    note = NoteFactory(author=closed)
    scoring.notes_score([note.pk], now=NOW)
    assert NoteScore.objects.get(note=note).rankable is False
    with committed():
        account_services.user_update_profile(user=closed, data={"is_private": False})
    assert NoteScore.objects.get(note=note).rankable is True
    assert User.objects.get(pk=closed.pk).is_private is False


@pytest.mark.usefixtures("feed_backend")
def test_rebuild_restores_scores_and_profiles(authors, anon_client, client_for):
    notes = scored([(authors[n], "food", 5 - n, 0, 5) for n in range(4)])
    reader = UserFactory()
    interactions.note_like(note=notes[3], user=reader)
    scoring.scores_update_changed(now=timezone.now() + timedelta(minutes=1))
    expected = ids(anon_client.get(FEED))
    rank_store().clear()
    NoteScore.objects.all().delete()
    assert ids(anon_client.get(FEED)) == []
    scoring.scores_rebuild(now=NOW)
    assert ids(anon_client.get(FEED)) == expected
    assert ReaderProfile.objects.filter(user=reader).exists()
    assert FeedWatermark.objects.get(name="like").last_id == NoteLike.objects.latest("pk").pk


def test_edits_move_a_note_between_channels(authors, committed, anon_client, feed_backend):
    with committed():
        note = publish(authors[0], category="food")
    assert ids(anon_client.get(f"{FEED}?category=food")) == [note.pk]
    with committed():
        note_services.note_update(note=note, editor=authors[0], data={"category": "travel"})
    assert ids(anon_client.get(f"{FEED}?category=food")) == []
    assert ids(anon_client.get(f"{FEED}?category=travel")) == [note.pk]


def test_moderators_limit_reach_from_the_admin(admin_client, authors, feed_backend):
    note = scored([(authors[0], "food", 5, 0, 5)])[0]
    changelist = "/admin/notes/note/"
    response = admin_client.post(changelist, {"action": "limit_reach", "_selected_action": [note.pk]})
    assert response.status_code == 302
    assert NoteScore.objects.get(note=note).reach == 0.2
    admin_client.post(changelist, {"action": "restore_reach", "_selected_action": [note.pk]})
    assert NoteScore.objects.get(note=note).reach == 1.0


def test_the_schema_describes_the_feeds(tmp_path):
    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    paths, components = schema["paths"], schema["components"]["schemas"]
    assert {"cursor", "page_size", "category"} == {
        p["name"] for p in paths["/api/v1/feed/discover"]["get"]["parameters"]
    }
    assert {"lat", "lng", "radius_km"} <= {
        p["name"] for p in paths["/api/v1/feed/nearby"]["get"]["parameters"]
    }
    assert set(paths["/api/v1/notes/{note_id}/not-interested"]) == {"post", "delete"}
    card = set(components["NoteCardOut"]["properties"])
    assert set(components["FeedCardOut"]["properties"]) == card
    assert set(components["DiscoverItemOut"]["properties"]) == card | {"why", "sponsored"}
    assert set(components["NearbyItemOut"]["properties"]) == card | {"distance_km"}
    assert set(components["FollowingPageOut"]["properties"]) == {"results", "next"}


def test_hourly_trim_forgets_old_seen_rows(authors, settings):
    from notes.feeds import maintenance
    from notes.models import SeenNote

    settings.FEED_BACKEND = "db"
    note = NoteFactory(author=authors[0])
    reader, other = UserFactory(), UserFactory()
    SeenNote.objects.create(user=reader, note=note, seen_at=timezone.now() - timedelta(days=40))
    SeenNote.objects.create(user=other, note=note, seen_at=timezone.now() - timedelta(days=2))
    assert maintenance.feeds_trim() == {"timeline_entries": 0, "seen": 1}
    assert list(SeenNote.objects.values_list("user_id", flat=True)) == [other.pk]


def raise_quietly(note) -> int:
    """Put ``note`` at the top of the Redis ranks behind the store's back (no published score): a
    fresh walk serves it first, a reader's pool does not know of it."""
    member = RankRow.of(NoteScore.objects.get(note=note)).member()
    redisconn.client().zadd(rank_store()._all(), {member: 1e9})
    return note.pk


@pytest.mark.parametrize("feed_backend", ["redis"], indirect=True)
def test_next_pages_come_from_the_readers_pool_until_a_score_their_interests_or_time_move(
    feed_backend, authors, client_for, settings
):
    """Redis keeps what a page ranked and did not serve (``rankstore.Pool``): the next pages are
    cut from it, never repeating, while no score, none of the reader's interests and no more than
    ``FEED_DISCOVER_POOL_SECONDS`` changed. A note raised in the ranks behind the store's back (no
    published score) shows whether a page came from the pool (it is not there) or a fresh walk."""
    settings.FEED_AUTHOR_DIVERSITY, settings.FEED_DISCOVER_POOL_SECONDS = 100, 60
    notes = scored([(authors[n % 6], "food", n, 0, 5) for n in range(80)])  # notes[0] ranks last
    reader = UserFactory()
    api = client_for(reader)

    def page() -> list[int]:
        return ids(api.get(f"{FEED}?page_size=5"))

    first = page()
    sneaky = raise_quietly(notes[0])
    second = page()
    assert sneaky not in second
    assert first + second == sorted((n.pk for n in notes), reverse=True)[:10]  # in rank order, once

    later = selectors.discover_page(viewer=reader, now=timezone.now() + timedelta(seconds=61))
    assert later.items[0].note["id"] == sneaky  # the pool outlived its lifetime: a fresh walk

    page()  # a fresh walk (the pool above was made later than now), and a new pool
    sneaky = raise_quietly(notes[1])
    served = page()
    assert sneaky not in served  # from the pool
    turned_down = served[0]
    assert api.post(f"/api/v1/notes/{turned_down}/not-interested").status_code == 200
    assert page()[0] == sneaky  # the reader's interests moved: a fresh walk

    sneaky = raise_quietly(notes[2])
    assert sneaky not in page()  # from the new pool
    scoring.notes_score([notes[3].pk], now=NOW + timedelta(hours=1))  # any published score
    assert page()[0] == sneaky  # the ranks moved: a fresh walk


@pytest.mark.parametrize("feed_backend", ["redis"], indirect=True)
def test_a_pool_whose_notes_cannot_be_shown_any_more_gives_way_to_a_fresh_walk(
    feed_backend, authors, client_for, settings
):
    """Notes gone from view without a published score (here: made private behind the feed's back)
    are dropped from the pool as pages find them, so the reader reaches a fresh walk, not empty
    pages until the pool expires."""
    settings.FEED_AUTHOR_DIVERSITY = 100
    notes = scored([(authors[n % 6], "food", n, 0, 5) for n in range(30)])
    api = client_for(UserFactory())

    def page() -> list[int]:
        return ids(api.get(f"{FEED}?page_size=5"))

    page()  # 25 left in the pool; then all but the last-ranked note go private
    sneaky = notes[0]
    Note.objects.exclude(pk=sneaky.pk).update(visibility=Visibility.PRIVATE)
    raise_quietly(sneaky)
    assert [page() for _ in range(3)] == [[], [], [sneaky.pk]]


@pytest.mark.parametrize("feed_backend", ["redis"], indirect=True)
def test_pools_are_off_at_zero_seconds(feed_backend, authors, client_for, settings):
    settings.FEED_AUTHOR_DIVERSITY, settings.FEED_DISCOVER_POOL_SECONDS = 100, 0
    notes = scored([(authors[n % 6], "food", n, 0, 5) for n in range(30)])
    api = client_for(UserFactory())
    assert len(ids(api.get(f"{FEED}?page_size=5"))) == 5
    raise_quietly(notes[0])
    assert ids(api.get(f"{FEED}?page_size=5"))[0] == notes[0].pk  # walked afresh: no pool kept


@pytest.mark.parametrize("feed_backend", ["redis"], indirect=True)
def test_redis_store_records_what_was_served_in_bounds(feed_backend, settings):
    """``mark_seen`` in Redis: the served notes join the reader's seen set (only the newest
    ``FEED_SEEN_MAX``, none older than ``FEED_SEEN_DAYS``, the set expiring after them), each
    counts an impression, and the reader's pool is kept, dropped or left as asked."""
    settings.FEED_SEEN_MAX, settings.FEED_SEEN_DAYS, settings.FEED_DISCOVER_POOL_SECONDS = 5, 3, 60
    store, client = rank_store(), redisconn.client()
    seen, pool_key = store._seen(7), store._pool(7, "food")
    client.zadd(
        seen, {"1": (NOW - timedelta(days=4)).timestamp(), "2": (NOW - timedelta(days=2)).timestamp()}
    )
    pooled = [ranking.Candidate(40, 9, 1.25, "food", (3, 4), key=2.5), ranking.Candidate(41, 8, 0.5)]

    reader = ranking.Reader(user_id=7)
    version, tag = client.get(store._version()) or "0", reader_tag(reader)
    store.mark_seen(user_id=7, note_ids=[10, 11, 12], now=NOW, pool=Pool(7, "food", version, tag, pooled))
    assert client.zrange(seen, 0, -1) == ["2", "10", "11", "12"]  # note 1: seen too long ago
    assert client.zscore(seen, "10") == NOW.timestamp()
    assert 3 * 86400 < client.ttl(seen) <= 3 * 86400 + 3600
    assert client.hmget(store._impressions(), ["10", "11", "12", "2"]) == ["1", "1", "1", None]
    assert 0 < client.ttl(pool_key) <= 60
    found = store._unseen_candidates(reader, "food", [store._category("food")], 20, NOW)  # the pool
    assert found.ranked and found.candidates == pooled and [c.key for c in found.candidates] == [2.5, 0.0]

    store.mark_seen(user_id=7, note_ids=[12, 13, 14, 15], now=NOW + timedelta(seconds=1))
    assert client.zrange(seen, 0, -1) == ["11", "12", "13", "14", "15"]  # the newest five
    assert client.hget(store._impressions(), "12") == "2"
    assert client.exists(pool_key)  # no pool given: left as it was

    store.mark_seen(user_id=7, note_ids=[], now=NOW, pool=Pool(7, "food", version, tag, []))
    assert not client.exists(pool_key)  # an empty pool is dropped
    assert client.zcard(seen) == 5
