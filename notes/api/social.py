"""Comments, boards and collects: serializers and views.

Views resolve what the viewer may see with a selector (404 otherwise), validate input with an
``*In`` serializer, call one service and answer with an explicit ``*Out`` serializer.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.api.serializers import StrictSerializer, UserSummaryOut, user_summary_of_row, user_summary_row
from accounts.selectors import user_get_visible
from config.api.pagination import CursorPagination
from config.api.renderers import datetime_out
from notes import selectors_social as selectors
from notes.api.media import MediaOut
from notes.api.serializers import NoteCardLeanOut, NoteCardOut
from notes.models import Board, Note
from notes.services import boards as board_services
from notes.services import comments as comment_services
from notes.services.comments import BODY_MAX

# --- Serializers ---------------------------------------------------------------------------------


class CommentIn(StrictSerializer):
    body = serializers.CharField(max_length=BODY_MAX, help_text="1-1000 characters; @username mentions.")


class CommentOut(serializers.Serializer):
    """A comment or a reply. A deleted comment (kept as a placeholder while it has live replies)
    shows ``is_deleted: true`` with an empty body and no author."""

    # Rendered as one dict per comment (comments are read a lot); these fields are the schema.

    id = serializers.IntegerField()
    note = serializers.IntegerField(source="note_id")
    parent = serializers.IntegerField(source="parent_id", allow_null=True, help_text="The root comment.")
    body = serializers.CharField(read_only=True, help_text="Empty when deleted.")
    is_deleted = serializers.BooleanField(read_only=True)
    author = UserSummaryOut(allow_null=True, read_only=True, help_text="Null when deleted.")
    reply_to = serializers.CharField(
        allow_null=True, read_only=True, help_text="Username of the person answered."
    )
    like_count = serializers.IntegerField()
    reply_count = serializers.IntegerField()
    liked = serializers.BooleanField(source="viewer_liked", default=False, read_only=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, comment) -> dict:
        return comment_out(
            self.context.get("request"), comment if isinstance(comment, dict) else comment_row(comment)
        )


class CommentThreadOut(CommentOut):
    """A root comment with a preview of its first replies (all of them: ``comments/{id}/replies``)."""

    replies = CommentOut(many=True, read_only=True)

    def to_representation(self, comment) -> dict:
        request = self.context.get("request")
        row = comment if isinstance(comment, dict) else comment_row(comment)
        return {
            **comment_out(request, row),
            "replies": [comment_out(request, r) for r in row["reply_preview"]],
        }


def comment_out(request, row: dict) -> dict:
    """``CommentOut``'s dict from a comment row (``selectors.COMMENT_COLUMNS`` and flags)."""
    deleted = row["deleted_at"] is not None
    author = None
    if not deleted:
        author = user_summary_of_row(
            request,
            row,
            "author__",
            is_following=row.get("author_viewer_is_following", False),
            follows_you=row.get("author_viewer_is_followed_by", False),
            is_requested=row.get("author_viewer_has_requested", False),
        )
    return {
        "id": row["id"],
        "note": row["note_id"],
        "parent": row["parent_id"],
        "body": "" if deleted else row["body"],
        "is_deleted": deleted,
        "author": author,
        "reply_to": row["reply_to__username"],
        "like_count": row["like_count"],
        "reply_count": row["reply_count"],
        "liked": bool(row.get("viewer_liked", False)),
        "created_at": datetime_out(row["created_at"]),
    }


def comment_row(comment) -> dict:
    """A ``Comment`` from the selectors (author and ``reply_to`` joined, flags annotated) as a
    comment row, its ``reply_preview`` too."""
    return {
        **{column: getattr(comment, column) for column in selectors.COMMENT_COLUMNS if "__" not in column},
        "reply_to__username": comment.reply_to.username if comment.reply_to_id else None,
        **user_summary_row(comment.author, "author__"),
        **{flag: getattr(comment, flag) for flag in selectors.COMMENT_FLAGS if hasattr(comment, flag)},
        "reply_preview": [comment_row(reply) for reply in getattr(comment, "reply_preview", [])],
    }


class CommentLikeOut(serializers.Serializer):
    active = serializers.BooleanField(help_text="Whether you like the comment now.")
    changed = serializers.BooleanField(help_text="False when the call repeated the current state.")
    like_count = serializers.IntegerField(source="count")


class PinIn(StrictSerializer):
    comment = serializers.IntegerField(min_value=1, help_text="A top-level comment of this note.")


class BoardIn(StrictSerializer):
    name = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    is_private = serializers.BooleanField(required=False, default=False)


