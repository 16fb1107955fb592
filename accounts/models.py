from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from accounts.choices import Audience, Gender, NotificationVerb, ReviewStatus


class UserQuerySet(models.QuerySet):
    def visible_to(self, viewer) -> UserQuerySet:
        """Active users that ``viewer`` may see: blocks hide both people from each other."""
        qs = self.filter(is_active=True)
        if viewer is None or not viewer.is_authenticated:
            return qs
        return qs.exclude(Exists(Block.objects.between(viewer, "pk")))


class ZhongcaoUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person on Zhongcao: profile, privacy settings and denormalised counters.

    Counters are only changed by services with ``F()`` updates, never set from the API.
    """

    nickname = models.CharField(max_length=40, blank=True)
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True)
    bio = models.CharField(max_length=300, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, default=Gender.UNSPECIFIED)
    birthday = models.DateField(null=True, blank=True)
    city = models.CharField(max_length=64, blank=True)
    interests = models.JSONField(default=list, blank=True, help_text="List of category values.")

    is_private = models.BooleanField(default=False, help_text="Followers need approval.")
    hide_collects = models.BooleanField(default=False)
    comment_permission = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    mention_permission = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)

    is_kol_certified = models.BooleanField(default=False, help_text="Set by certification review only.")

    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    note_count = models.PositiveIntegerField(default=0, help_text="Live notes, whoever may read them.")
    public_note_count = models.PositiveIntegerField(default=0, help_text="Live public notes.")
    followers_note_count = models.PositiveIntegerField(default=0, help_text="Live followers-only notes.")
    like_collect_count = models.PositiveIntegerField(default=0)

    #: The counters above: moved by every follow, note and like, and no part of who the user is (a
    #: change of any other column reaches ``accounts.usercache``, see migration 0005).
    COUNTERS = (
        "follower_count",
        "following_count",
        "note_count",
        "public_note_count",
        "followers_note_count",
        "like_collect_count",
    )

    objects = ZhongcaoUserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        return self.nickname or self.username


class Follow(models.Model):
    """``follower`` follows ``followee``. At most one row per pair; nobody follows themselves."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set", db_index=False
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=models.F("followee")), name="follow_not_self"),
        ]
        indexes = [
            models.Index(fields=["followee", "-id"], name="follow_followee_recent"),
            models.Index(fields=["follower", "-id"], name="follow_follower_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class FollowRequest(models.Model):
    """A pending request to follow a private account; approving it turns it into a Follow."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sent_follow_requests",
        db_index=False,
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="received_follow_requests",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="follow_request_unique_pair"),
            models.CheckConstraint(
                condition=~Q(requester=models.F("target")), name="follow_request_not_self"
            ),
        ]
        indexes = [models.Index(fields=["target", "-id"], name="follow_request_target_recent")]

    def __str__(self) -> str:
        return f"{self.requester_id} ?-> {self.target_id}"


class BlockQuerySet(models.QuerySet):
    def between(self, user, ref: str) -> BlockQuerySet:
        """Blocks either way between ``user`` and the user at ``OuterRef(ref)`` (for ``Exists``):
        the one expression of "a block hides the two people from each other"."""
        return self.filter(Q(blocker=user, blocked=OuterRef(ref)) | Q(blocker=OuterRef(ref), blocked=user))


class Block(models.Model):
    """``blocker`` blocked ``blocked``: no follows either way, and each is hidden from the other."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made", db_index=False
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BlockQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique_pair"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_reverse")]

    def __str__(self) -> str:
        return f"{self.blocker_id} x {self.blocked_id}"


class Notification(models.Model):
    """Something that happened to ``recipient``.

    De-duplicated per (recipient, actor, verb, target): liking, unliking and liking again notifies
    once. ``target_type``/``target_id`` name the object ("note", 42); empty/0 when there is none.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=32, choices=NotificationVerb.choices)
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.BigIntegerField(default=0)
    text = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "actor", "verb", "target_type", "target_id"],
                name="notification_dedup",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} for {self.recipient_id}"


class KolCertification(models.Model):
    """A creator's application to become a certified KOL, reviewed by a moderator."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certification"
    )
    real_name = models.CharField(max_length=64)
    category = models.CharField(max_length=16)
    statement = models.TextField(max_length=2000, help_text="Why this creator should be certified.")
    portfolio_url = models.URLField(blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    decision_reason = models.CharField(max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="certification_queue")]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


class Brand(models.Model):
    """A brand account owned by a user; approved brands may run a store and ads."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="brands")
    #: Unique whatever its case (a constraint on ``Lower(name)``): "Acme" and "ACME" are one brand.
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True, allow_unicode=False)
    description = models.TextField(max_length=2000, blank=True)
    website = models.URLField(blank=True)
    business_license = models.CharField(
        max_length=64, help_text="Registration number, checked by moderators."
    )
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    decision_reason = models.CharField(max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-id"], name="brand_status_recent")]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="brand_name_unique",
                violation_error_message="A brand with this name exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name
