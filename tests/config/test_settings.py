"""Settings come from the environment, once; production refuses an unsafe secret."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'cache': settings.CACHES['default']['BACKEND'], 'eager': settings.CELERY_TASK_ALWAYS_EAGER, "
    "'storage': settings.STORAGES['default']['BACKEND'], 'debug': settings.DEBUG, "
    "'cors': settings.CORS_ALLOWED_ORIGINS}))"
)


def probe(code: str = PROBE, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_embedded_defaults_need_no_services():
    out = json.loads(probe().stdout)
    assert out["engine"] == "django.db.backends.sqlite3"
    assert out["cache"].endswith("LocMemCache")
    assert out["eager"] is True
    assert out["storage"].endswith("FileSystemStorage")


def test_environment_switches_each_piece_to_its_service():
    out = json.loads(
        probe(
            DATABASE_URL="postgres://u@db.example:5432/zc",
            REDIS_URL="redis://cache.example:6379/0",
            CELERY_BROKER_URL="redis://cache.example:6379/1",
            AWS_STORAGE_BUCKET_NAME="zc-media",
            CORS_ALLOWED_ORIGINS="https://app.example,https://m.example",
        ).stdout
    )
    assert out["engine"] == "config.postgres"  # Django's, with a health check on the socket
    assert out["cache"].endswith("RedisCache")
    assert out["eager"] is False
    assert out["storage"] == "storages.backends.s3.S3Storage"
    assert out["cors"] == ["https://app.example", "https://m.example"]


@pytest.mark.parametrize("secret", ["", "django-insecure-zhongcao-dev-only-change-me"])
def test_production_refuses_a_missing_or_default_secret(secret):
    refused = probe(DEBUG="False", SECRET_KEY=secret)
    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr


def test_production_starts_with_a_real_secret():
    accepted = probe(DEBUG="False", SECRET_KEY="a-long-random-production-secret-value-0123456789")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["debug"] is False


@pytest.mark.django_db
def test_cors_allows_only_listed_origins(settings, anon_client):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    preflight = {
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization",
    }
    allowed = anon_client.options("/api/v1/health", HTTP_ORIGIN="https://app.example", **preflight)
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = anon_client.options("/api/v1/health", HTTP_ORIGIN="https://evil.example", **preflight)
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("entry, handler", [("wsgi", "WSGIHandler"), ("asgi", "ASGIHandler")])
def test_the_server_entry_points_put_what_they_loaded_out_of_the_collectors_reach(entry, handler):
    """Servers import ``config.wsgi`` (or ``config.asgi``): the settings, URL patterns and the
    segmenter's dictionary are loaded by then and frozen, so no thread of a fresh process waits for
    the dictionary in its first search and full collections under load do not walk them again."""
    loaded = probe(
        f"import gc; before = gc.get_freeze_count(); import config.{entry} as w; "
        "from notes.search.segmentation import _loaded; import notes.api.views as views; "
        "young = any(o is views.NoteDetailView for o in gc.get_objects()); "
        "print(before, gc.get_freeze_count(), len(_loaded), type(w.application).__name__, young)"
    )
    before, frozen, dictionaries, loaded_handler, young = loaded.stdout.split()
    assert (int(before), int(dictionaries), loaded_handler) == (0, 1, handler)
    assert int(frozen) > 50_000
    # The URLconf (every view) was imported before the freeze, not on the first request.
    assert young == "False"


def test_a_celery_worker_process_warms_up_and_freezes_before_its_first_task():
    started = probe(
        "import gc, django; django.setup(); import notes.tasks; "
        "from celery.signals import worker_process_init; "
        "from notes.search.segmentation import _loaded; before = gc.get_freeze_count(); "
        "worker_process_init.send(sender=None); "
        "import sys; print(before, gc.get_freeze_count(), len(_loaded), 'config.urls' in sys.modules)"
    )
    before, frozen, dictionaries, urls = started.stdout.split()
    assert (int(before), int(dictionaries)) == (0, 1)
    assert int(frozen) > 50_000
    assert urls == "False"  # a worker serves no requests: it does not load the views
