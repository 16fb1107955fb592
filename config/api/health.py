"""``GET /api/v1/health``: is each backing service reachable from this process?"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage, storages
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (no broker configured)"
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"


def _check_storage() -> str:
    default_storage.exists("health-check-probe")
    return type(storages["default"]).__name__


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "storage": _check_storage,
}

_check_out = inline_serializer(
    "HealthCheck",
    {
        "ok": serializers.BooleanField(),
        "detail": serializers.CharField(),
        "ms": serializers.FloatField(),
    },
)


_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "checks": serializers.DictField(child=_check_out),
    },
)


class HealthView(APIView):
    """Reports each dependency; 503 when any of them is down so load balancers can act on it."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(responses={(200, "application/json"): _HEALTH, (503, "application/json"): _HEALTH})
    def get(self, request):
        checks = {}
        for name, check in CHECKS.items():
            started = time.perf_counter()
            try:
                detail, ok = check(), True
            except Exception as exc:  # any failure is a failed check, reported
                detail, ok = f"{type(exc).__name__}: {exc}", False
            checks[name] = {
                "ok": ok,
                "detail": detail,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            }
        healthy = all(item["ok"] for item in checks.values())
        return Response(
            {"status": "ok" if healthy else "degraded", "checks": checks},
            status=200 if healthy else 503,
        )
