"""``GET feed/following``, ``feed/discover``, ``feed/nearby`` and ``POST notes/{id}/not-interested``.

Feeds are the hottest reads, so their cards are rendered by
:class:`notes.api.serializers.NoteCardLeanOut` (the same dict as ``NoteCardOut`` without DRF's
per-field machinery; a test checks both render alike).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.choices import Category
from config.api.params import query_params
from notes.api.serializers import NoteCardLeanOut, NoteCardOut
from notes.feeds import ads, services
from notes.feeds import selectors as feeds
from notes.feeds.selectors import FeedItem, FeedPage

# --- serializers ------------------------------------------------------------------------------------


class FeedCardOut(NoteCardLeanOut):
    """A note card in a feed (the same fields as everywhere else)."""

    def to_representation(self, item) -> dict:
        return self.card(item.note if isinstance(item, FeedItem) else item)


class DiscoverItemOut(FeedCardOut):
    """A discovery item: a note card, why it was picked, and whether it is a feed ad."""

    why = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "Up to three signals behind the pick, strongest first: `interest:<category>`, "
            "`topic:<name>`, `new`, `likes`, `collects`, `comments`, `shares`, `follows`, `engaging`, "
            "`trusted_author`."
        ),
    )
    sponsored = serializers.BooleanField(help_text="True for a feed ad, placed by the ads system.")

    class Meta(NoteCardOut.Meta):
        fields = [*NoteCardOut.Meta.fields, "why", "sponsored"]
        read_only_fields = fields

    def to_representation(self, item: FeedItem) -> dict:
        return {**self.card(item.note), "why": item.why, "sponsored": item.sponsored}


class NearbyItemOut(FeedCardOut):
    """A nearby note card with its distance."""

    distance_km = serializers.FloatField(help_text="From the point asked about, rounded to 10 m.")

    class Meta(NoteCardOut.Meta):
        fields = [*NoteCardOut.Meta.fields, "distance_km"]
        read_only_fields = fields

    def to_representation(self, item: FeedItem) -> dict:
        return {**self.card(item.note), "distance_km": item.distance_km}


def _page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "__doc__": "A page of a feed; follow `next` (null on the last page) for more.",
            "results": item(many=True),
            "next": serializers.URLField(allow_null=True),
        },
    )


FollowingPageOut = _page_of(FeedCardOut, "FollowingPageOut")
DiscoverPageOut = _page_of(DiscoverItemOut, "DiscoverPageOut")
NearbyPageOut = _page_of(NearbyItemOut, "NearbyPageOut")


class FeedQueryIn(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, default="", help_text="From `next`.")
    page_size = serializers.IntegerField(
        min_value=1, max_value=settings.API_MAX_PAGE_SIZE, required=False, default=settings.API_PAGE_SIZE
    )


class DiscoverQueryIn(FeedQueryIn):
    category = serializers.ChoiceField(
        choices=Category.choices, required=False, allow_blank=True, default="", help_text="A channel."
    )


class NearbyQueryIn(FeedQueryIn):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    radius_km = serializers.FloatField(
        min_value=0.1,
        max_value=settings.FEED_NEARBY_MAX_RADIUS_KM,
        required=False,
        default=settings.FEED_NEARBY_RADIUS_KM,
    )


class NotInterestedOut(serializers.Serializer):
    not_interested = serializers.BooleanField(help_text="Whether you have turned the note down now.")
    changed = serializers.BooleanField(help_text="False when the call repeated the current state.")


# --- views ------------------------------------------------------------------------------------------------


def _page(request, page: FeedPage, item: type[FeedCardOut], *, sponsored: bool = False) -> Response:
    results = item(page.items, many=True, context={"request": request}).data
    if sponsored and page.sponsored:
        results = ads.insert(results, page.sponsored)
    following = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
    return Response({"results": results, "next": following if page.next_cursor else None})


class FollowingFeedView(APIView):
    """Notes of the people you follow, newest first. Stable under new posts: a cursor never repeats
    or skips a note."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[FeedQueryIn], responses=FollowingPageOut)
    def get(self, request):
        q = query_params(FeedQueryIn, request)
        page = feeds.following_page(viewer=request.user, cursor=q["cursor"], limit=q["page_size"])
        return _page(request, page, FeedCardOut)


class DiscoverFeedView(APIView):
    """发现: ranked notes, personalised when you are signed in (interests, what you liked and
    collected, what you turned down), without notes you saw in the last days, few per author per
    page. `?category=` narrows to a channel. Feed ads are marked `sponsored`."""

    @extend_schema(parameters=[DiscoverQueryIn], responses=DiscoverPageOut)
    def get(self, request):
        q = query_params(DiscoverQueryIn, request)
        page = feeds.discover_page(
            viewer=request.user, category=q["category"] or None, cursor=q["cursor"], limit=q["page_size"]
        )
        return _page(request, page, DiscoverItemOut, sponsored=True)


class NearbyFeedView(APIView):
    """Notes with a place within `radius_km` (default 5, at most 50) of `lat`,`lng`, ranked by
    score and nearness."""

    @extend_schema(parameters=[NearbyQueryIn], responses=NearbyPageOut)
    def get(self, request):
        q = query_params(NearbyQueryIn, request)
        page = feeds.nearby_page(
            viewer=request.user,
            lat=q["lat"],
            lng=q["lng"],
            radius_km=q["radius_km"],
            cursor=q["cursor"],
            limit=q["page_size"],
        )
        return _page(request, page, NearbyItemOut)


class NoteNotInterestedView(APIView):
    """Tell the discovery feed you are not interested in a note: it will not come back, and its
    author and topics come less. DELETE takes it back. Both are idempotent."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotInterestedOut)
    def post(self, request, note_id):
        note = feeds.note_get_for_feedback(note_id=note_id, viewer=request.user)
        changed = services.note_not_interested(note=note, user=request.user)
        return Response(NotInterestedOut({"not_interested": True, "changed": changed}).data)

    @extend_schema(request=None, responses={200: NotInterestedOut})
    def delete(self, request, note_id):
        note = feeds.note_get_for_feedback(note_id=note_id, viewer=request.user)
        changed = services.note_not_interested_undo(note=note, user=request.user)
        return Response(NotInterestedOut({"not_interested": False, "changed": changed}).data)
