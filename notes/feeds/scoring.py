"""Scoring the discovery feed: features from the database, ranks from :mod:`notes.feeds.ranking`,
written to ``NoteScore`` and published to the rank store; and what readers taught the feed
(:class:`~notes.models.ReaderProfile`).

Ways in, all idempotent (running twice, or late, converges on the same rows):

* :func:`notes_score` for given notes: a note went live, was edited, hidden or deleted (the
  receivers' task), so a new note has a score, and a place in discovery, the moment it publishes.
* :func:`scores_update_changed`, Celery beat every 30 s: the notes whose engagement changed. It
  reads each append-only engagement table (likes, collects, comments, shares, "not interested",
  follows) past a watermark on its primary key, so the write paths need not call the feeds at all.
  Rows younger than ``LAG`` are read again next run: on PostgreSQL a transaction holding a lower id
  may commit after a higher one. Each changed note costs a constant number of Redis commands.
* :func:`scores_decay_pass`, every 10 min: the last ``FEED_DECAY_WINDOW_HOURS`` of notes from their
  stored features and current counters, for what changes without a new row: the fading new-note
  boost, impressions, unlikes and uncollects (they delete rows), authors who went private.
* :func:`scores_rebuild`: everything (``manage.py rebuild_feeds``, seed_demo, seed_bench).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, TextField, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

from accounts.models import Follow
from config.db import PreparedQuery, update_rows
from notes.choices import NoteStatus, Visibility
from notes.feeds import geo, ranking
from notes.feeds.rankstore import RankRow, rank_store
from notes.models import (
    Comment,
    FeedWatermark,
    Note,
    NoteCollect,
    NoteLike,
    NoteScore,
    NoteShare,
    NoteTopic,
    NotInterested,
    ReaderProfile,
)

BATCH = 2000
MAX_TOPICS = 8
LAG = timedelta(seconds=30)
WATERMARK_BATCH = 20_000
FOLLOW_ATTRIBUTION = timedelta(days=7)  # a follow counts for notes of the last week the follower engaged with
#: Columns a rescoring rewrites; ``reach`` (the moderators' setting) is never among them.
SCORE_FIELDS = [
    "author",
    "category",
    "topic_ids",
    "published_at",
    "rankable",
    "likes",
    "collects",
    "comments",
    "shares",
    "follows",
    "not_interested",
    "impressions",
    "author_quality",
    "rank",
    "signals",
    "lat",
    "lng",
    "geohash3",
    "geohash4",
    "geohash5",
    "scored_at",
]
#: What the decay pass writes (``_decayed`` gives them in this order, after the key).
DECAY_FIELDS = [
    "rankable",
    "likes",
    "collects",
    "comments",
    "shares",
    "impressions",
    "author_quality",
    "rank",
    "signals",
    "scored_at",
]
NOTE_FIELDS = (
    "id",
    "author_id",
    "category",
    "visibility",
    "status",
    "deleted_at",
    "published_at",
    "created_at",
    "lat",
    "lng",
    "like_count",
    "collect_count",
    "comment_count",
    "share_count",
    "author__is_active",
    "author__is_private",
    "author__is_kol_certified",
    "author__like_collect_count",
    "author__note_count",
)


def _chunks(items: Iterable, size: int = BATCH) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _is_live(row: dict) -> bool:
    return row["status"] == NoteStatus.PUBLISHED and row["deleted_at"] is None


def _rankable(status, deleted_at, visibility, active, private, published_at, reach) -> bool:
    """Discovery shows live public notes of active, open accounts that moderation left reach to."""
    return (
        status == NoteStatus.PUBLISHED
        and deleted_at is None
        and visibility == Visibility.PUBLIC
        and bool(active)
        and not private
        and published_at is not None
        and reach > 0
    )


def _is_rankable(row: dict, reach: float) -> bool:
    return _rankable(
        row["status"],
        row["deleted_at"],
        row["visibility"],
        row["author__is_active"],
        row["author__is_private"],
        row["published_at"],
        reach,
    )


def _topics(note_ids: list[int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    for note_id, topic_id in (
        NoteTopic.objects.filter(note_id__in=note_ids).order_by("topic_id").values_list("note_id", "topic_id")
    ):
        found[note_id].append(topic_id)
    return {note_id: tuple(topics[:MAX_TOPICS]) for note_id, topics in found.items()}


def _follows(note_ids: list[int]) -> dict[int, int]:
    """Follows gained from each note: people who liked or collected it and followed its author
    after it was published (a follow records no source, so engagement stands in for one)."""
    followed = Follow.objects.filter(
        follower_id=OuterRef("user_id"),
        followee_id=OuterRef("note__author_id"),
        created_at__gte=OuterRef("note__published_at"),
    )
    liked = NoteLike.objects.filter(note_id=OuterRef("note_id"), user_id=OuterRef("user_id"))
    counts: Counter[int] = Counter()
    for rows in (
        NoteLike.objects.filter(note_id__in=note_ids).filter(Exists(followed)),
        NoteCollect.objects.filter(note_id__in=note_ids).filter(Exists(followed)).exclude(Exists(liked)),
    ):
        counts.update(dict(rows.values_list("note_id").annotate(n=Count("id")).order_by()))
    return counts


def _not_interested(note_ids: list[int]) -> dict[int, int]:
    rows = NotInterested.objects.filter(note_id__in=note_ids).values_list("note_id").annotate(n=Count("id"))
    return dict(rows.order_by())


def _place(lat, lng) -> dict:
    if lat is None or lng is None:
        return {"lat": None, "lng": None, "geohash3": "", "geohash4": "", "geohash5": ""}
    lat, lng = float(lat), float(lng)
    cell = geo.encode(lat, lng, 5)
    return {"lat": lat, "lng": lng, "geohash3": cell[:3], "geohash4": cell[:4], "geohash5": cell}


def _features(row: dict, **extra) -> ranking.Features:
    return ranking.Features(
        note_id=row["id"],
        author_id=row["author_id"],
        published_at=row["published_at"] or row["created_at"],
        category=row["category"],
        likes=row["like_count"],
        collects=row["collect_count"],
        comments=row["comment_count"],
        shares=row["share_count"],
        author_likes_per_note=row["author__like_collect_count"] / max(1, row["author__note_count"]),
        author_certified=row["author__is_kol_certified"],
        **extra,
    )


def _score_row(features, scored, *, topic_ids, rankable: bool, now: datetime, **extra) -> NoteScore:
    """The score row of ``features`` as ranked (``scored``); ``extra`` sets the other columns."""
    return NoteScore(
        note_id=features.note_id,
        author_id=features.author_id,
        category=features.category,
        topic_ids=list(topic_ids),
        published_at=features.published_at,
        rankable=rankable,
        likes=features.likes,
        collects=features.collects,
        comments=features.comments,
        shares=features.shares,
        impressions=features.impressions,
        author_quality=scored.author_quality,
        rank=scored.rank,
        signals=scored.signals,
        scored_at=now,
        **extra,
    )


def notes_score(note_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """(Re)score these notes from scratch; returns how many scores were written.

    A note that is not live and was never scored is left alone (drafts get no row); one that
    stopped being live keeps its row, marked not rankable, and leaves the rank store.
    """
    now = now or timezone.now()
    store, written = rank_store(), 0
    for chunk in _chunks(sorted(set(note_ids))):
        rows = {row["id"]: row for row in Note.objects.filter(pk__in=chunk).values(*NOTE_FIELDS)}
        existing = NoteScore.objects.in_bulk(list(rows))
        targets = [pk for pk, row in rows.items() if pk in existing or _is_live(row)]
        if not targets:
            continue
        topics, follows = _topics(targets), _follows(targets)
        turned_down, impressions = _not_interested(targets), store.impressions(targets)
        scores, changes = [], []
        for pk in targets:
            row, old = rows[pk], existing.get(pk)
            reach = old.reach if old else 1.0
            features = _features(
                row,
                topic_ids=topics.get(pk, ()),
                follows=follows.get(pk, 0),
                not_interested=turned_down.get(pk, 0),
                impressions=impressions.get(pk, 0),
                reach=reach,
            )
            score = _score_row(
                features,
                ranking.score(features, now),
                topic_ids=features.topic_ids,
                rankable=_is_rankable(row, reach),
                now=now,
                follows=features.follows,
                not_interested=features.not_interested,
                reach=reach,
                **_place(row["lat"], row["lng"]),
            )
            scores.append(score)
            changes.append((RankRow.of(old) if old else None, RankRow.of(score)))
        NoteScore.objects.bulk_create(
            scores, update_conflicts=True, unique_fields=["note"], update_fields=SCORE_FIELDS
        )
        store.publish(changes)
        written += len(scores)
    return written


DECAY_VALUES = (
    "note_id",
    "author_id",
    "category",
    "published_at",
    "scored_at",
    "rankable",
    "rank",
    "likes",
    "collects",
    "comments",
    "shares",
    "impressions",
    "author_quality",
    "follows",
    "not_interested",
    "reach",
    "note__status",
    "note__deleted_at",
    "note__visibility",
    "note__like_count",
    "note__collect_count",
    "note__comment_count",
    "note__share_count",
    "note__author__is_active",
    "note__author__is_private",
    "note__author__is_kol_certified",
    "note__author__like_collect_count",
    "note__author__note_count",
    "topics_text",  # ``topic_ids`` as text, decoded only for a note that moved
)
#: The decay pass leaves ranks that moved less than this (0.1%) alone: impressions trickling in
#: would otherwise rewrite every note served since the last pass.
DECAY_TOLERANCE = 1e-3
#: Window rows read, scored and written at a time by the decay pass.
DECAY_BATCH = 10_000


def scores_decay_pass(*, now: datetime | None = None, hours: float | None = None) -> int:
    """Rescore the notes published in the last ``hours`` (default ``FEED_DECAY_WINDOW_HOURS``) from
    their stored features, current counters and impressions, and write only the ranks that moved
    (a new-note boost that stepped down, impressions that changed the verdict, an unlike, an author
    gone private). Returns how many did.

    Built to be cheap over a big window: one query reads it as tuples, a note whose inputs are
    unchanged is skipped without being scored, and follows gained are not recounted (that needs the
    engagement rows; the watermark job does it when a follow arrives). A batch is scored in a
    second thread while the previous one is written: scoring is Python, writing mostly waiting on
    PostgreSQL and Redis (which lets the other thread run), so the two overlap. Every query stays on
    this thread's connection, in its transaction.
    """
    now = now or timezone.now()
    since = now - timedelta(hours=settings.FEED_DECAY_WINDOW_HOURS if hours is None else hours)
    store, moved, writing = rank_store(), 0, None
    window = (
        NoteScore.objects.filter(published_at__gte=since)
        .annotate(topics_text=Cast("topic_ids", TextField()))
        .order_by("note_id")
        .values_list(*DECAY_VALUES)
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decay") as scorer:
        for chunk in _chunks(window.iterator(chunk_size=DECAY_BATCH), DECAY_BATCH):
            impressions = store.impressions([row[0] for row in chunk])
            scoring_chunk = scorer.submit(_decayed, chunk, impressions, now)
            if writing is not None:
                moved += _save_decayed(*writing.result(), store)
            writing = scoring_chunk
        if writing is not None:
            moved += _save_decayed(*writing.result(), store)
    return moved


def _decayed(chunk: list[tuple], impressions: dict[int, int], now: datetime) -> tuple[list, list]:
    """The window's rows in ``chunk`` whose rank moved, rescored: the rows to write
    (``DECAY_FIELDS``, after the key) and the rank store's changes. No query: it runs beside them."""
    written, changes = [], []
    step = ranking.new_note_step
    for row in chunk:
        (
            note_id,
            author_id,
            category,
            published_at,
            scored_at,
            was_rankable,
            old_rank,
            likes,
            collects,
            comments,
            shares,
        ) = row[:11]
        (old_impressions, old_quality, follows, not_interested, reach, status, deleted_at, visibility) = row[
            11:19
        ]
        (like_count, collect_count, comment_count, share_count) = row[19:23]
        (active, private, certified, author_likes, author_notes) = row[23:28]
        seen = impressions.get(note_id, old_impressions)
        rankable = _rankable(status, deleted_at, visibility, active, private, published_at, reach)
        quality = ranking.author_factor(author_likes / max(1, author_notes), certified)
        if (
            rankable == was_rankable
            and (like_count, collect_count, comment_count, share_count) == (likes, collects, comments, shares)
            and (seen == old_impressions or max(seen, old_impressions) < ranking.MIN_IMPRESSIONS)
            and abs(quality - old_quality) < 1e-12
            and step(published_at, scored_at) == step(published_at, now)
        ):
            continue
        f = ranking.Features(
            note_id=note_id,
            author_id=author_id,
            published_at=published_at,
            category=category,
            likes=like_count,
            collects=collect_count,
            comments=comment_count,
            shares=share_count,
            follows=follows,
            not_interested=not_interested,
            impressions=seen,
            author_likes_per_note=author_likes / max(1, author_notes),
            author_certified=certified,
            reach=reach,
        )
        scored = ranking.score(f, now)
        if rankable == was_rankable and abs(scored.rank - old_rank) < DECAY_TOLERANCE:
            continue
        written.append(
            (
                note_id,
                *(rankable, f.likes, f.collects, f.comments, f.shares, f.impressions),
                *(scored.author_quality, scored.rank, scored.signals, now),
            )
        )
        topic_ids = tuple(orjson.loads(row[28]))
        changes.append(
            (
                RankRow(note_id, author_id, category, topic_ids, old_rank, was_rankable),
                RankRow(note_id, author_id, category, topic_ids, scored.rank, rankable),
            )
        )
    return written, changes


