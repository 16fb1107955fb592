from django.urls import path

from notes.api import feeds as views

urlpatterns = [
    path("feed/following", views.FollowingFeedView.as_view(), name="feed-following"),
    path("feed/discover", views.DiscoverFeedView.as_view(), name="feed-discover"),
    path("feed/nearby", views.NearbyFeedView.as_view(), name="feed-nearby"),
    path(
        "notes/<id:note_id>/not-interested",
        views.NoteNotInterestedView.as_view(),
        name="note-not-interested",
    ),
]
