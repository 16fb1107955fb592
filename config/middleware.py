"""Middleware of our own."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList


class PageMessageMiddleware(MessageMiddleware):
    """Django's messages (the notices the admin's actions leave for the next page), not set up for
    the API: nothing under ``/api/`` stores or shows one, and building their storage (a cookie
    signer and the session's, per request) was a tenth of the CPU of a bare request. The admin's
    system check accepts this subclass in place of Django's."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)


class ReleaseRequestMiddleware:
    """Breaks the reference cycles a request leaves behind once its response is rendered, so its
    objects are freed at once instead of by the cyclic collector.

    Django's and DRF's request handling link objects both ways: the API view holds DRF's request
    and the response, whose ``parser_context`` and ``renderer_context`` hold the view (DRF's
    request even holds itself); a list serializer and its child hold each other, and the answer
    (``ReturnList``/``ReturnDict``) holds its serializer; Django's ``request.auser`` holds the
    request. Everything these reach (the page's rows and cards: 70-100 objects on a detail page,
    100-290 on a list page) was left to the collector: a young collection every 3-4 feed pages, and
    what was alive at that moment aged into older generations whose collections paused a thread
    for 2-30 ms. Measured at M, following feed, 1 connection: collection time 0.14-0.22 ms of ~1.5
    ms of CPU per page.

    The first middleware, so it runs last: the response is rendered by then, and nothing after it
    reads these links (the answer's ``data`` stays, for tests)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        request.__dict__.pop("auser", None)
        context = getattr(response, "renderer_context", None)
        if context:
            response.renderer_context = None
            view, api_request = context.get("view"), context.get("request")
            if api_request is not None:
                api_request.parser_context = None
            if view is not None:
                view.__dict__.clear()
            _release_serializers(getattr(response, "data", None))
        return response


def _release_serializers(data) -> None:
    """Unlinks the serializers of a DRF answer: ``data`` itself, or the values of a page's dict."""
    for part in (data, *data.values()) if isinstance(data, dict) else (data,):
        serializer = getattr(part, "serializer", None)
        if isinstance(part, ReturnDict | ReturnList) and serializer is not None:
            serializer.__dict__.clear()
