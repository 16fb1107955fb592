from django.urls import include, path

from notes.api import reports, views

# The busiest paths first: Django tries the patterns in order on every request.
urlpatterns = [
    path("", include("notes.api.feeds_urls")),
    path("notes/<id:note_id>", views.NoteDetailView.as_view(), name="note-detail"),
    path("notes/<id:note_id>/like", views.NoteLikeView.as_view(), name="note-like"),
    path("notes/<id:note_id>/collect", views.NoteCollectView.as_view(), name="note-collect"),
    path("", include("notes.api.social_urls")),
    path("", include("notes.api.search_urls")),
    path("notes", views.NoteCreateView.as_view(), name="notes"),
    path("notes/<id:note_id>/share", views.NoteShareView.as_view(), name="note-share"),
    path("users/<text:username>/notes", views.UserNotesView.as_view(), name="user-notes"),
    path("topics/trending", views.TrendingTopicsView.as_view(), name="topics-trending"),
    path("topics/<text:name>", views.TopicDetailView.as_view(), name="topic-detail"),
    path("topics/<text:name>/notes", views.TopicNotesView.as_view(), name="topic-notes"),
    path("", include("notes.api.media_urls")),
    path("reports", reports.ReportCreateView.as_view(), name="reports"),
]
