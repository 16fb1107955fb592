from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from accounts.choices import Category
from accounts.models import Block, Follow
from notes.choices import (
    MediaKind,
    MediaStatus,
    NoteStatus,
    ReportReason,
    ReportStatus,
    ReportTarget,
    Visibility,
)


def aspect_ratio(width: int | None, height: int | None) -> float | None:
    """width / height to four places, or None while either is unknown."""
    return round(width / height, 4) if width and height else None


class Media(models.Model):
    """An uploaded image or video. Stored as ``pending``; a Celery task decodes it for real and
    writes WebP variants, then marks it ``ready`` (or ``failed`` with a reason).

    ``variants`` maps a variant name (``thumb``, ``feed``, ``full``) to its storage name. A video's
    variants are those of its cover frame.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media", db_index=False
    )
    kind = models.CharField(max_length=8, choices=MediaKind.choices)
    status = models.CharField(max_length=8, choices=MediaStatus.choices, default=MediaStatus.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)
    original = models.FileField(upload_to="uploads/%Y/%m/%d/", max_length=255)
    mime_type = models.CharField(max_length=64, help_text="Sniffed from the bytes, not the client.")
    size_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    dominant_color = models.CharField(max_length=7, blank=True, help_text="#rrggbb, for placeholders.")
    duration_seconds = models.FloatField(null=True, blank=True)
    variants = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "media"
        indexes = [models.Index(fields=["owner", "-id"], name="media_owner_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"

    @property
    def aspect_ratio(self) -> float | None:
        return aspect_ratio(self.width, self.height)


class TopicQuerySet(models.QuerySet):
    def listed(self) -> TopicQuerySet:
        """Topics anyone may find (a topic page, search, suggestions): not suppressed, and pinned or
        used by a live note. A topic is created as soon as a draft, a scheduled note or a note still
        waiting for its media names it; until a note using it goes out (``note_count``, moved by
        ``notes.services.notes``), its name is the author's unpublished text."""
        return self.filter(is_suppressed=False).filter(Q(is_pinned=True) | Q(note_count__gt=0))


class Topic(models.Model):
    """A ``#话题`` hashtag, created on first use. Moderators can pin or suppress it."""

    name = models.CharField(max_length=40, unique=True)
    note_count = models.PositiveIntegerField(default=0)
    is_pinned = models.BooleanField(default=False)
    is_suppressed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TopicQuerySet.as_manager()

    def __str__(self) -> str:
        return f"#{self.name}"


class NoteQuerySet(models.QuerySet):
    def live(self) -> NoteQuerySet:
        """Published, not deleted, not hidden."""
        return self.filter(status=NoteStatus.PUBLISHED, deleted_at__isnull=True)

    def visible_to(self, viewer) -> NoteQuerySet:
        """The one rule for who may see a note.

        The author sees all their own non-deleted notes (drafts, scheduled, private, hidden). Anyone
        else sees published notes that are public, or followers-only when they follow the author,
        from authors who are active, not blocked either way, and not private accounts they don't
        follow.
        """
        authenticated = viewer is not None and viewer.is_authenticated
        others = Q(status=NoteStatus.PUBLISHED, author__is_active=True)
        if not authenticated:
            return self.filter(deleted_at__isnull=True).filter(
                others, visibility=Visibility.PUBLIC, author__is_private=False
            )
        follows_author = Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("author")))
        blocked = Exists(Block.objects.between(viewer, "author"))
        open_author = Q(author__is_private=False) | Q(follows_author=True)
        readable = Q(visibility=Visibility.PUBLIC, author__is_private=False) | (
            Q(visibility__in=[Visibility.PUBLIC, Visibility.FOLLOWERS]) & Q(follows_author=True)
        )
        return (
            self.filter(deleted_at__isnull=True)
            .alias(follows_author=follows_author, blocked=blocked)
            .filter(Q(author=viewer) | (others & readable & open_author & Q(blocked=False)))
        )


