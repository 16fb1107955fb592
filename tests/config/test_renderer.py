"""The API's orjson renderer writes the same bytes as DRF's JSONRenderer (floats below 1e-4 aside:
the same number, written shorter)."""

from __future__ import annotations

import datetime
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.utils.translation import gettext_lazy
from psycopg.postgres import types
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from config.api.renderers import FastJSONRenderer, datetime_out
from config.db import _c_timestamp_loader
from notes.choices import Visibility

TIMESTAMPTZ_OID = types["timestamptz"].oid

PAYLOAD = {
    # U+2028/2029 are escaped; “”… share their first two UTF-8 bytes and are not.
    "text": '春日穿搭分享 \u2028 \u2029“引号”…\u2029 "quoted" \\ </script>',
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


def test_datetime_out_writes_what_drf_writes(settings):
    drf = serializers.DateTimeField()
    moments = [
        datetime.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 1, 23, 59, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC).replace(year=2),
        datetime.datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        datetime.datetime(1990, 7, 1, 12, 0, 0, 1, tzinfo=datetime.UTC),  # summer time in China
        datetime.datetime(1960, 1, 1, tzinfo=datetime.UTC),  # Monrovia: -00:44:30
        datetime.datetime(9999, 12, 31, 12, tzinfo=datetime.UTC),
    ]
    # Offsets with seconds (local mean time) are written by isoformat(), the rest by orjson.
    for zone in ("Asia/Shanghai", "UTC", "America/New_York", "Africa/Monrovia"):
        settings.TIME_ZONE = zone
        for moment in moments:
            assert datetime_out(moment) == drf.to_representation(moment), (zone, moment)
    assert datetime_out(None) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders are PostgreSQL's")
@pytest.mark.django_db
def test_timestamps_load_as_djangos_loader_loads_them():
    """psycopg's C loader, registered per connection, gives the same values as Django's own."""
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    texts = [
        "2026-12-01 08:30:15.123456+00",
        "2026-12-01 08:30:15+08",
        "0002-02-02 00:00:00+00",
        "2026-06-30 23:59:59.5-09:30",
        "9999-12-31 23:59:59.999999+00",
    ]
    select = "SELECT " + ", ".join(f"'{text}'::timestamptz" for text in texts)
    with connection.cursor() as cursor:
        cursor.execute(select)
        loaded = cursor.fetchone()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, 0) is _c_timestamp_loader()

    class DjangosLoader(BaseTzLoader):
        timezone = datetime.UTC

    expected = [DjangosLoader(TIMESTAMPTZ_OID, connection.connection).load(_utc_text(t)) for t in texts]
    assert list(loaded) == expected
    assert all(value.tzinfo is datetime.UTC for value in loaded)


def _utc_text(text: str) -> bytes:
    """How a UTC connection writes the timestamptz ``text``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s::timestamptz)::text", [text])
        return cursor.fetchone()[0].encode()
