"""Compiled-once ORM queries for the hottest reads.

Building and compiling a queryset such as ``notes_for_cards(viewer)`` (the visibility rule's joins and
``EXISTS`` subqueries) costs about ten times the CPU of running the SQL it produces. A
:class:`PreparedQuery` builds the queryset once per *shape* with placeholder values, keeps its SQL, its
parameters and its result converters, and runs that SQL again with each request's values. The rules
themselves stay written once, in the ORM; only the compile step is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet

#: Placeholders are integers no id or constant can be; each argument value gets its own.
_PLACEHOLDER_BASE = -(2**62)


class PreparedQuery:
    """A ``.values(...)`` queryset from ``build(*args, **shape)``, compiled once per shape.

    Positional arguments are run-time values: an ``int`` (an id) or a list of ints. They are passed to
    ``build`` as placeholder integers, which must reach the SQL as parameters (this is checked when it
    compiles; a value the ORM writes into the SQL text, such as a slice's ``LIMIT``, belongs in
    ``shape``). ``None`` is passed through and is part of the shape, as is each list's length and every
    keyword argument: one compiled query per combination.
    """

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[Hashable, tuple[str, tuple, dict[int, int], list[str], Any, list]] = {}

    def rows(self, *args, using: str = "default", **shape) -> list[dict]:
        connection = connections[using]
        key = (connection.vendor, tuple(_shape_of(arg) for arg in args), tuple(sorted(shape.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(args, shape, using)
        sql, params, slots, names, compiler, converters = compiled
        values = list(_flatten(args))
        params = [values[slots[p]] if type(p) is int and p in slots else p for p in params]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _compile(self, args: tuple, shape: dict, using: str):
        counter = itertools.count()
        placeholders = [_placeholder(arg, counter) for arg in args]
        queryset = self.build(*placeholders, **shape)
        query = queryset.query
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = {p: i for i, p in enumerate(_flatten(placeholders))}
        missing = set(slots) - {p for p in params if type(p) is int}
        if missing:
            raise ImproperlyConfigured(f"{self.build!r}: an argument did not reach the SQL as a parameter.")
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        return sql, tuple(params), slots, names, compiler, converters


def _shape_of(arg) -> Hashable:
    if arg is None:
        return None
    if isinstance(arg, list | tuple):
        return ("list", len(arg))
    if type(arg) is not int:
        raise TypeError(f"Run-time arguments are ints or lists of ints, not {type(arg).__name__}.")
    return "id"


def _placeholder(arg, counter: itertools.count):
    if arg is None:
        return None
    if isinstance(arg, list | tuple):
        return [_PLACEHOLDER_BASE - next(counter) for _ in arg]
    return _PLACEHOLDER_BASE - next(counter)


def _flatten(args):
    for arg in args:
        if isinstance(arg, list | tuple):
            yield from arg
        elif arg is not None:
            yield arg
