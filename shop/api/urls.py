from django.urls import include, path

from shop.api import attribution

urlpatterns = [
    path("", include("shop.api.catalogue_urls")),
    path("shop/attribution/notes", attribution.AttributedNotesView.as_view(), name="shop-attribution-notes"),
    path(
        "shop/attribution/notes/<id:note_id>",
        attribution.NoteAttributionView.as_view(),
        name="shop-attribution-note",
    ),
]
