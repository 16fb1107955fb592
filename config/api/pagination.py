"""The API's two paginations, with one page shape ``{"results", "next", "previous"}``.

``CursorPagination`` (the default) is keyset pagination: stable under inserts, opaque cursors.
``RankedPagination`` is for orders recomputed on every request (relevance, popularity, rating),
where no column can carry a keyset cursor.
"""

from base64 import b64decode, b64encode

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

#: How deep a ranked order pages by default: past this, people refine their query instead.
RANKED_MAX_RESULTS = 1000


class PageShape:
    """The one page shape every list answers with."""

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()})

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {"results": schema, "next": link, "previous": link},
        }


class CursorPagination(PageShape, pagination.CursorPagination):
    page_size = settings.API_PAGE_SIZE
    max_page_size = settings.API_MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    ordering = "-id"


class RankedPagination(PageShape, pagination.BasePagination):
    """Offset pages behind an opaque cursor, capped at ``max_results`` rows. Fetches one row more
    than the page to know whether there is a next page (no COUNT)."""

    page_size = settings.API_PAGE_SIZE
    max_page_size = settings.API_MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def __init__(self, max_results: int = RANKED_MAX_RESULTS):
        self.max_results = max_results

    def _decode(self, request) -> int:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return 0
        try:
            offset = int(b64decode(encoded.encode("ascii"), validate=True).decode("ascii").removeprefix("o="))
        except (ValueError, UnicodeError):
            raise NotFound("Invalid cursor") from None
        if not 0 <= offset < self.max_results:
            raise NotFound("Invalid cursor")
        return offset

    def _link(self, offset: int) -> str:
        if offset <= 0:
            return remove_query_param(self.base_url, self.cursor_query_param)
        cursor = b64encode(f"o={offset}".encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_page_size(self, request) -> int:
        try:
            size = int(request.query_params[self.page_size_query_param])
        except (KeyError, ValueError):
            return self.page_size
        return min(size, self.max_page_size) if size > 0 else self.page_size

    def rows_wanted(self, request) -> int:
        """How many rows, from the first, :meth:`paginate_queryset` cuts this page from (for a
        search that reads no more than that)."""
        offset = self._decode(request)
        return offset + min(self.get_page_size(request), self.max_results - offset) + 1

    def paginate_queryset(self, queryset, request, view=None):
        self.base_url = request.build_absolute_uri()
        self.offset = self._decode(request)
        self.requested_size = self.get_page_size(request)
        self.size = min(self.requested_size, self.max_results - self.offset)
        rows = list(queryset[self.offset : self.offset + self.size + 1])
        self.has_next = len(rows) > self.size and self.offset + self.size < self.max_results
        return rows[: self.size]

    def get_next_link(self):
        return self._link(self.offset + self.size) if self.has_next else None

    def get_previous_link(self):
        return self._link(self.offset - self.requested_size) if self.offset > 0 else None

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from `next`/`previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"1-{self.max_page_size}, default {self.page_size}.",
                "schema": {"type": "integer"},
            },
        ]
