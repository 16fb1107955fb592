"""Compiled-once ORM queries for the hottest reads.

Building and compiling a queryset such as ``notes_for_cards(viewer)`` (the visibility rule's joins and
``EXISTS`` subqueries) costs about ten times the CPU of running the SQL it produces. A
:class:`PreparedQuery` builds the queryset once per *shape* with placeholder values, keeps its SQL, its
parameters and its result converters, and runs that SQL again with each request's values. The rules
themselves stay written once, in the ORM; only the compile step is skipped.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

import orjson
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Aggregate, JSONField, Model, QuerySet
from django.db.models.expressions import Col
from psycopg.sql import Literal as sql_literal
from rest_framework.exceptions import NotFound

#: Placeholders are values no id, name, time or constant can be; each argument value gets its own.
_PLACEHOLDER_BASE = -(2**62)
_PLACEHOLDER_TIME = datetime(2, 2, 2, tzinfo=UTC)
_RUNTIME_TYPES = (int, str, datetime)
#: Compiled shapes kept per query (the oldest is dropped beyond): bounds the memory a client can
#: make it use with page sizes and cursor offsets, far above what real traffic needs.
MAX_SHAPES = 256


class PreparedQuery:
    """A ``.values(...)`` queryset from ``build(*args, **shape)``, compiled once per shape.

    Positional arguments are run-time values: an ``int`` (an id), a ``str``, an aware ``datetime``
    (on PostgreSQL; SQLite's adapter rewrites it) or a list of ints. They are passed to ``build`` as
    unique placeholder values, which must reach the SQL as parameters (this is checked when it
    compiles; a value the ORM writes into the SQL text, such as a slice's ``LIMIT``, belongs in
    ``shape``). ``None`` is passed through and is part of the shape, as is each list's length and
    every keyword argument: one compiled query per combination.

    On PostgreSQL the constants of the SQL are written into it (:func:`_constants_inlined`), so
    that a statement can be planned once per connection; ``plan_per_call`` keeps them parameters,
    for a query whose best plan depends on its run-time values.
    """

    def __init__(self, build: Callable[..., QuerySet], *, plan_per_call: bool = False):
        self.build, self.plan_per_call = build, plan_per_call
        self._compiled: dict[Hashable, tuple[str, tuple, dict[int, int], list[str], Any, list]] = {}

    def rows(self, *args, using: str = "default", **shape) -> list[dict]:
        sql, params, compiled = self._bound(args, shape, using)
        _, _, _, names, compiler, converters = compiled
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def statement(self, *args, name: str, using: str = "default", **shape) -> tuple[str, dict]:
        """The SQL :meth:`rows` runs and its parameters, named ``<name>0``, ``<name>1``, ...: to
        be a part (a ``WITH`` query) of a larger statement written with named parameters, which
        then runs the rule in the same round trip."""
        sql, params, _ = self._bound(args, shape, using)
        return _named(sql, name), {f"{name}{i}": value for i, value in enumerate(params)}

    def _bound(self, args: tuple, shape: dict, using: str) -> tuple[str, list, tuple]:
        """The compiled SQL for this shape, its parameters with this call's values, and what it
        compiled to."""
        key = (connections[using].vendor, tuple(_shape_of(arg) for arg in args), tuple(sorted(shape.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= MAX_SHAPES:  # a forged cursor offset makes a shape per value
                self._compiled.pop(next(iter(self._compiled), None), None)
            compiled = self._compiled[key] = self._compile(args, shape, using)
        sql, params, slots = compiled[:3]
        values = list(_flatten(args))
        return (
            sql,
            [values[slots[p]] if type(p) in _RUNTIME_TYPES and p in slots else p for p in params],
            compiled,
        )

    def _compile(self, args: tuple, shape: dict, using: str):
        counter = itertools.count()
        placeholders = [_placeholder(arg, counter) for arg in args]
        queryset = self.build(*placeholders, **shape)
        query = queryset.query
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = {p: i for i, p in enumerate(_flatten(placeholders))}
        missing = set(slots) - {p for p in params if type(p) in _RUNTIME_TYPES}
        if missing:
            raise ImproperlyConfigured(f"{self.build!r}: an argument did not reach the SQL as a parameter.")
        if connections[using].vendor == "postgresql" and not self.plan_per_call:
            sql, params = _constants_inlined(sql, params, slots, connections[using])
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return sql, tuple(params), slots, names, compiler, _json_read_by_orjson(converters)


def _json_read_by_orjson(converters: dict) -> dict:
    """``converters`` with Django's ``JSONField`` reader of a plain column (``json.loads``) replaced
    by :func:`_json_from_db`: a page of cards decodes 20-50 media ``variants``, 1.26 us each by
    Django's reader and 0.25 us by orjson (about 0.05 ms of a discovery page's 2.4 ms of CPU)."""
    out = {}
    for position, (functions, expression) in converters.items():
        field = expression.output_field
        if isinstance(expression, Col) and isinstance(field, JSONField) and field.decoder is None:
            functions = [_json_from_db if f == field.from_db_value else f for f in functions]
        out[position] = (functions, expression)
    return out


def _json_from_db(value, expression, connection):
    """What ``JSONField.from_db_value`` returns for a column, decoded by orjson. orjson refuses
    integers beyond 64 bits, which the json module reads: those fall back to it."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value


