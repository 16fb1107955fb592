"""Bulk loading (COPY on PostgreSQL) and the weighted draws the steps make."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.core.management.color import no_style
from django.db import connection, models, transaction


def first_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


class Loader:
    """Writes tuples into a model's table: ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    ``fields`` names the columns given in each row (attnames: ``author_id``); every other concrete
    field gets its default (``auto_now`` fields ``now``). Values skip model ``save()`` and signals;
    they are prepared for the database like the ORM would (JSON, dates on SQLite).
    """

    CHUNK = 5_000

    def __init__(self, now: datetime):
        self.now = now
        self.postgres = connection.vendor == "postgresql"
        self._superuser: bool | None = None

    def _skip_fk_triggers(self, cursor) -> None:
        """Rows are consistent by construction; checking each foreign key of millions of rows at
        commit more than doubles a load, so a superuser switches those triggers off for the
        transaction (``session_replication_role``). Others pay for the checks."""
        if self._superuser is None:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            self._superuser = bool(cursor.fetchone()[0])
        if self._superuser:
            cursor.execute("SET LOCAL session_replication_role = replica")

    def load(self, model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> int:
        opts = model._meta
        by_attname = {f.attname: f for f in opts.concrete_fields}
        given = [by_attname[name] for name in fields]
        rest = [f for f in opts.concrete_fields if f.attname not in fields]
        extra = tuple(self._prep(f, self._default(f)) for f in rest)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in (*given, *rest))
        table = connection.ops.quote_name(opts.db_table)
        count = 0
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                self._skip_fk_triggers(cursor)
                json_at = [i for i, f in enumerate(given) if isinstance(f, models.JSONField)]
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        if json_at:
                            row = list(row)
                            for i in json_at:
                                row[i] = self._prep(given[i], row[i])
                        copy.write_row((*row, *extra))
                        count += 1
            else:
                marks = ", ".join(["%s"] * (len(given) + len(rest)))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
                for chunk in chunks(rows, self.CHUNK):
                    prepared = [
                        (*(self._prep(f, v) for f, v in zip(given, row, strict=True)), *extra)
                        for row in chunk
                    ]
                    cursor.executemany(sql, prepared)
                    count += len(prepared)
        return count

    def _default(self, f: models.Field):
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            return self.now
        if f.has_default():
            return f.get_default()
        if f.null:
            return None
        if isinstance(f, models.CharField | models.TextField | models.FileField):
            return ""
        raise ValueError(f"{f.model.__name__}.{f.name} needs a value")

    def _prep(self, f: models.Field, value):
        if self.postgres:
            if isinstance(f, models.JSONField) and value is not None:
                from psycopg.types.json import Jsonb

                return Jsonb(value)
            if isinstance(f, models.FileField):
                return value or ""
            return value
        return f.get_db_prep_save(value, connection)


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def reset_sequences(*model_list: type[models.Model]) -> None:
    """Explicit ids bypass the sequences; move them past the rows loaded (PostgreSQL only)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


class Cumulative:
    """Weighted draws with replacement from a fixed population (``random.choices`` with
    precomputed cumulative weights, so each draw is a bisection)."""

    def __init__(self, population: list, weights: list[float]):
        self.population = population
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def draw(self, rng: random.Random, k: int) -> list:
        cum, total, pop = self.cum, self.total, self.population
        hi = len(pop) - 1
        return [pop[bisect.bisect(cum, rng.random() * total, 0, hi)] for _ in range(k)]

    def distinct(self, rng: random.Random, k: int, exclude=None) -> list:
        """``k`` distinct draws (fewer if the population runs out), popular ones more likely."""
        k = min(k, len(self.population))
        chosen: dict = {}
        for _ in range(6):
            need = k - len(chosen)
            if need <= 0:
                break
            for item in self.draw(rng, need + need // 4 + 2):
                if item != exclude:
                    chosen.setdefault(item, None)
        if len(chosen) < k:  # a heavy user of a skewed population: top up uniformly
            rest = [item for item in self.population if item not in chosen and item != exclude]
            for item in rng.sample(rest, min(k - len(chosen), len(rest))):
                chosen[item] = None
        return list(chosen)[:k]


def quotas(rng: random.Random, n: int, total: int, *, alpha: float, cap: int) -> list[int]:
    """Split ``total`` over ``n`` people with Pareto-tailed activity, each at most ``cap``;
    the sum is exactly ``total`` unless every quota hit the cap."""
    activity = [rng.paretovariate(alpha) for _ in range(n)]
    scale = total / sum(activity)
    quotas = [min(cap, int(a * scale)) for a in activity]
    deficit = total - sum(quotas)
    order = sorted(range(n), key=lambda i: -activity[i])
    while deficit > 0:
        moved = 0
        for i in order:
            if deficit <= 0:
                break
            if quotas[i] < cap:
                quotas[i] += 1
                deficit -= 1
                moved += 1
        if not moved:
            break
    return quotas
