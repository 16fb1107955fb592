"""SQL queries and Redis round trips per request (B3), counted in process through Django's test
client against the same database, cache and broker as the app server.

A list endpoint is asked at page sizes 1, 20 and 100: the counts must not change (no query per
row). Redis round trips are counted at the socket: one ``send_packed_command`` is one round trip,
however many commands a pipeline packs into it.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection

from bench.load import CREATED, KEY_PREFIX
from bench.registry import Endpoint, Request
from bench.sample import Sample

PAGE_SIZES = (1, 20, 100)


@contextmanager
def redis_round_trips():
    counter = {"n": 0}
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counter["n"] += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        yield counter
    finally:
        AbstractConnection.send_packed_command = original


def _send(client: Client, request: Request, sample: Sample, path: str | None = None):
    headers = {}
    if request.viewer is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {sample.token(request.viewer)}"
    if request.idempotent:
        headers["HTTP_IDEMPOTENCY_KEY"] = f"{KEY_PREFIX}probe-{uuid.uuid4().hex}"
    return client.generic(
        request.method,
        path or request.path,
        data=request.body or "",
        content_type="application/json",
        **headers,
    )


def _count(client: Client, request: Request, sample: Sample, path: str | None = None):
    """``(sql, redis round trips, response)``."""
    with CaptureQueriesContext(connection) as queries, redis_round_trips() as trips:
        response = _send(client, request, sample, path)
    return len(queries), trips["n"], response


def _created(response) -> str:
    """The id a 201 answer gave (what ``{created}`` stands for in the next request's path)."""
    return str(response.json()["id"]) if response.status_code == 201 else "0"


def count(endpoint: Endpoint, sample: Sample) -> dict:
    """``{"counts": {label: [sql, redis]}, "status": {label: http status}}`` for one endpoint."""
    client = Client()
    requests = endpoint.requests(sample)
    counts, statuses = {}, {}
    if endpoint.kind == "write":
        # A pair to warm up (first use of the views, cached lookups, the writer's user), then the
        # same pair counted, as the load rotation repeats it; each DELETE takes back what its POST
        # did.
        created = _created(_send(client, requests[2], sample))
        _send(client, requests[3], sample, requests[3].path.replace(CREATED, created))
        for request in requests[2:4]:
            sql, trips, response = _count(client, request, sample, request.path.replace(CREATED, created))
            created = _created(response)
            counts[request.method] = (sql, trips)
            statuses[request.method] = response.status_code
    else:
        request = requests[0]
        _send(client, request, sample)
        sizes = PAGE_SIZES if endpoint.paged else ("-",)
        for size in sizes:
            joiner = "&" if "?" in request.path else "?"
            path = request.path if size == "-" else f"{request.path}{joiner}page_size={size}"
            sql, trips, response = _count(client, request, sample, path)
            counts[size] = (sql, trips)
            statuses[size] = response.status_code
    return {"counts": counts, "status": statuses}


def count_one(request: Request, sample: Sample) -> dict:
    """One request sent once to warm up, then once counted: ``count``'s shape, labelled by method."""
    client = Client()
    _send(client, request, sample)
    sql, trips, response = _count(client, request, sample)
    return {"counts": {request.method: (sql, trips)}, "status": {request.method: response.status_code}}
