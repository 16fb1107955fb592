"""Gunicorn settings: ``gunicorn -c config/gunicorn.py config.wsgi``.

Granian is the app server we run (README, Performance: it measured ~45% less CPU per request than
gunicorn on a bare view); gunicorn stays as a well-known alternative, and ``python -m bench --server
gunicorn`` measures it. Every value can be overridden from the environment (``GUNICORN_*``).
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core plus one: a worker waiting on PostgreSQL or Redis leaves its core to another.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# gthread: a few threads per process keep connections alive (sync workers close every connection)
# and overlap database waits; more threads than that only contend for the GIL.
threads = _int("GUNICORN_THREADS", 4)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
backlog = _int("GUNICORN_BACKLOG", 2048)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Recycle workers now and then so a slow leak never becomes an outage (jitter: not all at once).
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# Load the app once in the master: workers fork with Django imported (faster start, shared pages).
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