def _save_decayed(written: list[tuple], changes: list[tuple], store) -> int:
    update_rows(NoteScore, DECAY_FIELDS, written)
    if changes:
        store.publish(changes)
    return len(written)


# --- engagement since the last run ------------------------------------------------------------------

#: Append-only tables whose new rows mean a note's engagement (and its reader's profile) changed:
#: name -> (model, the column naming the person).
SOURCES: dict[str, tuple[type, str]] = {
    "like": (NoteLike, "user_id"),
    "collect": (NoteCollect, "user_id"),
    "comment": (Comment, "author_id"),
    "share": (NoteShare, "user_id"),
    "not_interested": (NotInterested, "user_id"),
}
#: Sources that teach the feed about the person who made the row.
PROFILE_SOURCES = ("like", "collect", "not_interested")


def _advance(rows: list[tuple], mark: int, settled_before: datetime) -> int:
    """The new watermark: past every row that is older than the lag, up to the first younger one."""
    for pk, *_rest, created_at in rows:
        if created_at >= settled_before:
            break
        mark = pk
    return mark


def scores_update_changed(*, now: datetime | None = None) -> dict[str, int]:
    """Rescore the notes whose engagement rows appeared since the last run, and refresh the
    profiles of the readers who made them. Overlapping runs queue on the watermark rows' locks."""
    now = now or timezone.now()
    settled_before = now - LAG
    names = [*SOURCES, "follow"]
    FeedWatermark.objects.bulk_create([FeedWatermark(name=name) for name in names], ignore_conflicts=True)
    notes: set[int] = set()
    readers: set[int] = set()
    with transaction.atomic():
        marks = {w.name: w for w in FeedWatermark.objects.select_for_update().filter(name__in=names)}
        for name, (model, person) in SOURCES.items():
            mark = marks[name]
            rows = list(
                model.objects.filter(pk__gt=mark.last_id)
                .order_by("pk")
                .values_list("pk", "note_id", person, "created_at")[:WATERMARK_BATCH]
            )
            notes.update(note for _, note, _, _ in rows)
            if name in PROFILE_SOURCES:
                readers.update(user for _, _, user, _ in rows if user is not None)
            mark.last_id = _advance(rows, mark.last_id, settled_before)
        mark = marks["follow"]
        follows = list(
            Follow.objects.filter(pk__gt=mark.last_id)
            .order_by("pk")
            .values_list("pk", "follower_id", "followee_id", "created_at")[:WATERMARK_BATCH]
        )
        notes.update(
            _notes_behind_follows([(follower, followee) for _, follower, followee, _ in follows], now)
        )
        mark.last_id = _advance(follows, mark.last_id, settled_before)
        scored = notes_score(notes, now=now)
        reader_profiles_refresh(readers)
        FeedWatermark.objects.bulk_update(list(marks.values()), ["last_id", "updated_at"])
    return {"notes": scored, "readers": len(readers)}


