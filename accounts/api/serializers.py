from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from accounts.choices import Category
from accounts.models import Brand, KolCertification, Notification, User
from accounts.selectors import USER_SUMMARY_COLUMNS
from config.api.files import file_url
from config.api.renderers import datetime_out
from config.db import prefixed


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know instead of silently dropping them (no mass assignment)."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = set(data.keys()) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be set."] for name in sorted(unknown)}
                )
        return super().to_internal_value(data)


class UserSummaryOut(serializers.Serializer):
    """A user as shown in lists, mentions and author cards."""

    username = serializers.CharField()
    nickname = serializers.CharField(source="display_name")
    avatar = serializers.ImageField(allow_null=True, use_url=True)
    is_kol_certified = serializers.BooleanField()
    follower_count = serializers.IntegerField()
    is_following = serializers.BooleanField(source="viewer_is_following", default=False)
    follows_you = serializers.BooleanField(source="viewer_is_followed_by", default=False)
    is_requested = serializers.BooleanField(source="viewer_has_requested", default=False)


def user_summary_of_row(request, row: dict, prefix: str, **flags: bool) -> dict:
    """:func:`user_summary_of` from a row read through a relation (``prefix``, e.g. ``author__``, then
    :data:`accounts.selectors.USER_SUMMARY_COLUMNS`), with the viewer's ``flags``."""
    return user_summary_of(request, *map(row.__getitem__, prefixed(prefix, USER_SUMMARY_COLUMNS)), **flags)


def user_summary_row(user: User, prefix: str) -> dict:
    """``user``'s :data:`~accounts.selectors.USER_SUMMARY_COLUMNS` as a row read through a relation
    would hold them (the avatar as its file's name), for :func:`user_summary_of_row`."""
    return {
        prefix + column: user.avatar.name if column == "avatar" else getattr(user, column)
        for column in USER_SUMMARY_COLUMNS
    }


def user_summary_of(
    request,
    username: str,
    nickname: str,
    avatar: str,
    is_kol_certified: bool,
    follower_count: int,
    *,
    is_following: bool = False,
    follows_you: bool = False,
    is_requested: bool = False,
) -> dict:
    """``UserSummaryOut``'s dict written directly, for the hottest lists (note cards, comments): the
    same keys and values from column values (``avatar`` is the stored file's name, or empty), given in
    :data:`~accounts.selectors.USER_SUMMARY_COLUMNS`' order."""
    return {
        "username": username,
        "nickname": nickname or username,
        "avatar": file_url(avatar, request) if avatar else None,
        "is_kol_certified": bool(is_kol_certified),
        "follower_count": follower_count,
        "is_following": bool(is_following),
        "follows_you": bool(follows_you),
        "is_requested": bool(is_requested),
    }


class ProfileOut(UserSummaryOut):
    """A public profile."""

    bio = serializers.CharField()
    gender = serializers.CharField()
    city = serializers.CharField()
    is_private = serializers.BooleanField()
    hide_collects = serializers.BooleanField()
    following_count = serializers.IntegerField()
    note_count = serializers.IntegerField(
        help_text="Published notes: the public ones, with the followers-only ones when you follow "
        "them, and all of them on your own profile (a private account shows this count to anyone "
        "and its notes to its followers)."
    )
    like_collect_count = serializers.IntegerField()
    date_joined = serializers.DateTimeField()

    # Written as one dict (the most read page after the feeds); the fields above are the schema.
    _AS_IS = (
        "bio",
        "gender",
        "city",
        "is_private",
        "hide_collects",
        "following_count",
        "like_collect_count",
    )

    def to_representation(self, user: User) -> dict:
        request = self.context.get("request")
        is_following = getattr(user, "viewer_is_following", False)
        summary = user_summary_of(
            request,
            **user_summary_row(user, ""),
            is_following=is_following,
            follows_you=getattr(user, "viewer_is_followed_by", False),
            is_requested=getattr(user, "viewer_has_requested", False),
        )
        viewer = getattr(request, "user", None)
        if viewer is not None and viewer.pk == user.pk:
            note_count = user.note_count
        elif is_following:
            note_count = user.public_note_count + user.followers_note_count
        else:
            note_count = user.public_note_count
        return {
            **summary,
            **{name: getattr(user, name) for name in self._AS_IS},
            "note_count": note_count,
            "date_joined": datetime_out(user.date_joined),
        }


