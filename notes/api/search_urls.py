from django.urls import path

from notes.api import search

urlpatterns = [
    path("search", search.SearchView.as_view(), name="search"),
    path("search/suggest", search.SuggestView.as_view(), name="search-suggest"),
    path("search/history", search.SearchHistoryView.as_view(), name="search-history"),
    path("search/hot", search.HotSearchesView.as_view(), name="search-hot"),
]