def _notes_behind_follows(pairs: list[tuple[int, int]], now: datetime) -> set[int]:
    """Recent notes of the followee that the new follower engaged with: their "follows gained"."""
    if not pairs:
        return set()
    wanted = set(pairs)
    followers = {follower for follower, _ in pairs}
    followees = {followee for _, followee in pairs}
    since = now - FOLLOW_ATTRIBUTION
    found: set[int] = set()
    for model in (NoteLike, NoteCollect):
        rows = model.objects.filter(
            user_id__in=followers, note__author_id__in=followees, note__published_at__gte=since
        ).values_list("note_id", "user_id", "note__author_id")
        found.update(note for note, user, author in rows if (user, author) in wanted)
    return found


# --- readers -------------------------------------------------------------------------------------

RECENT = 200
LIKE, COLLECT = 1.0, 2.0
TOPICS_KEPT = 30
TURNED_DOWN = {"category": -0.15, "topic": -0.3, "author": -2.0}  # log-space: an author x0.14 per note
FLOORS = {"category": -0.6, "topic": -1.0, "author": -4.0}


def _recent(model, user_ids: list[int], *fields: str) -> dict[int, list[tuple]]:
    """Each person's newest ``RECENT`` rows of ``model`` (``fields`` of each), newest first, in one
    query (a window function numbers each person's rows)."""
    rows = (
        model.objects.filter(user_id__in=user_ids)
        .annotate(nth=Window(RowNumber(), partition_by=[F("user_id")], order_by=F("id").desc()))
        .filter(nth__lte=RECENT)
        .order_by("user_id", "-id")
        .values_list("user_id", *fields)
    )
    found: dict[int, list[tuple]] = defaultdict(list)
    for user_id, *values in rows:
        found[user_id].append(tuple(values))
    return found


