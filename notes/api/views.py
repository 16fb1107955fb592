from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_get_visible
from notes import selectors
from notes.api import serializers as s
from notes.choices import NoteStatus
from notes.models import Board, Note
from notes.services import interactions
from notes.services import notes as note_services
from notes.services.notes import Place


def _place(data: dict | None) -> Place | None:
    return Place(**data) if data else None


def _attachments(request, note: dict) -> dict:
    """The note's rendered attachments. A published note's are cached under a key that changes
    with every edit (``updated_at``), so only what the attachments point at (a product's price,
    a mentioned user's nickname) can lag, by ``NOTE_ATTACHMENTS_CACHE_SECONDS`` at most. Others
    (drafts, notes waiting for their media) are always read fresh."""
    context = {"request": request}
    if note["status"] != NoteStatus.PUBLISHED:
        return s.NoteAttachmentsOut(
            selectors.note_attachments_fetch(Note(pk=note["id"])), context=context
        ).data
    key = f"note:attachments:{note['id']}:{note['updated_at'].timestamp()}:{request.build_absolute_uri('/')}"
    data = cache.get(key)
    if data is None:
        data = s.NoteAttachmentsOut(
            selectors.note_attachments_fetch(Note(pk=note["id"])), context=context
        ).data
        cache.set(key, data, settings.NOTE_ATTACHMENTS_CACHE_SECONDS)
    return data


def _detail(request, note_id: int) -> Response:
    note = selectors.note_detail_get(note_id=note_id, viewer=request.user)
    return Response({**s.NoteCoreOut(note, context={"request": request}).data, **_attachments(request, note)})


class NoteCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.NoteIn, responses={201: s.NoteOut})
    def post(self, request):
        data = s.NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        note = note_services.note_create(
            author=request.user,
            media_ids=v["media"],
            title=v["title"],
            body=v["body"],
            cover_id=v["cover"],
            category=v["category"],
            visibility=v["visibility"],
            action=v["action"],
            publish_at=v["publish_at"],
            place=_place(v["place"]),
            ai_assisted=v["ai_assisted"],
            product_id=v["product"],
            rating=v["rating"],
            product_ids=v["products"],
        )
        response = _detail(request, note.pk)
        response.status_code = 201
        return response


class NoteDetailView(APIView):
    """A note. Others' drafts, private and hidden notes are 404, as are edits of others' notes."""

    @extend_schema(responses=s.NoteOut)
    def get(self, request, note_id):
        return _detail(request, note_id)

    @extend_schema(request=s.NoteUpdateIn, responses=s.NoteOut)
    def patch(self, request, note_id):
        note = selectors.note_get_for_author(note_id=note_id, author=request.user)
        data = s.NoteUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        note_services.note_update(
            note=note,
            editor=request.user,
            media_ids=v.pop("media", None),
            cover_id=v.pop("cover", None),
            place=_place(v.pop("place", None)) if "place" in v else None,
            action=v.pop("action", None),
            publish_at=v.pop("publish_at", None),
            review=(v.pop("product"), v.pop("rating")) if "product" in v else None,
            product_ids=v.pop("products", None),
            data=v,
        )
        return _detail(request, note_id)

    @extend_schema(responses={204: None})
    def delete(self, request, note_id):
        note = selectors.note_get_for_author(note_id=note_id, author=request.user)
        note_services.note_delete(note=note, user=request.user)
        return Response(status=204)


class NoteLikeView(APIView):
    permission_classes = [IsAuthenticated]
    user_copy = True  # the toggle uses the user's id alone (accounts.usercache)

    @extend_schema(request=None, responses=s.ToggleOut)
    def post(self, request, note_id):
        note = selectors.note_ref(note_id)
        return Response(s.ToggleOut(interactions.note_like(note=note, user=request.user)).data)

    @extend_schema(request=None, responses={200: s.ToggleOut})
    def delete(self, request, note_id):
        note = selectors.note_ref(note_id)
        return Response(s.ToggleOut(interactions.note_unlike(note=note, user=request.user)).data)


class NoteCollectView(APIView):
    """Collect into one of your boards (your default board when ``board`` is omitted)."""

    permission_classes = [IsAuthenticated]
    user_copy = True  # the toggle uses the user's id alone (accounts.usercache)

    @extend_schema(request=s.CollectIn, responses=s.ToggleOut)
    def post(self, request, note_id):
        note = selectors.note_ref(note_id)
        data = s.CollectIn(data=request.data)
        data.is_valid(raise_exception=True)
        board_id = data.validated_data["board"]
        board = generics.get_object_or_404(Board, pk=board_id, owner=request.user) if board_id else None
        return Response(
            s.ToggleOut(interactions.note_collect(note=note, user=request.user, board=board)).data
        )

    @extend_schema(request=None, responses={200: s.ToggleOut})
    def delete(self, request, note_id):
        note = selectors.note_ref(note_id)
        return Response(s.ToggleOut(interactions.note_uncollect(note=note, user=request.user)).data)


class NoteShareView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.ShareIn, responses=s.ShareOut)
    def post(self, request, note_id):
        note = selectors.note_get_for_interaction(note_id=note_id, viewer=request.user)
        data = s.ShareIn(data=request.data)
        data.is_valid(raise_exception=True)
        count = interactions.note_share(note=note, user=request.user, channel=data.validated_data["channel"])
        return Response(s.ShareOut({"share_count": count}).data)


class UserNotesView(generics.ListAPIView):
    """A profile's notes: what you may see of them, newest first."""

    serializer_class = s.NoteCardLeanOut

    def get_queryset(self):
        author = user_get_visible(username=self.kwargs["username"], viewer=self.request.user)
        return selectors.notes_by_author(author=author, viewer=self.request.user)


class TopicDetailView(APIView):
    @extend_schema(responses=s.TopicOut)
    def get(self, request, name):
        return Response(s.TopicOut(selectors.topic_get(name=name)).data)


class TopicNotesView(generics.ListAPIView):
    serializer_class = s.NoteCardLeanOut

    def get_queryset(self):
        topic = selectors.topic_get(name=self.kwargs["name"])
        return selectors.notes_of_topic(topic=topic, viewer=self.request.user)


class TrendingTopicsView(generics.ListAPIView):
    """Hot topics: pinned first, then the hottest over the trending window, then the most used;
    suppressed topics never show."""

    serializer_class = s.TrendingTopicOut
    pagination_class = None

    def get_queryset(self):
        return selectors.topics_trending()
