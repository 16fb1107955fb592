"""Two ways to find the search documents that hold every query token, with the same answers.

* :class:`PostgresBackend`: the document's ``tsvector`` (its distinct tokens, verbatim) ``@@`` an AND
  ``tsquery`` of the query tokens, answered by a GIN index.
* :class:`TokenTextBackend` (SQLite, or any database without ``tsvector``): every token must occur as
  a whole word of the space-delimited token text (``LIKE '% 穿搭 %'``). A scan, fine for the small
  data of the embedded mode.

Relevance is the same on both: how many of the query's tokens the document's *head* (title, topics,
place; username and nickname; product title and store) holds, then engagement, then newest. It reads
only the short head text of the matched rows, never the large vector: ranking every match of a
common word with ``ts_rank`` would decompress thousands of vectors per query. Both backends thus
give the same results in the same order.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan


def token_text(tokens: Iterable[str]) -> str:
    """Distinct tokens, space-delimited, with a space at both ends."""
    distinct = dict.fromkeys(tokens)
    return f" {' '.join(distinct)} " if distinct else ""


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def head_needles(tokens: list[str]) -> list[str]:
    """What :func:`head_hits` looks for: each token as a whole word of the head text."""
    return [f" {token} " for token in tokens]


def head_hits(relation: str, needles: list[str]):
    """How many of ``needles`` (:func:`head_needles`) the head text of the document at ``relation``
    holds. By position (``STRPOS``/``INSTR``), so that each needle reaches the SQL as it is, one
    parameter (a compiled query substitutes it, see ``config.db.PreparedQuery``)."""
    head = F(f"{relation}__head")
    hits = [
        Case(When(GreaterThan(StrIndex(head, Value(needle)), 0), then=Value(1)), default=Value(0))
        for needle in needles
    ]
    return reduce(operator.add, hits)


class PostgresBackend:
    name = "postgresql"

    def document(self, head: list[str], body: list[str]) -> dict:
        """Head text for the ranking, and the vector of every distinct token for matching (no
        positions or weights: nothing reads them, and the vector stays small)."""
        lexemes = dict.fromkeys([*head, *body])
        return {"head": token_text(head), "body": "", "vector": " ".join(map(_quote, lexemes))}

    @staticmethod
    def tsquery(tokens: list[str]) -> str:
        return " & ".join(_quote(t) for t in tokens)

    def condition(self, tokens: list[str]) -> Q:
        """A document holds every token (answered by the GIN index when it drives the query)."""
        return self.condition_for(self.tsquery(tokens))

    @staticmethod
    def condition_for(tsquery: str) -> Q:
        """:meth:`condition` of an already written ``tsquery`` (one query parameter)."""
        return Q(vector__matches=tsquery)

    @staticmethod
    def condition_each(tsquery: str) -> Q:
        """:meth:`condition_for`, tested document by document (never through the GIN index)."""
        return Q(vector__matches_each=tsquery)

    def match(self, documents: QuerySet, tokens: list[str]) -> QuerySet:
        return documents.filter(self.condition(tokens))


class TokenTextBackend:
    name = "tokens"

    def document(self, head: list[str], body: list[str]) -> dict:
        return {"head": token_text(head), "body": token_text(body), "vector": None}

    def condition(self, tokens: list[str]) -> Q:
        """A document holds every token as a whole word of its head or body."""
        return reduce(
            operator.and_,
            (Q(head__contains=f" {token} ") | Q(body__contains=f" {token} ") for token in tokens),
        )

    def match(self, documents: QuerySet, tokens: list[str]) -> QuerySet:
        return documents.filter(self.condition(tokens))


def gin_index_sql(table: str) -> str:
    """The GIN index of a document table (as the migration creates it; see there for why)."""
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_vector_gin" ON "{table}" USING gin ("vector") '
        "WITH (fastupdate = off)"
    )


_POSTGRES = PostgresBackend()
_TOKENS = TokenTextBackend()


def get_backend() -> PostgresBackend | TokenTextBackend:
    return _POSTGRES if connection.vendor == "postgresql" else _TOKENS