def _learn(likes, collects, turned_down, topics_of) -> dict:
    """A profile's weights from one reader's recent likes and collects (shares of each category
    and topic, collects counting double) and what they turned down (negative weights)."""
    categories: Counter[str] = Counter()
    topics: Counter[int] = Counter()
    names: dict[int, str] = {}
    total = 0.0
    for weight, rows in ((LIKE, likes), (COLLECT, collects)):
        for note_id, category in rows:
            total += weight
            if category:
                categories[category] += weight
            for topic_id, name in topics_of.get(note_id, ()):
                topics[topic_id] += weight
                names[topic_id] = name
    category_weights = {c: w / total for c, w in categories.items()} if total else {}
    topic_weights = {t: w / total for t, w in topics.most_common(TOPICS_KEPT)} if total else {}
    author_weights: dict[int, float] = {}
    for note_id, category, author_id in turned_down:
        if category:
            category_weights[category] = max(
                FLOORS["category"], category_weights.get(category, 0.0) + TURNED_DOWN["category"]
            )
        for topic_id, name in topics_of.get(note_id, ()):
            names[topic_id] = name
            topic_weights[topic_id] = max(
                FLOORS["topic"], topic_weights.get(topic_id, 0.0) + TURNED_DOWN["topic"]
            )
        author_weights[author_id] = max(
            FLOORS["author"], author_weights.get(author_id, 0.0) + TURNED_DOWN["author"]
        )
    return {
        "categories": {c: round(w, 4) for c, w in category_weights.items()},
        "topics": {str(t): [round(w, 4), names[t]] for t, w in topic_weights.items()},
        "authors": {str(a): w for a, w in author_weights.items()},
        "hidden_notes": sorted(note for note, *_ in turned_down),
    }


