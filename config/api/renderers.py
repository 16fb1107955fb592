"""The API's JSON renderer: DRF's output, written by orjson (5-10x faster on a page of cards).

Types orjson does not know (``Decimal``, lazy strings, ``datetime`` outside a serializer field, ...)
go through DRF's own encoder, so the bytes match ``rest_framework.renderers.JSONRenderer``'s, except
that a float in exponent form is written shorter (``1e-7``, not ``1e-07``). An ``indent`` asked for
in the Accept header falls back to DRF's renderer.
"""

from __future__ import annotations

import re
from datetime import datetime

import orjson
from django.utils import timezone
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
#: U+2028 and U+2029 in UTF-8, and their escapes. One pattern, searched for in one pass: two
#: ``in`` tests of a 17 kB page took 21 us (a three-byte needle is slow over Chinese text, whose
#: continuation bytes keep matching its last byte); the pattern's search, 4 us.
_LINE_SEPARATOR = re.compile(b"\xe2\x80[\xa8\xa9]")
_ESCAPED = {b"\xe2\x80\xa8": b"\\u2028", b"\xe2\x80\xa9": b"\\u2029"}


class FastJSONRenderer(JSONRenderer):
    _default = staticmethod(JSONEncoder().default)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        content = orjson.dumps(data, default=self._default, option=_OPTIONS)
        # As DRF does: U+2028/2029 are valid JSON but end a line in JavaScript.
        if _LINE_SEPARATOR.search(content):
            content = _LINE_SEPARATOR.sub(lambda match: _ESCAPED[match[0]], content)
        return content


class Negotiation(DefaultContentNegotiation):
    """DRF's negotiation parses the ``Accept`` header of every request. With one renderer (the API
    outside ``DEBUG``) and a request that names no format and accepts anything or plain JSON, which
    is what clients send, the answer is known: that renderer, as DRF would pick it."""

    _PLAIN = frozenset({"*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            len(renderers) == 1
            and not format_suffix
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            and request.META.get("HTTP_ACCEPT", "*/*") in self._PLAIN
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


def datetime_out(value: datetime | None) -> str | None:
    """What DRF's ``DateTimeField`` writes for an aware ``value`` (ISO 8601 in the time zone, ``Z`` for
    UTC) without its per-call settings and time-zone lookups: lists render dozens. It uses the default
    time zone, ``TIME_ZONE``, as the app never activates another. orjson writes the same text as
    ``isoformat()`` in a fifth of the time (``isoformat`` was a quarter of a card page's rendering),
    except for an offset with seconds, which it rounds: those are local mean times, the last of them
    Liberia's, until 1972."""
    if value is None:
        return None
    local = value.astimezone(timezone.get_default_timezone())
    text = orjson.dumps(local)[1:-1].decode() if local.year > 1972 else local.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