class BoardUpdateIn(StrictSerializer):
    name = serializers.CharField(max_length=40, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    is_private = serializers.BooleanField(required=False)


class BoardOut(serializers.ModelSerializer):
    """A board; ``cover`` is the cover of its most recently collected note you may see."""

    owner = serializers.CharField(source="owner.username")
    cover = MediaOut(allow_null=True, default=None, read_only=True)

    class Meta:
        model = Board
        fields = [
            "id",
            "name",
            "description",
            "is_private",
            "is_default",
            "note_count",
            "cover",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CollectedNoteOut(NoteCardLeanOut):
    """A note card in a board or collects list, with when it was collected."""

    collected_at = serializers.DateTimeField()

    class Meta(NoteCardOut.Meta):
        fields = [*NoteCardOut.Meta.fields, "collected_at"]

    def to_representation(self, note: dict) -> dict:
        # Not through ``self.fields``: asking for one field builds all of them (~0.3 ms a page).
        return {**self.card(note), "collected_at": datetime_out(note["collected_at"])}


# --- Pagination ----------------------------------------------------------------------------------


class CommentPagination(CursorPagination):
    """Newest root comments first. The first page also carries the pinned comment (``pinned``),
    which is then left out of ``results``."""

    pinned = None

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["pinned"] = self.pinned
        return response

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["pinned"] = {
            "allOf": [schema["items"]],
            "nullable": True,
            "description": "The pinned comment, on the first page only.",
        }
        out["required"].append("pinned")
        return out


class ReplyPagination(CursorPagination):
    """Replies read as a conversation: oldest first."""

    ordering = "id"


# --- Comments ------------------------------------------------------------------------------------


class NoteCommentsView(generics.ListAPIView):
    """A note's comments, newest first, each with its first replies; POST comments on the note."""

    serializer_class = CommentThreadOut
    pagination_class = CommentPagination
    user_copy = True  # a comment's writes use its author's id and settings, never the counters

    def list(self, request, note_id):
        note = selectors.note_for_comments(note_id=note_id, viewer=request.user)
        page = self.paginate_queryset(selectors.comments_for_note(note=note, viewer=request.user))
        page = selectors.comments_attach_replies(page, viewer=request.user)
        if not request.query_params.get(self.paginator.cursor_query_param):
            pinned = selectors.comment_pinned(note=note, viewer=request.user)
            self.paginator.pinned = self.get_serializer(pinned).data if pinned else None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CommentIn, responses={201: CommentThreadOut})
    def post(self, request, note_id):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        # The service reads the note (a 404 unless the viewer may see it, live). The answer is the
        # comment as created: by the viewer, so none of their flags is set, and without replies yet.
        comment = comment_services.comment_create(
            note=Note(pk=note_id), author=request.user, **data.validated_data
        )
        return Response(CommentThreadOut(comment, context={"request": request}).data, status=201)


class CommentRepliesView(generics.ListAPIView):
    """Replies under a root comment, oldest first; POST answers the comment (a root or a reply:
    the answer is filed under the same root and names the person answered)."""

    serializer_class = CommentOut
    pagination_class = ReplyPagination
    user_copy = True  # as NoteCommentsView

    def get_queryset(self):
        comment = selectors.comment_get_visible(
            comment_id=self.kwargs["comment_id"], viewer=self.request.user
        )
        return selectors.replies_for_comment(comment=comment, viewer=self.request.user)

    @extend_schema(request=CommentIn, responses={201: CommentOut})
    def post(self, request, comment_id):
        replied = selectors.comment_get_visible(comment_id=comment_id, viewer=request.user)
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        reply = comment_services.comment_create(
            note=replied.note, author=request.user, reply_to=replied, **data.validated_data
        )
        return Response(CommentOut(reply, context={"request": request}).data, status=201)


class CommentDetailView(generics.GenericAPIView):
    """One comment; DELETE by its author or the note's author (idempotent, soft), even across a
    block between the two."""

    serializer_class = CommentOut
    user_copy = True  # as NoteCommentsView

    def get(self, request, comment_id):
        comment = selectors.comment_get_visible(comment_id=comment_id, viewer=request.user)
        return Response(CommentOut(comment, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, comment_id):
        comment = selectors.comment_get_for_delete(comment_id=comment_id, user=request.user)
        comment_services.comment_delete(comment=comment, user=request.user)
        return Response(status=204)


class CommentLikeView(generics.GenericAPIView):
    """Like and unlike a comment; both are idempotent."""

    permission_classes = [IsAuthenticated]
    serializer_class = CommentLikeOut
    user_copy = True  # as NoteCommentsView

    @extend_schema(request=None, responses=CommentLikeOut)
    def post(self, request, comment_id):
        comment = selectors.comment_get_visible(comment_id=comment_id, viewer=request.user)
        return Response(
            CommentLikeOut(comment_services.comment_like(comment=comment, user=request.user)).data
        )

    @extend_schema(request=None, responses={200: CommentLikeOut})
    def delete(self, request, comment_id):
        comment = selectors.comment_get_visible(comment_id=comment_id, viewer=request.user)
        return Response(
            CommentLikeOut(comment_services.comment_unlike(comment=comment, user=request.user)).data
        )


class NotePinnedCommentView(generics.GenericAPIView):
    """The note's author pins one top-level comment (replacing any pinned one), or unpins it."""

    permission_classes = [IsAuthenticated]
    serializer_class = CommentThreadOut

    @extend_schema(request=PinIn, responses=CommentThreadOut)
    def post(self, request, note_id):
        note = selectors.note_for_comments(note_id=note_id, viewer=request.user)
        data = PinIn(data=request.data)
        data.is_valid(raise_exception=True)
        comment = selectors.comment_get_visible(
            comment_id=data.validated_data["comment"], viewer=request.user
        )
        note.pinned_comment = comment_services.comment_pin(note=note, comment=comment, user=request.user)
        pinned = selectors.comment_pinned(note=note, viewer=request.user)
        return Response(CommentThreadOut(pinned, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, note_id):
        note = selectors.note_for_comments(note_id=note_id, viewer=request.user)
        comment_services.comment_unpin(note=note, user=request.user)
        return Response(status=204)


# --- Boards and collects -------------------------------------------------------------------------


def _board_out(request, board_id: int) -> dict:
    board = selectors.board_get_visible(board_id=board_id, viewer=request.user)
    selectors.boards_attach_covers([board])
    return BoardOut(board, context={"request": request}).data


class BoardListView(generics.ListAPIView):
    """Your boards (private ones included), newest first; POST creates one."""

    permission_classes = [IsAuthenticated]
    serializer_class = BoardOut

    def list(self, request):
        page = self.paginate_queryset(selectors.boards_for_user(owner=request.user, viewer=request.user))
        boards = selectors.boards_attach_covers(page)
        return self.get_paginated_response(self.get_serializer(boards, many=True).data)

    @extend_schema(request=BoardIn, responses={201: BoardOut})
    def post(self, request):
        data = BoardIn(data=request.data)
        data.is_valid(raise_exception=True)
        board = board_services.board_create(owner=request.user, **data.validated_data)
        return Response(_board_out(request, board.pk), status=201)


class BoardDetailView(generics.GenericAPIView):
    """A board. Private boards, the boards of someone who hides their collects, and changes to
    anyone else's board are 404."""

    serializer_class = BoardOut

    def get(self, request, board_id):
        return Response(_board_out(request, board_id))

    @extend_schema(request=BoardUpdateIn, responses=BoardOut)
    def patch(self, request, board_id):
        board = selectors.board_get_for_owner(board_id=board_id, owner=request.user)
        data = BoardUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        board_services.board_update(board=board, user=request.user, data=dict(data.validated_data))
        return Response(_board_out(request, board_id))

    @extend_schema(responses={204: None})
    def delete(self, request, board_id):
        board = selectors.board_get_for_owner(board_id=board_id, owner=request.user)
        board_services.board_delete(board=board, user=request.user)
        return Response(status=204)


class CollectListView(generics.ListAPIView):
    """Note cards from collect rows, most recently collected first."""

    serializer_class = CollectedNoteOut

    def list(self, request, *args, **kwargs):
        notes = selectors.notes_from_collects(self.paginate_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(notes, many=True).data)


class BoardNotesView(CollectListView):
    """The notes in a board that you may see."""

    def get_queryset(self):
        board = selectors.board_get_visible(
            board_id=self.kwargs["board_id"], viewer=self.request.user, with_cover=False
        )
        return selectors.board_notes(board=board, viewer=self.request.user)


class UserCollectsView(CollectListView):
    """A profile's collects tab: 403 ``collects_hidden`` when the user hides it; others never see
    notes in private boards."""

    def get_queryset(self):
        owner = user_get_visible(username=self.kwargs["username"], viewer=self.request.user)
        return selectors.user_collects(owner=owner, viewer=self.request.user)


class UserBoardsView(generics.ListAPIView):
    """A profile's boards: the public ones (all of them on your own profile); 403
    ``collects_hidden`` when the user hides their collects, ``private_account`` for non-followers
    of a private account."""

    serializer_class = BoardOut

    def list(self, request, username):
        owner = user_get_visible(username=username, viewer=request.user)
        page = self.paginate_queryset(selectors.boards_for_user(owner=owner, viewer=request.user))
        boards = selectors.boards_attach_covers(page)
        return self.get_paginated_response(self.get_serializer(boards, many=True).data)