def reader_profiles_refresh(user_ids: Iterable[int]) -> int:
    """Relearn these readers' profiles from their latest ``RECENT`` likes, collects and "not
    interested" answers: a handful of queries per batch of 500 readers."""
    count = 0
    for chunk in _chunks(sorted(set(user_ids)), 500):
        likes = _recent(NoteLike, chunk, "note_id", "note__category")
        collects = _recent(NoteCollect, chunk, "note_id", "note__category")
        turned_down = _recent(NotInterested, chunk, "note_id", "note__category", "note__author_id")
        note_ids = sorted(
            {row[0] for source in (likes, collects, turned_down) for rows in source.values() for row in rows}
        )
        topics_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for start in range(0, len(note_ids), 5000):
            rows = NoteTopic.objects.filter(note_id__in=note_ids[start : start + 5000]).values_list(
                "note_id", "topic_id", "topic__name"
            )
            for note_id, topic_id, name in rows:
                topics_of[note_id].append((topic_id, name))
        now = timezone.now()
        profiles = [
            ReaderProfile(
                user_id=user_id,
                updated_at=now,
                **_learn(
                    likes.get(user_id, ()), collects.get(user_id, ()), turned_down.get(user_id, ()), topics_of
                ),
            )
            for user_id in chunk
        ]
        ReaderProfile.objects.bulk_create(
            profiles,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["categories", "topics", "authors", "hidden_notes", "updated_at"],
        )
        count += len(profiles)
    return count


