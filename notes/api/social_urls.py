from django.urls import path

from notes.api import social as views

urlpatterns = [
    path("notes/<id:note_id>/comments", views.NoteCommentsView.as_view(), name="note-comments"),
    path(
        "notes/<id:note_id>/pinned-comment",
        views.NotePinnedCommentView.as_view(),
        name="note-pinned-comment",
    ),
    path("comments/<id:comment_id>", views.CommentDetailView.as_view(), name="comment-detail"),
    path("comments/<id:comment_id>/replies", views.CommentRepliesView.as_view(), name="comment-replies"),
    path("comments/<id:comment_id>/like", views.CommentLikeView.as_view(), name="comment-like"),
    path("boards", views.BoardListView.as_view(), name="boards"),
    path("boards/<id:board_id>", views.BoardDetailView.as_view(), name="board-detail"),
    path("boards/<id:board_id>/notes", views.BoardNotesView.as_view(), name="board-notes"),
    path("users/<text:username>/boards", views.UserBoardsView.as_view(), name="user-boards"),
    path("users/<text:username>/collects", views.UserCollectsView.as_view(), name="user-collects"),
]