_PERCENT = re.compile(r"%%|%s")


def _constants_inlined(sql: str, params: tuple, slots: dict, connection) -> tuple[str, tuple]:
    """``sql`` with every parameter that is not a run-time value (a status, a visibility, the
    ``1`` of ``EXISTS``) written into it as a literal.

    PostgreSQL plans a prepared statement once for all calls (its generic plan) only when that plan
    is estimated no worse than planning each call with its values. With the rules' constants as
    parameters it is (they tell which index and which rows), so every call was planned again: 1.3
    ms of a search's 3 ms. As literals they are known to the generic plan too, and the statement
    is planned about once per connection. PostgreSQL still chooses: it keeps planning each call
    when the generic plan is estimated worse. Where that estimate is wrong, the query is made with
    ``plan_per_call`` (measured: a profile's notes, whose best plan depends on the author's number
    of notes, took 0.93 ms with one plan and 0.51 ms planned per call)."""
    connection.ensure_connection()
    values, kept = iter(params), []

    def replace(match: re.Match) -> str:
        if match.group() == "%%":
            return "%%"
        value = next(values)
        if type(value) in _RUNTIME_TYPES and value in slots:
            kept.append(value)
            return "%s"
        return sql_literal(value).as_string(connection.connection).replace("%", "%%")

    return _PERCENT.sub(replace, sql), tuple(kept)


@lru_cache(maxsize=MAX_SHAPES)
def _named(sql: str, name: str) -> str:
    """``sql`` with its positional parameters (``%s``) named ``%(<name>0)s``, ``%(<name>1)s``, ..."""
    counter = itertools.count()
    return _PERCENT.sub(
        lambda match: match.group() if match.group() == "%%" else f"%({name}{next(counter)})s", sql
    )


def _shape_of(arg) -> Hashable:
    if arg is None:
        return None
    if isinstance(arg, list | tuple):
        return ("list", len(arg))
    if type(arg) not in _RUNTIME_TYPES:
        raise TypeError(
            f"Run-time arguments are ints, strs, datetimes or lists of ints, not {type(arg).__name__}."
        )
    return type(arg).__name__


def _placeholder(arg, counter: itertools.count):
    if arg is None:
        return None
    if isinstance(arg, list | tuple):
        return [_PLACEHOLDER_BASE - next(counter) for _ in arg]
    if type(arg) is str:
        return f"\x00placeholder-{next(counter)}"
    if type(arg) is datetime:
        return _PLACEHOLDER_TIME + timedelta(microseconds=next(counter))
    return _PLACEHOLDER_BASE - next(counter)


def _flatten(args):
    for arg in args:
        if isinstance(arg, list | tuple):
            yield from arg
        elif arg is not None:
            yield arg


