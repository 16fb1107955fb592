from django.urls import path

from notes.api import social as views

urlpatterns = [
    path("notes/<int:note_id>/comments", views.NoteCommentsView.as_view(), name="note-comments"),
    path(
        "notes/<int:note_id>/pinned-comment",
        views.NotePinnedCommentView.as_view(),
        name="note-pinned-comment",
    ),
    path("comments/<int:comment_id>", views.CommentDetailView.as_view(), name="comment-detail"),
    path("comments/<int:comment_id>/replies", views.CommentRepliesView.as_view(), name="comment-replies"),
    path("comments/<int:comment_id>/like", views.CommentLikeView.as_view(), name="comment-like"),
    path("boards", views.BoardListView.as_view(), name="boards"),
    path("boards/<int:board_id>", views.BoardDetailView.as_view(), name="board-detail"),
    path("boards/<int:board_id>/notes", views.BoardNotesView.as_view(), name="board-notes"),
    path("users/<text:username>/boards", views.UserBoardsView.as_view(), name="user-boards"),
    path("users/<text:username>/collects", views.UserCollectsView.as_view(), name="user-collects"),
]
