"""B7 beyond the p50 row: rare and common words' p95, for both sorts, and the plans of short
Chinese queries.

A word is **common** when at least ``COMMON_SHARE`` of the world's search documents match it, rare
otherwise; the counts come from the world itself (the GIN index, the app's own segmenter), so the
split follows the data, not a list. Plans are read in process: the search requests go through
Django's test client (as ``bench.probe`` does), every ``SELECT`` they ran is asked
``EXPLAIN (FORMAT JSON)`` on the same database, and any ``Seq Scan`` of a table larger than
``SMALL_TABLE`` rows is reported (a small table read whole, such as the blocks of a viewer, is not
what BENCH.md forbids).
"""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.registry import Request
from bench.sample import Sample
from notes.search.backends import PostgresBackend
from notes.search.segmentation import query_tokens

COMMON_SHARE = 0.01
SMALL_TABLE = 10_000
SORTS = ("relevance", "latest")


def matches(words: tuple[str, ...]) -> dict[str, int]:
    """How many search documents hold every token of each word."""
    out = {}
    with connection.cursor() as cursor:
        for word in words:
            cursor.execute(
                "SELECT count(*) FROM notes_notesearchdocument WHERE vector @@ %s::tsquery",
                [PostgresBackend.tsquery(query_tokens(word))],
            )
            out[word] = cursor.fetchone()[0]
    return out


def classes(words: tuple[str, ...]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """``({"rare": [...], "common": [...]}, matches)``."""
    counts = matches(words)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notes_notesearchdocument")
        documents = cursor.fetchone()[0]
    split: dict[str, list[str]] = {"rare": [], "common": []}
    for word, count in counts.items():
        split["common" if count >= COMMON_SHARE * documents else "rare"].append(word)
    return split, counts


def requests(words: list[str], sort: str) -> list[Request]:
    return [Request("GET", f"/api/v1/search?q={quote(word)}&sort={sort}", i) for i, word in enumerate(words)]


def sequential_scans(words: list[str], sample: Sample) -> list[str]:
    """``"word (sort): table"`` for every sequential scan of a large table that searching for these
    words ran, signed in (blocks and follows in play), for both sorts."""
    client, found = Client(), []
    for sort in SORTS:
        for word, request in zip(words, requests(words, sort), strict=True):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {sample.token(request.viewer)}"}
            with CaptureQueriesContext(connection) as queries:
                client.get(request.path, **headers)
            for query in queries.captured_queries:
                if query["sql"].lstrip().upper().startswith("SELECT"):
                    found += [f"{word} ({sort}): {table}" for table in _scanned(query["sql"])]
    return found


def _scanned(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        tables = sorted(set(_seq_scans(plan[0]["Plan"])))
        if not tables:
            return []
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND reltuples > %s", [tables, SMALL_TABLE]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _seq_scans(node: dict):
    if node.get("Node Type") == "Seq Scan":
        yield node["Relation Name"]
    for child in node.get("Plans", ()):
        yield from _seq_scans(child)