class KeysetQuery:
    """A :class:`PreparedQuery` for keyset pages: ``base(*args, **shape)`` is the unordered
    ``.values(...)`` queryset, and :meth:`rows` stands in for it under DRF's ``CursorPagination``,
    whose ordering, position filter and slice become part of the compiled shape."""

    def __init__(self, base: Callable[..., QuerySet], *, plan_per_call: bool = False):
        self.base = base
        self.prepared = PreparedQuery(self._build, plan_per_call=plan_per_call)

    def _build(self, *args, ordering: tuple, lookup: str | None, offset: int, limit: int, shape: tuple):
        *base_args, position = args
        queryset = self.base(*base_args, **dict(shape)).order_by(*ordering)
        if lookup is not None:
            queryset = queryset.filter(**{lookup: position})
        return queryset[offset : offset + limit]

    def rows(self, *args, **shape) -> KeysetRows:
        return KeysetRows(self, args, tuple(sorted(shape.items())))


class KeysetRows:
    """What ``CursorPagination.paginate_queryset`` asks of a queryset (``order_by``, a ``__lt`` or
    ``__gt`` filter on the ordering field, one slice), run as a :class:`KeysetQuery`. Rows are dicts."""

    def __init__(
        self, query: KeysetQuery, args: tuple, shape: tuple, ordering=(), lookup=None, position=None
    ):
        self.query, self.args, self.shape = query, args, shape
        self.ordering, self.lookup, self.position = ordering, lookup, position

    def order_by(self, *ordering: str) -> KeysetRows:
        return KeysetRows(self.query, self.args, self.shape, ordering, self.lookup, self.position)

    def filter(self, **kwargs) -> KeysetRows:
        ((lookup, position),) = kwargs.items()
        try:
            position = int(position)
        except ValueError:
            position = None
        if position is None or not -(2**63) < position < 2**63:
            raise NotFound("Invalid cursor")  # as DRF answers a cursor it cannot decode
        return KeysetRows(self.query, self.args, self.shape, self.ordering, lookup, position)

    def __getitem__(self, page: slice) -> list[dict]:
        start = page.start or 0
        return self.query.prepared.rows(
            *self.args,
            self.position,
            ordering=self.ordering,
            lookup=self.lookup,
            offset=start,
            limit=page.stop - start,
            shape=self.shape,
        )


