"""The API's URL patterns, grouped by their first path segment.

Django tries a list of patterns in order and records each one it tried, so a path near the end of the
API's ~70 patterns paid for all those before it: resolving ``users/<name>`` took 387k instructions,
``shop/products/<id>`` 558k (a sixth of a profile request), against 44k for a pattern at the top.
:func:`by_first_segment` keeps the apps' patterns as they are written (full paths, busiest first) and
puts each group of the same first segment behind one :class:`FirstSegment` test, which consumes
nothing: a request tries the groups' tests, then only its own group's patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RoutePattern


class FirstSegment:
    """A pattern matching the paths whose first segment is ``head``, consuming nothing, in the manner
    of Django's ``LocalePrefixPattern``: it adds nothing to the group's routes (``str`` is empty, so
    reversing, ``ResolverMatch.route`` and the OpenAPI schema see the routes as written)."""

    converters: dict = {}
    regex = re.compile("")  # what reverse() puts before the group's routes

    def __init__(self, head: str):
        self.head, self._prefix = head, f"{head}/"

    def match(self, path: str):
        return (path, (), {}) if path == self.head or path.startswith(self._prefix) else None

    def check(self) -> list:
        return []

    def describe(self) -> str:
        return f"'{self.head}/...'"

    def __str__(self) -> str:
        return ""


def _flattened(patterns: Iterable) -> Iterable[URLPattern]:
    """The patterns, with plain ``path("", include(...))`` lists opened in place."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            plain = (
                isinstance(pattern.pattern, RoutePattern)
                and str(pattern.pattern) == ""
                and not pattern.namespace
                and not pattern.default_kwargs
            )
            if not plain:
                raise ImproperlyConfigured(f"{pattern!r}: only plain includes can be grouped.")
            yield from _flattened(pattern.url_patterns)
        else:
            yield pattern


def by_first_segment(patterns: Iterable) -> list[URLResolver]:
    """``patterns`` grouped by the literal first segment of their routes, each group in its original
    order, the groups in the order of their first pattern. Paths with different first segments
    never match the same pattern, so this resolves every path as the flat list did."""
    groups: dict[str, list[URLPattern]] = {}
    for pattern in _flattened(patterns):
        head = str(pattern.pattern).split("/", 1)[0]
        if not isinstance(pattern.pattern, RoutePattern) or not re.fullmatch(r"[\w.-]+", head):
            raise ImproperlyConfigured(f"{pattern!r}: a grouped route starts with a literal segment.")
        groups.setdefault(head, []).append(pattern)
    return [URLResolver(FirstSegment(head), group) for head, group in groups.items()]
