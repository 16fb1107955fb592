from django.db import models


class Category(models.TextChoices):
    """Content categories: a user's declared interests and, later, a note's channel."""

    BEAUTY = "beauty", "Beauty 美妆"
    FASHION = "fashion", "Fashion 穿搭"
    FOOD = "food", "Food 美食"
    TRAVEL = "travel", "Travel 旅行"
    FITNESS = "fitness", "Fitness 健身"
    HOME = "home", "Home 家居"
    TECH = "tech", "Tech 数码"
    PARENTING = "parenting", "Parenting 母婴"


class Gender(models.TextChoices):
    UNSPECIFIED = "unspecified", "Unspecified"
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"


class Audience(models.TextChoices):
    """Who may comment on a user's notes or @mention them."""

    EVERYONE = "everyone", "Everyone"
    FOLLOWERS = "followers", "My followers"
    NOBODY = "nobody", "Nobody"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class NotificationVerb(models.TextChoices):
    FOLLOW = "follow", "New follower"
    FOLLOW_REQUEST = "follow_request", "Follow request"
    FOLLOW_ACCEPTED = "follow_accepted", "Follow request accepted"
    LIKE = "like", "Like"
    COLLECT = "collect", "Collect"
    COMMENT = "comment", "Comment"
    REPLY = "reply", "Reply"
    MENTION = "mention", "Mention"
    ORDER = "order", "Order update"
    COLLABORATION = "collaboration", "Collaboration update"
    CERTIFICATION = "certification", "Certification decision"
    BRAND = "brand", "Brand application decision"
