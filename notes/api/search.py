"""Search API: ``search``, ``search/suggest``, ``search/history``, ``search/hot``.

``GET search`` answers ``{"type", "results", "next", "previous"}`` whatever the type, ``results``
holding note cards, user summaries, product cards or topics. Paging: ``sort=latest`` is keyset
(cursor) pagination on the newest-first order, stable under inserts like every other list;
``relevance`` and ``popular`` orders are computed per request (a rank, live counters), so there the
opaque ``cursor`` carries an offset, capped at ``SEARCH_MAX_RESULTS`` results.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import UserSummaryOut
from config.api.pagination import CursorPagination, RankedPagination
from config.api.params import query_params
from notes.api.serializers import NoteCardLeanOut, NoteCardOut, TopicOut
from notes.choices import SearchSort, SearchType
from notes.models import Note
from notes.search import selectors
from notes.search import services as search_services
from notes.search.segmentation import MAX_QUERY_LENGTH
from shop.api.serializers import ProductCardLeanOut, ProductCardOut

RESULT_SERIALIZERS = {
    SearchType.NOTES: NoteCardLeanOut,
    SearchType.USERS: UserSummaryOut,
    SearchType.PRODUCTS: ProductCardLeanOut,
    SearchType.TOPICS: TopicOut,
}


class PageRows(list):
    """Rows the search already read in the paginator's order, past its position and no more than it
    slices (``selectors.Keyset``): ``CursorPagination.paginate_queryset`` has nothing left to order
    or filter, and slices them as it would the queryset."""

    def order_by(self, *fields) -> PageRows:
        return self

    def filter(self, **lookups) -> PageRows:
        return self


class SearchCursorPagination(CursorPagination):
    """The keyset pages of ``sort=latest``, which also tell a newest-first note search which rows
    the page is cut from, so that it reads only those (``selectors.search_notes_newest``)."""

    def keyset(self, request) -> selectors.Keyset:
        cursor = self.decode_cursor(request)  # a bad cursor is a 404 here, as in paginate_queryset
        offset, reverse, position = cursor if cursor is not None else (0, False, None)
        if position is not None:  # the str() of the last row's first ordering field
            field = Note._meta.get_field(self.ordering[0].lstrip("-"))
            try:
                position = field.to_python(position)
            except ValidationError:
                raise NotFound(self.invalid_cursor_message) from None
        count = offset + self.get_page_size(request) + 1  # the slice paginate_queryset takes
        return selectors.Keyset(position=position, reverse=reverse, count=count)


def _paginator(type_: str, sort: str):
    if sort != SearchSort.LATEST:
        return RankedPagination(max_results=settings.SEARCH_MAX_RESULTS)
    paginator = SearchCursorPagination()
    paginator.ordering = selectors.ORDERINGS[type_, sort]
    return paginator


class SearchIn(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, help_text="What to look for, Chinese or English.")
    type = serializers.ChoiceField(choices=SearchType.choices, default=SearchType.NOTES)
    sort = serializers.ChoiceField(choices=SearchSort.choices, default=SearchSort.RELEVANCE)


def _page(name: str, item: serializers.Serializer, kind: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "__doc__": f"A page of {kind} matching the query.",
            "type": serializers.ChoiceField(choices=[kind], help_text=f'Always "{kind}".'),
            "results": item,
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
        },
    )


SEARCH_PAGES = {
    SearchType.NOTES.value: _page("SearchNotesPage", NoteCardOut(many=True), "notes"),
    SearchType.USERS.value: _page("SearchUsersPage", UserSummaryOut(many=True), "users"),
    SearchType.PRODUCTS.value: _page("SearchProductsPage", ProductCardOut(many=True), "products"),
    SearchType.TOPICS.value: _page("SearchTopicsPage", TopicOut(many=True), "topics"),
}


class SearchView(APIView):
    """Search notes, users, products or topics. Results honour visibility and blocks; a signed-in
    user's first page is added to their search history."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            SearchIn,
            OpenApiParameter("cursor", str, description="Opaque position from `next`/`previous`."),
            OpenApiParameter("page_size", int, description=f"1-{settings.API_MAX_PAGE_SIZE}, default 20."),
        ],
        responses=PolymorphicProxySerializer(
            component_name="SearchPage",
            serializers=SEARCH_PAGES,
            resource_type_field_name="type",
        ),
    )
    def get(self, request):
        params = query_params(SearchIn, request)
        type_, sort, query = (params[k] for k in ("type", "sort", "q"))
        paginator = _paginator(type_, sort)
        if type_ == SearchType.NOTES and sort == SearchSort.LATEST:  # the busiest: card rows
            keyset = paginator.keyset(request)
            rows = selectors.search_notes_newest(query=query, viewer=request.user, keyset=keyset)
            page = paginator.paginate_queryset(PageRows(rows), request, view=self)
        elif type_ == SearchType.NOTES:  # ranked: card rows too, read up to the page's end
            rows = selectors.search_notes_ranked(
                query=query, sort=sort, viewer=request.user, count=paginator.rows_wanted(request)
            )
            page = paginator.paginate_queryset(rows, request, view=self)
        else:
            queryset = selectors.search(type=type_, query=query, sort=sort, viewer=request.user)
            page = paginator.paginate_queryset(queryset, request, view=self)
        if request.user.is_authenticated and paginator.cursor_query_param not in request.query_params:
            search_services.search_record(user_id=request.user.pk, query=query, found=bool(page))
        results = RESULT_SERIALIZERS[type_](page, many=True, context={"request": request}).data
        return Response(
            {
                "type": type_,
                "results": results,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
            }
        )


class SuggestIn(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, help_text="What has been typed so far.")


class SuggestionOut(serializers.Serializer):
    text = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["query", "topic"], help_text="A hot search to run, or a topic (shown with #)."
    )


class SuggestView(APIView):
    """Completions while typing: hot searches and topics that start with `q`."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[SuggestIn], responses=SuggestionOut(many=True))
    def get(self, request):
        suggestions = selectors.search_suggest(query=query_params(SuggestIn, request)["q"])
        return Response(SuggestionOut(suggestions, many=True).data)


class SearchHistoryOut(serializers.Serializer):
    query = serializers.CharField()
    searched_at = serializers.DateTimeField()


class SearchHistoryDeleteIn(serializers.Serializer):
    # Not trimmed or limited here: the service forgets the query as searching stored it.
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Forget only this query (else everything).",
    )


class SearchHistoryView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        description="Your own recent searches, distinct, newest first (at most `SEARCH_HISTORY_LIMIT`).",
        responses=SearchHistoryOut(many=True),
    )
    def get(self, request):
        rows = selectors.search_history_for(user=request.user)
        return Response(SearchHistoryOut(rows, many=True).data)

    @extend_schema(
        description="Clear your search history, or forget one query with `?q=`.",
        parameters=[SearchHistoryDeleteIn],
        responses={204: None},
    )
    def delete(self, request):
        query = query_params(SearchHistoryDeleteIn, request).get("q")
        search_services.search_history_delete(user=request.user, query=query)
        return Response(status=204)


class HotSearchOut(serializers.Serializer):
    rank = serializers.IntegerField()
    query = serializers.CharField()
    score = serializers.FloatField(help_text="Searches in the window, recent ones weighing more.")


class HotSearchesView(APIView):
    """The hot searches (热搜) as of the last roll-up, hottest first."""

    permission_classes = [AllowAny]

    @extend_schema(responses=HotSearchOut(many=True))
    def get(self, request):
        return Response(HotSearchOut(selectors.hot_searches(), many=True).data)
