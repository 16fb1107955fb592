from django.urls import path

from notes.api import media

urlpatterns = [
    path("media", media.MediaUploadView.as_view(), name="media"),
    path("media/<id:media_id>", media.MediaDetailView.as_view(), name="media-detail"),
]
