"""Search documents, search history and the trending tables (imported by ``notes.models``).

One document table per kind, each a one-to-one extension of its object (note, user, product): the
database joins a document to its row by primary key, deleting the row deletes the document, and each
kind has its own (smaller) GIN index. ``head`` holds the distinct tokens of the title-like fields and
``body`` those of the rest, space-delimited with a space at both ends (``" 春日 穿搭 "``) so that
whole tokens match with ``LIKE``. On PostgreSQL ``vector`` is the ``tsvector`` of all the tokens,
matched through a GIN index the migration creates, and ``body`` is left empty (only SQLite matches
on it); relevance reads ``head`` on both.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from notes.search.fields import TokenVectorField

__all__ = [
    "HotSearch",
    "NoteSearchDocument",
    "ProductSearchDocument",
    "SearchHistory",
    "TopicHeat",
    "TrendCounter",
    "TrendKind",
    "UserSearchDocument",
]


class SearchDocument(models.Model):
    head = models.TextField(blank=True, help_text="Tokens of the title-like fields (they rank).")
    body = models.TextField(blank=True, help_text="Tokens of the rest (SQLite only).")
    vector = TokenVectorField(
        null=True, blank=True, editable=False, help_text="All tokens (PostgreSQL only)."
    )
    version = models.PositiveSmallIntegerField(help_text="Segmentation version that wrote it.")
    indexed_at = models.DateTimeField()

    class Meta:
        abstract = True


class NoteSearchDocument(SearchDocument):
    """The searchable text of a live note: title, topics and place (head), body (body). Exists only
    while the note is live; visibility is still checked on the note at query time."""

    note = models.OneToOneField(
        "notes.Note", on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    published_at = models.DateTimeField(
        null=True, help_text="The note's, copied: the newest-first search reads documents in this order."
    )

    class Meta:
        indexes = [models.Index(fields=["published_at", "note"], name="note_document_published")]

    def __str__(self) -> str:
        return f"Search document of note {self.note_id}"


class UserSearchDocument(SearchDocument):
    """The searchable text of a user: username and nickname (head), bio (body)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )

    def __str__(self) -> str:
        return f"Search document of user {self.user_id}"


class ProductSearchDocument(SearchDocument):
    """The searchable text of a product: title and store name (head), description (body)."""

    product = models.OneToOneField(
        "shop.Product", on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )

    def __str__(self) -> str:
        return f"Search document of product {self.product_id}"


class SearchHistory(models.Model):
    """A signed-in user's past query: one row per distinct (normalised) query, moved to the top
    each time it is searched again. Only its owner ever reads it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    query = models.CharField(max_length=100)
    searched_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "search history"
        constraints = [models.UniqueConstraint(fields=["user", "query"], name="search_history_once")]
        indexes = [
            models.Index(fields=["user", "-searched_at"], name="search_history_recent"),
            models.Index(fields=["searched_at"], name="search_history_age"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.query}"


class TrendKind(models.TextChoices):
    QUERY = "query", "Search query"
    TOPIC = "topic", "Topic"


class TrendCounter(models.Model):
    """How often ``term`` happened in one time bucket: the database stand-in for the Redis sorted
    sets (used when ``REDIS_URL`` is unset). ``bucket`` is the Unix time divided by
    ``TRENDING_BUCKET_SECONDS``. Old buckets are deleted by the roll-up."""

    kind = models.CharField(max_length=8, choices=TrendKind.choices)
    bucket = models.PositiveIntegerField()
    term = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "bucket", "term"], name="trend_counter_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.term!r} @{self.bucket}: {self.count}"


class HotSearch(models.Model):
    """The hot searches as of the last roll-up: queries ranked by their (decayed) count over the
    sliding window. Rewritten whole by each roll-up; read by the hot list and the suggestions."""

    query = models.CharField(max_length=64, unique=True)
    score = models.FloatField()
    rank = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["rank"]
        verbose_name_plural = "hot searches"
        indexes = [models.Index(fields=["rank"], name="hot_search_rank")]

    def __str__(self) -> str:
        return f"{self.rank}. {self.query}"


class TopicHeat(models.Model):
    """A topic's use in live notes over the sliding window, as of the last roll-up (only topics used
    in the window have a row)."""

    topic = models.OneToOneField(
        "notes.Topic", on_delete=models.CASCADE, primary_key=True, related_name="heat"
    )
    score = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "topic heat"
        indexes = [models.Index(fields=["-score"], name="topic_heat_score")]

    def __str__(self) -> str:
        return f"#{self.topic_id}: {self.score:.1f}"
