"""The API's orjson renderer writes the same bytes as DRF's JSONRenderer (floats below 1e-4 aside:
the same number, written shorter)."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from config.api.renderers import FastJSONRenderer
from notes.choices import Visibility

PAYLOAD = {
    "text": '春日穿搭分享 \u2028 \u2029 "quoted" \\ </script>',
    "enum": Visibility.FOLLOWERS,
    "price": Decimal("12.30"),
    "lazy": gettext_lazy("Invalid cursor."),
    "when": datetime.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=datetime.UTC),
    "day": datetime.date(2026, 12, 1),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "numbers": [0, -1, 2**53, 1.5, 0.7501, 1e16, True, False, None],
    "nested": {"results": [{"a": 1}], "next": None},
    "empty": {},
}


def test_renders_byte_for_byte_like_drf():
    assert FastJSONRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


def test_tiny_floats_are_the_same_number_in_a_shorter_form():
    content = FastJSONRenderer().render({"x": 1e-7})
    assert content == b'{"x":1e-7}'  # DRF (the json module) writes 1e-07
    assert json.loads(content) == json.loads(JSONRenderer().render({"x": 1e-7}))


def test_indent_and_none_follow_drf():
    indented = "application/json; indent=2"
    assert FastJSONRenderer().render(PAYLOAD, indented, {}) == JSONRenderer().render(PAYLOAD, indented, {})
    assert FastJSONRenderer().render(None) == b""
