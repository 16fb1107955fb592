"""Feed tables (imported by ``notes.models``): following timelines for the database backend,
discovery scores with their place index, what readers have seen or turned down, what the discovery
feed has learned about each reader, and the scoring job's watermarks.

None of these is a source of truth: every row can be rebuilt from notes, follows and engagement
(``manage.py rebuild_feeds``), and every read still passes the notes through
``Note.objects.visible_to``, so a lagging row may cost a short page but never leaks a note.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["FeedWatermark", "NoteScore", "NotInterested", "ReaderProfile", "SeenNote", "TimelineEntry"]


class TimelineEntry(models.Model):
    """A note in ``user``'s following timeline: the database backend of the timelines (with Redis
    each timeline is a sorted set instead). Pages run newest first by (``published_at``, ``note``),
    a key that never changes, so a cursor stays valid while notes are added. ``author`` is copied
    from the note so that an unfollow or a block removes an author's notes without a join."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    published_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="timeline_note_once")]
        indexes = [
            models.Index(fields=["user", "-published_at", "-note"], name="timeline_page"),
            models.Index(fields=["user", "author"], name="timeline_user_author"),
        ]

    def __str__(self) -> str:
        return f"{self.note_id} in {self.user_id}'s timeline"


class NoteScore(models.Model):
    """A note's discovery ranking: the features it was scored from, the log-space ``rank`` the feeds
    order by, the top ``signals`` behind it, and its place (geohash cells) for the nearby feed.

    ``rank`` = ln(engagement x quality factors) + ln 2 x published time / half-life: ordering by it
    is ordering by a score that halves every half-life, without rewriting scores as time passes
    (see ``notes.feeds.ranking``). Only ``rankable`` rows (live, public, from an open account, with
    reach) are candidates. ``reach`` is the moderators' dial: 1 normal, below 1 limited, 0 out of
    discovery; it survives rescoring.
    """

    note = models.OneToOneField(
        "notes.Note", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    category = models.CharField(max_length=16, blank=True)
    topic_ids = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField()
    rankable = models.BooleanField(default=False)
    likes = models.PositiveIntegerField(default=0)
    collects = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    follows = models.PositiveIntegerField(default=0, help_text="Follows of the author by people who engaged.")
    not_interested = models.PositiveIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0, help_text="Times served in the discovery feed.")
    author_quality = models.FloatField(default=1.0)
    reach = models.FloatField(default=1.0, help_text="Moderation: 1 normal, <1 limited, 0 excluded.")
    rank = models.FloatField(default=0.0)
    signals = models.JSONField(default=list, blank=True, help_text="Top signals, strongest first.")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    geohash3 = models.CharField(max_length=3, blank=True)
    geohash4 = models.CharField(max_length=4, blank=True)
    geohash5 = models.CharField(max_length=5, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["-rank"], condition=Q(rankable=True), name="score_rank"),
            models.Index(
                fields=["category", "-rank"], condition=Q(rankable=True), name="score_category_rank"
            ),
            models.Index(fields=["published_at"], name="score_published"),
            models.Index(
                fields=["geohash3"], condition=Q(rankable=True, lat__isnull=False), name="score_gh3"
            ),
            models.Index(
                fields=["geohash4"], condition=Q(rankable=True, lat__isnull=False), name="score_gh4"
            ),
            models.Index(
                fields=["geohash5"], condition=Q(rankable=True, lat__isnull=False), name="score_gh5"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(reach__gte=0, reach__lte=1), name="score_reach_0_to_1"),
        ]

    def __str__(self) -> str:
        return f"score of {self.note_id}: {self.rank:.3f}"


class ReaderProfile(models.Model):
    """What the discovery feed learned about a reader, rebuilt from their recent likes, collects and
    "not interested" answers by the scoring job: ``categories`` {category: weight},
    ``topics`` {topic id: [weight, name]}, ``authors`` {author id: weight} (negative when turned
    down) and the ids of the notes turned down. Declared interests stay on the user; the feed adds
    them at read time. The profile is one row so that a discovery page reads it in one query."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    categories = models.JSONField(default=dict, blank=True)
    topics = models.JSONField(default=dict, blank=True)
    authors = models.JSONField(default=dict, blank=True)
    hidden_notes = models.JSONField(
        default=list, blank=True, help_text="Notes turned down: never shown again."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reader profile of {self.user_id}"


class SeenNote(models.Model):
    """A note the discovery feed served to ``user`` (database backend; Redis keeps a capped sorted
    set). Skipped for ``FEED_SEEN_DAYS``; each row is also one impression of the note."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="seen_note_once")]
        indexes = [models.Index(fields=["seen_at"], name="seen_note_age")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.note_id}"


class NotInterested(models.Model):
    """``user`` told the discovery feed they are not interested in ``note``: it never comes back,
    its author and topics are pushed down for them, and it counts against the note's score."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.ForeignKey("notes.Note", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="not_interested_once")]
        indexes = [models.Index(fields=["user", "-id"], name="not_interested_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} is not interested in {self.note_id}"


class FeedWatermark(models.Model):
    """How far the scoring job has read an append-only table of engagement rows (by primary key)."""

    name = models.CharField(max_length=32, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_id}"
