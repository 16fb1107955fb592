"""Middleware of our own."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware


class PageMessageMiddleware(MessageMiddleware):
    """Django's messages (the notices the admin's actions leave for the next page), not set up for
    the API: nothing under ``/api/`` stores or shows one, and building their storage (a cookie
    signer and the session's, per request) was a tenth of the CPU of a bare request. The admin's
    system check accepts this subclass in place of Django's."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)
