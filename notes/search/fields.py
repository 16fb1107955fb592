"""A ``tsvector`` column that also migrates on SQLite, and the lookup that matches it.

Lexemes are written and queried *verbatim* (``'...'::tsvector`` / ``'...'::tsquery`` casts), never
through ``to_tsvector``/``to_tsquery``: our segmenter already produced the final tokens, and the
PostgreSQL parser would split some of them again (it has its own ideas about digits, hyphens and
non-Latin scripts). This is what a ``simple`` configuration does to pre-normalised tokens, minus the
surprises.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Lookup


class TokenVectorField(models.TextField):
    """``tsvector`` on PostgreSQL; on SQLite an unused text column (that backend matches the
    document's token text instead), so one migration serves both."""

    description = "Search vector (PostgreSQL tsvector)"

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_placeholder(self, value, compiler, connection):
        return "%s::tsvector" if connection.vendor == "postgresql" else "%s"


@TokenVectorField.register_lookup
class Matches(Lookup):
    """``vector__matches="'a' & 'b'"``: the document has every lexeme (GIN-indexable)."""

    lookup_name = "matches"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # The query in a sub-select: the planner then estimates every query alike, so a prepared
        # statement gets a generic plan (planned once per connection, not on every call: 1.3 ms of a
        # search's 3) instead of custom plans because queries of two words look cheaper than one.
        # The GIN index still answers it (the sub-select's value is known before the scan starts).
        return f"{lhs} @@ (SELECT ({rhs})::tsquery)", [*lhs_params, *rhs_params]


@TokenVectorField.register_lookup
class MatchesEach(Matches):
    """``vector__matches_each=...``: the same test as ``matches``, written as the function its
    operator calls, which no index answers. For a query that reads documents in another index's
    order and tests each one as it goes (the newest-first search's walk): with ``@@`` PostgreSQL may
    start from the GIN index instead and fetch every match of a common word."""

    lookup_name = "matches_each"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"ts_match_vq({lhs}, (SELECT ({rhs})::tsquery))", [*lhs_params, *rhs_params]


class AnyOf(models.Expression):
    """``value = ANY(ARRAY(subquery))``, PostgreSQL's: a filter on the ids a sub-select gives.

    ``IN (subquery)`` leaves the planner to guess how many ids come (200 groups of a default-sized
    match) and, for the ranked searches, to hash every user to join the candidates' authors: 7 ms
    of a rare word's 8. Over an array it expects few ids and fetches each candidate's note and
    author by primary key (a rare word 7.8 -> 2.5 ms, a common one 64 -> 60 ms)."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, value, subquery):
        super().__init__()
        self.value, self.subquery = value, subquery

    def get_source_expressions(self):
        return [self.value, self.subquery]

    def set_source_expressions(self, exprs):
        self.value, self.subquery = exprs

    def as_sql(self, compiler, connection):
        value, value_params = compiler.compile(self.value)
        subquery, subquery_params = compiler.compile(self.subquery)
        return f"{value} = ANY(ARRAY{subquery})", (*value_params, *subquery_params)