class MeOut(serializers.Serializer):
    """Your own profile, with private settings."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    nickname = serializers.CharField()
    avatar = serializers.ImageField(allow_null=True, use_url=True)
    bio = serializers.CharField()
    gender = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    city = serializers.CharField()
    interests = serializers.ListField(child=serializers.CharField())
    is_private = serializers.BooleanField()
    hide_collects = serializers.BooleanField()
    comment_permission = serializers.CharField()
    mention_permission = serializers.CharField()
    is_kol_certified = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    follower_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    note_count = serializers.IntegerField()
    like_collect_count = serializers.IntegerField()
    date_joined = serializers.DateTimeField()


class MeIn(StrictSerializer):
    """What you may change on your profile. Anything else (flags, counters, username) is a 400."""

    nickname = serializers.CharField(max_length=40, allow_blank=False, required=False)
    bio = serializers.CharField(max_length=300, allow_blank=True, required=False)
    gender = serializers.ChoiceField(choices=User._meta.get_field("gender").choices, required=False)
    birthday = serializers.DateField(allow_null=True, required=False)
    city = serializers.CharField(max_length=64, allow_blank=True, required=False)
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), max_length=len(Category), required=False
    )
    is_private = serializers.BooleanField(required=False)
    hide_collects = serializers.BooleanField(required=False)
    comment_permission = serializers.ChoiceField(
        choices=User._meta.get_field("comment_permission").choices, required=False
    )
    mention_permission = serializers.ChoiceField(
        choices=User._meta.get_field("mention_permission").choices, required=False
    )
    avatar = serializers.FileField(
        required=False, write_only=True, help_text="JPEG, PNG, WebP or GIF; cropped square."
    )

    def validate_birthday(self, value):
        from django.utils import timezone

        if value and value > timezone.localdate():
            raise serializers.ValidationError("A birthday cannot be in the future.")
        return value


class FollowStateOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=["none", "following", "requested"])
    changed = serializers.BooleanField()
    follower_count = serializers.IntegerField(help_text="The followed user's follower count now.")


class BlockStateOut(serializers.Serializer):
    blocked = serializers.BooleanField()
    changed = serializers.BooleanField()


class NotificationOut(serializers.ModelSerializer):
    actor = UserSummaryOut(allow_null=True)
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "verb", "actor", "target_type", "target_id", "text", "created_at", "is_read"]

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationsReadIn(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=500,
        help_text="Mark only these; omit to mark everything read.",
    )


class NotificationsReadOut(serializers.Serializer):
    marked = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class CertificationIn(StrictSerializer):
    real_name = serializers.CharField(max_length=64)
    category = serializers.ChoiceField(choices=Category.choices)
    statement = serializers.CharField(max_length=2000)
    portfolio_url = serializers.URLField(required=False, allow_blank=True)


class CertificationOut(serializers.ModelSerializer):
    class Meta:
        model = KolCertification
        fields = [
            "id",
            "real_name",
            "category",
            "statement",
            "portfolio_url",
            "status",
            "decision_reason",
            "reviewed_at",
            "created_at",
        ]


class BrandIn(StrictSerializer):
    name = serializers.CharField(max_length=80)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    website = serializers.URLField(required=False, allow_blank=True)
    business_license = serializers.CharField(max_length=64)


class BrandOut(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Brand
        fields = ["slug", "name", "description", "website", "owner", "status", "created_at"]


class BrandOwnerOut(BrandOut):
    """What the owner (and staff) see of their own brand."""

    class Meta(BrandOut.Meta):
        fields = [*BrandOut.Meta.fields, "business_license", "decision_reason", "reviewed_at"]


# The brand page's schema: one shape whose owner-only fields are optional. As ``oneOf`` the two
# serializers, an owner's page was valid under both, which ``oneOf`` forbids (found by fuzzing).
@extend_schema_serializer(component_name="BrandPage")
class BrandPageOut(BrandOwnerOut):
    """A brand page. Its owner and staff also get the registration and review details."""

    class Meta(BrandOwnerOut.Meta):
        extra_kwargs = {
            name: {"required": False, "help_text": "Its owner and staff only."}
            for name in BrandOwnerOut.Meta.fields
            if name not in BrandOut.Meta.fields
        }
