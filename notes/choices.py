from django.db import models


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class MediaStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Everyone"
    FOLLOWERS = "followers", "Followers only"
    PRIVATE = "private", "Only me"


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PROCESSING = "processing", "Waiting for its media"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    HIDDEN = "hidden", "Hidden by moderation"


class PublishAction(models.TextChoices):
    """What the author asks for when saving a note."""

    DRAFT = "draft", "Save as draft"
    PUBLISH = "publish", "Publish now (as soon as the media are ready)"
    SCHEDULE = "schedule", "Publish at publish_at"