class Note(models.Model):
    """A post: images (1-18, ordered) or one video, title and body with #topics and @mentions.

    Visible to others only when ``status`` is published, and published only once every medium is
    ready. Deleting is soft (``deleted_at``): counters, boards and comments stay consistent.
    """

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    kind = models.CharField(max_length=8, choices=MediaKind.choices, default=MediaKind.IMAGE)
    title = models.CharField(max_length=100, blank=True)
    body = models.TextField(max_length=5000, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    status = models.CharField(max_length=16, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True, help_text="When a scheduled note goes out.")
    published_at = models.DateTimeField(null=True, blank=True)
    cover = models.ForeignKey(Media, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    media = models.ManyToManyField(Media, through="NoteMedia", related_name="notes")
    topics = models.ManyToManyField(Topic, through="NoteTopic", related_name="notes")
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, through="NoteMention", related_name="+")
    place_name = models.CharField(max_length=80, blank=True)
    place_city = models.CharField(max_length=64, blank=True)
    lat = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    lng = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    ai_assisted = models.BooleanField(default=False)
    product = models.ForeignKey(
        "shop.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews",
        help_text="Set on a review: the product reviewed.",
        db_index=False,
    )
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-5, reviews only.")
    is_verified_purchase = models.BooleanField(
        default=False, help_text="Set by the shop when the author received the product."
    )
    tagged_products = models.ManyToManyField("shop.Product", through="NoteProduct", related_name="tagged_in")
    pinned_comment = models.ForeignKey(
        "Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    like_count = models.PositiveIntegerField(default=0)
    collect_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = NoteQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["author", "-id"], name="note_author_recent"),
            models.Index(fields=["status", "publish_at"], name="note_schedule"),
            models.Index(fields=["status", "-published_at"], name="note_published_recent"),
            models.Index(fields=["product", "-id"], name="note_product_reviews"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True) | Q(lat__isnull=False, lng__isnull=False),
                name="note_lat_lng_together",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(product__isnull=False, rating__gte=1, rating__lte=5),
                name="note_rating_is_a_review",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"Note {self.pk}"

    @property
    def is_live(self) -> bool:
        """What ``Note.objects.live()`` selects: published and not deleted."""
        return self.status == NoteStatus.PUBLISHED and self.deleted_at is None


class NoteMedia(models.Model):
    """One medium of a note, in carousel order."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="note_media", db_index=False)
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["note", "position"], name="note_media_position"),
            models.UniqueConstraint(fields=["note", "media"], name="note_media_once"),
        ]

    def __str__(self) -> str:
        return f"{self.note_id}#{self.position}: {self.media_id}"


class NoteProduct(models.Model):
    """A shop product tagged on a note ("grass planted"), in display order."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="product_tags", db_index=False)
    product = models.ForeignKey("shop.Product", on_delete=models.CASCADE, related_name="+", db_index=False)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["note", "product"], name="note_product_once")]
        indexes = [models.Index(fields=["product", "-note"], name="note_product_recent")]

    def __str__(self) -> str:
        return f"{self.note_id} tags {self.product_id}"


class NoteTopic(models.Model):
    """A note tagged with a topic."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "topic"], name="note_topic_once")]
        indexes = [models.Index(fields=["topic", "-note"], name="note_topic_recent")]

    def __str__(self) -> str:
        return f"{self.note_id} #{self.topic_id}"


class NoteMention(models.Model):
    """A user @mentioned in a note."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "user"], name="note_mention_once")]

    def __str__(self) -> str:
        return f"{self.note_id} @{self.user_id}"


class NoteRevision(models.Model):
    """The title and body a note had before an edit."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="revisions", db_index=False)
    title = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["note", "-id"], name="revision_note_recent")]

    def __str__(self) -> str:
        return f"Revision {self.pk} of {self.note_id}"


class NoteLike(models.Model):
    """A like; one per (user, note)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="likes", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="note_likes", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="note_like_once")]
        indexes = [models.Index(fields=["note", "-id"], name="note_like_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.note_id}"


class Board(models.Model):
    """A named collection (专辑) of collected notes, public or private. Each user has at most
    one default board, created on first collect without a board."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards", db_index=False
    )
    name = models.CharField(max_length=40)
    description = models.CharField(max_length=300, blank=True)
    is_private = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    note_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="board_name_per_owner"),
            models.UniqueConstraint(fields=["owner"], condition=Q(is_default=True), name="board_one_default"),
        ]
        indexes = [models.Index(fields=["owner", "-id"], name="board_owner_recent")]

    def __str__(self) -> str:
        return self.name


class NoteCollect(models.Model):
    """A user collected a note into one of their boards. One collect per (user, note)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="collects")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="note_collects", db_index=False
    )
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="collects", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "note"], name="note_collect_once")]
        indexes = [
            models.Index(fields=["board", "-id"], name="collect_board_recent"),
            models.Index(fields=["user", "-id"], name="collect_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} collected {self.note_id}"


class NoteShare(models.Model):
    """A recorded share of a note (counted on the note)."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.CharField(max_length=32, blank=True, help_text="wechat, weibo, link, ...")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.note_id} shared via {self.channel or 'app'}"


class Comment(models.Model):
    """Two levels: a root comment on a note, or a reply (``parent`` is the root; ``reply_to``
    names the person answered). Deleting keeps the row (``deleted_at``) so threads stay whole."""

    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="comments", db_index=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies", db_index=False
    )
    reply_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(max_length=1000)
    like_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["note", "parent", "-id"], name="comment_thread"),
            models.Index(fields=["parent", "id"], name="comment_replies"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.note_id}"


class CommentLike(models.Model):
    """A like on a comment; one per (user, comment)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "comment"], name="comment_like_once")]

    def __str__(self) -> str:
        return f"{self.user_id} likes comment {self.comment_id}"


class Report(models.Model):
    """Someone flags a note, comment or user; moderators action or dismiss it in the admin. One
    open report per (reporter, target): reporting again while it is open changes nothing."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    target_type = models.CharField(max_length=10, choices=ReportTarget.choices)
    target_id = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    detail = models.TextField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=models.Q(status="open"),
                name="report_one_open_per_reporter",
            )
        ]
        indexes = [models.Index(fields=["status", "target_type", "target_id"], name="report_queue")]

    def __str__(self) -> str:
        return f"Report {self.pk}: {self.target_type} {self.target_id} ({self.reason})"


# Search documents, history and trending tables, and the feeds' timelines, scores and reader state,
# live in their own modules (kept apart for size).
from notes.feeds.models import *  # noqa: E402, F403
from notes.search.models import *  # noqa: E402, F403