def reader_profile_refresh(user_id: int) -> None:
    reader_profiles_refresh([user_id])


def reader_for(viewer) -> ranking.Reader:
    """The reader a discovery page is built for (one query for a signed-in viewer, none otherwise)."""
    if viewer is None or not viewer.is_authenticated:
        return ranking.Reader()
    rows = _READER_PROFILE.rows(viewer.pk)
    declared = frozenset(viewer.interests or ())
    if not rows:
        return ranking.Reader(user_id=viewer.pk, declared=declared)
    profile = rows[0]
    return ranking.Reader(
        user_id=viewer.pk,
        declared=declared,
        categories=dict(profile["categories"]),
        topics={int(t): (w, name) for t, (w, name) in profile["topics"].items()},
        authors={int(a): w for a, w in profile["authors"].items()},
        hidden=frozenset(profile["hidden_notes"]),
    )


#: Read on every signed-in discovery page: compiled once.
_READER_PROFILE = PreparedQuery(
    lambda user_id: ReaderProfile.objects.filter(user_id=user_id).values(
        "categories", "topics", "authors", "hidden_notes"
    )
)


# --- everything ------------------------------------------------------------------------------------


def scores_rebuild(
    *, now: datetime | None = None, progress: Callable[[Iterable, str], Iterable] | None = None
) -> int:
    """Rescore every live note and every reader from the rows, then set the watermarks to now."""
    now = now or timezone.now()
    marks = {
        name: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        for name, (model, _) in SOURCES.items()
    }
    marks["follow"] = Follow.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rank_store().clear()
    live = Note.objects.filter(status=NoteStatus.PUBLISHED, deleted_at__isnull=True)
    NoteScore.objects.exclude(note__in=live).update(rankable=False)
    ids = list(live.order_by("pk").values_list("pk", flat=True))
    chunks = list(_chunks(ids, 5000))
    scored = sum(
        notes_score(chunk, now=now) for chunk in (progress(chunks, "scores") if progress else chunks)
    )
    readers: set[int] = set()
    for model in (NoteLike, NoteCollect, NotInterested):
        readers.update(model.objects.order_by().values_list("user_id", flat=True).distinct())
    # Nobody keeps a profile without the rows it is learned from.
    ReaderProfile.objects.exclude(
        Exists(NoteLike.objects.filter(user_id=OuterRef("user_id")))
        | Exists(NoteCollect.objects.filter(user_id=OuterRef("user_id")))
        | Exists(NotInterested.objects.filter(user_id=OuterRef("user_id")))
    ).delete()
    ordered = sorted(readers)
    reader_profiles_refresh(progress(ordered, "readers") if progress else ordered)
    for name, last_id in marks.items():
        FeedWatermark.objects.update_or_create(name=name, defaults={"last_id": last_id})
    return scored
