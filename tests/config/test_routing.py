"""The API's patterns are grouped by first segment (``config.api.routing``): every path resolves as
the flat list resolved it, and trying a path costs its group's patterns, not all those before it."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import include, path, resolve
from django.urls.resolvers import RoutePattern, URLResolver

from config.api.routing import _flattened, by_first_segment
from config.urls import API_PATTERNS

FLAT = list(_flattened(API_PATTERNS))
GROUPS = by_first_segment(API_PATTERNS)


def _sample(route: str) -> str:
    """A path the route matches: converters filled with a value of their kind."""
    return re.sub(r"<(\w+):\w+>", lambda m: "7" if m.group(1) in ("id", "int") else "some-name", route)


@pytest.mark.parametrize("pattern", FLAT, ids=lambda p: str(p.pattern))
def test_every_api_path_resolves_as_the_flat_list_did(pattern):
    sample = _sample(str(pattern.pattern))
    flat = URLResolver(RoutePattern(""), FLAT).resolve(sample)  # the first match in the old order
    match = resolve(f"/api/v1/{sample}")
    assert (match.url_name, match.func, match.kwargs) == (flat.url_name, flat.func, flat.kwargs)
    assert match.url_name == pattern.name and match.namespace == "v1"
    own = next(len(g.url_patterns) for g in GROUPS if g.pattern.match(sample))
    assert len(match.tried) <= len(GROUPS) + own < len(FLAT)


def test_paths_outside_every_group_get_the_api_404():
    # CSRF checked as a browser's cookie would have it checked: an unknown path written to was
    # Django's CSRF 403 page, and one with a newline Django's HTML 404 (found by fuzzing the schema).
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "anything"
    bad_paths = (
        "/api/v1/feedx",
        "/api/v1/notes/abc",
        "/api/v1/nothing/here",
        "/api/v1/",
        "/api/v1/media/%26%0AK",
    )
    for bad in bad_paths:
        for method in ("get", "post", "delete"):
            response = getattr(client, method)(bad)
            assert response.status_code == 404, (method, bad)
            assert response.json()["error"]["code"] == "not_found", (method, bad)


def test_groups_refuse_what_they_cannot_group():
    with pytest.raises(ImproperlyConfigured):
        by_first_segment([path("<int:pk>/x", lambda r: None)])
    with pytest.raises(ImproperlyConfigured):
        by_first_segment([path("", include(([path("a", lambda r: None)], "app"), namespace="ns"))])


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("route", ["notes/{}", "notes/{}/like", "notes/{}/collect", "shop/products/{}"])
def test_an_id_past_64_bits_names_nothing_and_is_the_api_404(api, method, route):
    """A like writes the id into its statement: past ``bigint`` it overflowed the column (a 500)."""
    for too_long in (2**63, 10**30):
        response = getattr(api, method)(f"/api/v1/{route.format(too_long)}", {}, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", (
            response.content
        )
    largest = getattr(api, method)(f"/api/v1/{route.format(2**63 - 1)}", {}, format="json")
    assert largest.status_code in (404, 405) and largest.json()["error"]["code"] in (
        "not_found",
        "method_not_allowed",
    )