@cache  # renderers look their row's keys up on every card
def prefixed(prefix: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """``columns`` as a ``.values()`` row names them when read through a relation (``prefix``, e.g.
    ``author__``)."""
    return tuple(prefix + column for column in columns)


@cache  # a model's fields are fixed once apps are loaded; instance_from_row asks on every request
def concrete_columns(model: type[Model], prefix: str = "") -> tuple[str, ...]:
    """Every column of ``model`` (its ``attname``\\s), under ``prefix`` when read through a relation."""
    return prefixed(prefix, tuple(field.attname for field in model._meta.concrete_fields))


def instance_from_row(model: type[Model], row: dict, prefix: str = "") -> Model:
    """A ``model`` instance from a row holding :func:`concrete_columns`, as the ORM would load it."""
    names = concrete_columns(model)
    return model.from_db(DEFAULT_DB_ALIAS, names, list(map(row.__getitem__, concrete_columns(model, prefix))))


class JSONList(Aggregate):
    """The JSON array of an expression's values over a group (``JSONObject`` rows, say):
    ``jsonb_agg`` on PostgreSQL, ``json_group_array`` on SQLite. In no particular order."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


# --- writes ----------------------------------------------------------------------------------------------


def execute_statement(
    sql: str, params: list | dict, using: str = DEFAULT_DB_ALIAS
) -> tuple[int, tuple | None]:
    """Run one statement written out (a hot write, whose compiling by the ORM costs more than its
    round trip); return its row count and its first returned row (if any)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount, cursor.fetchone() if cursor.description else None


def insert_instances(objs: Sequence[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert unsaved instances of one model by one ``INSERT ... RETURNING`` their primary keys,
    as ``bulk_create`` does (each field's ``pre_save``, so ``auto_now_add``; no signals), without
    building a query each time: the statement is kept per model and row count. For the hottest
    writes (a checkout's four inserts, a comment): a checkout's group, order and event cost
    0.76-0.93 ms of CPU through ``bulk_create``, 0.48-0.55 ms here.

    As ``bulk_create``, it takes each related object's key as the object has it now (one saved
    after it was assigned) and refuses one that is still unsaved (``ValueError``)."""
    if not objs:
        return
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert_instances")
    connection = connections[using]
    sql, fields = _insert_statement(type(objs[0]), len(objs), using)
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objs for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, using


@lru_cache(maxsize=MAX_SHAPES)
def _insert_statement(model: type[Model], rows: int, using: str) -> tuple[str, list]:
    meta = model._meta
    quote = connections[using].ops.quote_name
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    row = f"({', '.join(['%s'] * len(fields))})"
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join([row] * rows)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values} RETURNING {quote(meta.pk.column)}",
        fields,
    )


def update_rows(model: type[Model], fields: list[str], rows: list[tuple]) -> None:
    """Set ``fields`` of existing rows of ``model``: each tuple is a primary key, then the fields'
    values as the model holds them.

    On PostgreSQL the rows are copied into a temporary table (``COPY``) and written by one
    ``UPDATE ... FROM`` it, in one transaction. An upsert by ``bulk_create`` (which must send every
    column of every row) or ``bulk_update`` (a ``CASE`` per field and row) spends most of its time in
    Python preparing values: for the decay pass's 57k scores at M, 6 s against ~1 s. Elsewhere,
    ``bulk_update``.
    """
    if not rows:
        return
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        pk = meta.pk.attname
        objects = [model(**{pk: row[0], **dict(zip(fields, row[1:], strict=True))}) for row in rows]
        model.objects.bulk_update(objects, fields, batch_size=1000)
        return
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    columns = [key, *(quote(field.column) for field in given)]
    json_at = [1 + i for i, field in enumerate(given) if isinstance(field, JSONField)]
    with transaction.atomic(using=DEFAULT_DB_ALIAS), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE _update_rows ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY _update_rows ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = orjson.dumps(row[i]).decode()
                copy.write_row(row)
        assignments = ", ".join(f"{column} = u.{column}" for column in columns[1:])
        keys = [row[0] for row in rows]
        # The keys' range lets the planner fetch just those rows by the primary key's index: without
        # it, it hashed the whole table for each batch (the decay pass: 10k of 197k scores, a join of
        # 75-125 ms -> 18 ms, in an update of ~300 ms).
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM _update_rows AS u "
            f"WHERE t.{key} = u.{key} AND t.{key} BETWEEN %s AND %s",
            [min(keys), max(keys)],
        )
        cursor.execute("DROP TABLE _update_rows")  # now: the caller's transaction may go on


# --- timestamps ------------------------------------------------------------------------------------------


def use_fast_timestamp_loader(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: on PostgreSQL, load ``timestamptz`` values with psycopg's C
    loader instead of the pure-Python one Django registers (a regular expression per value, ~9 µs
    against ~0.5 µs; a feed page holds forty). Only where both give the same value: Django keeps the
    connection in UTC with ``USE_TZ``, and the C loader then returns ``datetime.timezone.utc`` too."""
    if connection.vendor == "postgresql" and connection.timezone is UTC and (loader := _c_timestamp_loader()):
        connection.connection.adapters.register_loader("timestamptz", loader)


@cache
def _c_timestamp_loader() -> type | None:
    try:
        from psycopg_binary._psycopg import TimestamptzLoader as CLoader
    except ImportError:  # psycopg without its binary part: Django's loader stays
        return None
    from psycopg.adapt import Loader

    class TimestamptzLoader(Loader):
        timezone = UTC  # what Django's cursor factory compares with the connection's zone

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self.load = CLoader(oid, context).load  # psycopg calls the C method directly

        def load(self, data):  # replaced per instance; declared for the abstract base class
            raise NotImplementedError

    return TimestamptzLoader
