from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import StrictSerializer, UserSummaryOut, user_summary_of_row, user_summary_row
from accounts.choices import Category
from config.api.renderers import datetime_out
from config.db import prefixed
from notes.api.media import MediaOut, media_out
from notes.choices import PublishAction, Visibility
from notes.models import Note
from notes.selectors import CARD_COLUMNS, MEDIA_COLUMNS
from shop.api.serializers import ProductCardOut, product_card
from shop.selectors import MAX_TAGGED_PRODUCTS


class PlaceIO(serializers.Serializer):
    """A place; coordinates are rounded to ~100 m when stored."""

    name = serializers.CharField(max_length=80, allow_blank=True, required=False, default="")
    city = serializers.CharField(max_length=64, allow_blank=True, required=False, default="")
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if (attrs.get("lat") is None) != (attrs.get("lng") is None):
            raise serializers.ValidationError("Give both lat and lng, or neither.")
        return attrs


class NoteIn(StrictSerializer):
    """Create a note. ``action``: draft, publish (as soon as its media are ready) or schedule."""

    title = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")
    body = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    media = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=18)
    cover = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, required=False, default="")
    visibility = serializers.ChoiceField(
        choices=Visibility.choices, required=False, default=Visibility.PUBLIC
    )
    action = serializers.ChoiceField(
        choices=PublishAction.choices, required=False, default=PublishAction.PUBLISH
    )
    publish_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    place = PlaceIO(required=False, allow_null=True, default=None)
    ai_assisted = serializers.BooleanField(required=False, default=False)
    product = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="Makes the note a review."
    )
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True, default=None)
    products = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=MAX_TAGGED_PRODUCTS,
        required=False,
        default=list,
        help_text="Shop products tagged on the note.",
    )

    def validate(self, attrs):
        if not (attrs.get("title", "").strip() or attrs.get("body", "").strip()):
            raise serializers.ValidationError({"title": ["A note needs a title or a body."]})
        return attrs


class NoteUpdateIn(StrictSerializer):
    """Edit a note: every field is optional; ``media`` replaces the whole list."""

    title = serializers.CharField(max_length=100, allow_blank=True, required=False)
    body = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    media = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=18, required=False
    )
    cover = serializers.IntegerField(min_value=1, required=False)
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    action = serializers.ChoiceField(choices=PublishAction.choices, required=False)
    publish_at = serializers.DateTimeField(required=False, allow_null=True)
    place = PlaceIO(required=False, allow_null=True)
    ai_assisted = serializers.BooleanField(required=False)
    product = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    products = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=MAX_TAGGED_PRODUCTS, required=False
    )

    def validate(self, attrs):
        if ("product" in attrs) != ("rating" in attrs):
            raise serializers.ValidationError("Send product and rating together (null both to unset).")
        return attrs


class NoteCardOut(serializers.ModelSerializer):
    """A note as a card in a list or feed: cover, title, author, likes."""

    author = UserSummaryOut()
    cover = MediaOut(allow_null=True)
    liked = serializers.BooleanField(source="viewer_liked", default=False, read_only=True)
    collected = serializers.BooleanField(source="viewer_collected", default=False, read_only=True)

    class Meta:
        model = Note
        fields = [
            "id",
            "kind",
            "title",
            "cover",
            "author",
            "category",
            "like_count",
            "collect_count",
            "comment_count",
            "liked",
            "collected",
            "published_at",
        ]
        read_only_fields = fields


class NoteCardLeanOut(NoteCardOut):
    """``NoteCardOut`` written as one dict, without DRF's per-field machinery: the card of every
    list the app reads most (feeds, search, profiles, boards, topics). It renders a ``Note`` (from
    ``notes_for_cards``) or a card row (from ``note_cards``) alike. Its declared fields are still
    ``NoteCardOut``'s, so the OpenAPI schema stays the contract."""

    def card(self, note) -> dict:
        return note_card(self.context.get("request"), note if isinstance(note, dict) else card_row(note))

    def to_representation(self, note) -> dict:
        return self.card(note)


#: The cover's columns in a card row, in ``media_out``'s order.
_COVER_KEYS = prefixed("cover__", MEDIA_COLUMNS)


