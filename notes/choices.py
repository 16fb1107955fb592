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


class ReportTarget(models.TextChoices):
    NOTE = "note", "Note"
    COMMENT = "comment", "Comment"
    USER = "user", "User"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam or scam"
    HARASSMENT = "harassment", "Harassment or hate"
    INAPPROPRIATE = "inappropriate", "Sexual or violent content"
    MISINFORMATION = "misinformation", "False information"
    UNDISCLOSED_AD = "undisclosed_ad", "Undisclosed advertising"
    INFRINGEMENT = "infringement", "Copyright or trademark infringement"
    OTHER = "other", "Something else"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACTIONED = "actioned", "Actioned"
    DISMISSED = "dismissed", "Dismissed"


class SearchType(models.TextChoices):
    NOTES = "notes", "Notes"
    USERS = "users", "Users"
    PRODUCTS = "products", "Products"
    TOPICS = "topics", "Topics"


class SearchSort(models.TextChoices):
    RELEVANCE = "relevance", "Best match"
    LATEST = "latest", "Newest first"
    POPULAR = "popular", "Most popular"