def note_card(request, row: dict) -> dict:
    """``NoteCardOut``'s dict from a card row (:data:`notes.selectors.CARD_COLUMNS` and flags)."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "title": row["title"],
        "cover": (
            media_out(request, *map(row.__getitem__, _COVER_KEYS)) if row["cover__id"] is not None else None
        ),
        "author": user_summary_of_row(
            request, row, "author__", is_following=row.get("author_followed", False)
        ),
        "category": row["category"],
        "like_count": row["like_count"],
        "collect_count": row["collect_count"],
        "comment_count": row["comment_count"],
        "liked": bool(row.get("viewer_liked", False)),
        "collected": bool(row.get("viewer_collected", False)),
        "published_at": datetime_out(row["published_at"]),
    }


def card_row(note: Note) -> dict:
    """A ``Note`` shaped like ``notes_for_cards`` as a card row, for :func:`note_card`."""
    author, cover = note.author, note.cover
    return {
        **{column: getattr(note, column) for column in CARD_COLUMNS if "__" not in column},
        **user_summary_row(author, "author__"),
        **{f"cover__{column}": getattr(cover, column, None) for column in MEDIA_COLUMNS},
        "viewer_liked": getattr(note, "viewer_liked", False),
        "viewer_collected": getattr(note, "viewer_collected", False),
        "author_followed": getattr(author, "viewer_is_following", False),
    }


class TopicRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MentionOut(serializers.Serializer):
    username = serializers.CharField()
    nickname = serializers.CharField(source="display_name")


class NoteAttachmentsOut(serializers.Serializer):
    """What a note's page shows besides its card and text: media, topics, mentions, tagged products
    (read from the relations :data:`notes.selectors.NOTE_ATTACHMENTS` fetches)."""

    media = serializers.SerializerMethodField()
    topics = TopicRefOut(many=True)
    mentions = MentionOut(many=True)
    products = serializers.SerializerMethodField()

    @extend_schema_field(MediaOut(many=True))
    def get_media(self, note):
        return MediaOut([nm.media for nm in note.note_media.all()], many=True, context=self.context).data

    @extend_schema_field(ProductCardOut(many=True))
    def get_products(self, note):
        request = self.context.get("request")
        return [product_card(request, tag.product) for tag in note.product_tags.all()]


class NoteCoreOut(NoteCardOut):
    """The note detail page without its attachments."""

    body = serializers.CharField()
    place = serializers.SerializerMethodField()
    product = ProductCardOut(allow_null=True)

    class Meta(NoteCardOut.Meta):
        fields = [
            *NoteCardOut.Meta.fields,
            "body",
            "place",
            "visibility",
            "status",
            "publish_at",
            "ai_assisted",
            "product",
            "rating",
            "is_verified_purchase",
            "share_count",
            "pinned_comment_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PlaceIO(allow_null=True))
    def get_place(self, note):  # the schema's; rendering is note_core's
        raise NotImplementedError

    def to_representation(self, row: dict) -> dict:
        return note_core(self.context.get("request"), row)


def note_core(request, row: dict) -> dict:
    """``NoteCoreOut``'s dict from a row of ``notes.selectors.note_detail_get``."""
    lat, lng = row["lat"], row["lng"]
    place = None
    if row["place_name"] or row["place_city"] or lat is not None:
        place = {
            "name": row["place_name"],
            "city": row["place_city"],
            "lat": float(lat) if lat is not None else None,
            "lng": float(lng) if lng is not None else None,
        }
    product = row["product"]
    return {
        **note_card(request, row),
        "body": row["body"],
        "place": place,
        "visibility": row["visibility"],
        "status": row["status"],
        "publish_at": datetime_out(row["publish_at"]),
        "ai_assisted": row["ai_assisted"],
        "product": product_card(request, product) if product is not None else None,
        "rating": row["rating"],
        "is_verified_purchase": row["is_verified_purchase"],
        "share_count": row["share_count"],
        "pinned_comment_id": row["pinned_comment_id"],
        "created_at": datetime_out(row["created_at"]),
        "updated_at": datetime_out(row["updated_at"]),
    }


class NoteOut(NoteCoreOut, NoteAttachmentsOut):
    """The note detail page."""

    class Meta(NoteCoreOut.Meta):
        fields = [*NoteCoreOut.Meta.fields, "media", "topics", "mentions", "products"]
        read_only_fields = fields


class ToggleOut(serializers.Serializer):
    active = serializers.BooleanField(help_text="Whether you like/collect the note now.")
    changed = serializers.BooleanField(help_text="False when the call repeated the current state.")
    count = serializers.IntegerField(help_text="The note's like or collect count now.")

    def to_representation(self, result) -> dict:
        """Written out: the reply to every like and collect (the fields stay the schema)."""
        return {"active": result.active, "changed": result.changed, "count": result.count}


class CollectIn(StrictSerializer):
    board = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class ShareIn(StrictSerializer):
    channel = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class ShareOut(serializers.Serializer):
    share_count = serializers.IntegerField()


class TopicOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    note_count = serializers.IntegerField()
    is_pinned = serializers.BooleanField()


class TrendingTopicOut(TopicOut):
    heat = serializers.FloatField(
        source="heat_score", help_text="Use in live notes over the trending window, recent use weighing more."
    )
