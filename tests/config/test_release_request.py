"""A request leaves no reference cycles behind (``config.middleware.ReleaseRequestMiddleware``):
what it built is freed when its response is, not by the cyclic collector in the middle of a later
request. Each case runs once to warm up (first compiles and connections make lasting objects),
then once with the collector off; ``gc.collect()`` then counts what that request left unreachable.

Django's own small cycles remain where a request makes them (a few objects, not the page): a model
instance and the file of its image field, a one-to-one pair cached both ways, the ORM compiler's
recursive helper for ``select_related`` (where a query is compiled per request), an input serializer
and its bound fields (a write's body), and a validation error that lists itself (a 400 leaves its
traceback to the collector; errors are not the hot path)."""

from __future__ import annotations

import gc
import json

import pytest
from django.conf import settings as django_settings
from django.test.client import ClientHandler, RequestFactory

from tests.factories import UserFactory
from tests.factories.shop import product_for_sale
from tests.notes.feeds_support import follow, publish

pytestmark = pytest.mark.django_db

RELEASE = "config.middleware.ReleaseRequestMiddleware"


def _left_behind(handler: ClientHandler, method: str, path: str, token: str = "", body: dict | None = None):
    """(status, objects the request left to the collector)."""

    def environ():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = json.dumps(body) if body is not None else ""
        return RequestFactory().generic(method, path, data, "application/json", headers=headers).environ

    handler(environ())
    gc.collect()
    gc.disable()
    try:
        status = handler(environ()).status_code  # the response is dropped here
        return status, gc.collect()
    finally:
        gc.enable()


@pytest.fixture
def world(client_for):
    reader, author = UserFactory(), UserFactory()
    follow(reader, author)
    note = publish(author)
    publish(author)
    product = product_for_sale()
    return {
        "token": client_for(reader).tokens["access_token"],
        "note": note.pk,
        "author": author.username,
        "product": product.pk,
    }


#: (name, method, path, signed in, body, status, most objects left: Django's own small cycles)
CASES = [
    ("following feed", "GET", "/api/v1/feed/following", True, None, 200, 0),
    ("discover feed", "GET", "/api/v1/feed/discover", True, None, 200, 3),
    ("discover feed, anonymous", "GET", "/api/v1/feed/discover", False, None, 200, 3),
    ("note detail", "GET", "/api/v1/notes/{note}", True, None, 200, 0),
    ("comments", "GET", "/api/v1/notes/{note}/comments", True, None, 200, 0),
    ("user notes", "GET", "/api/v1/users/{author}/notes", True, None, 200, 0),
    ("profile", "GET", "/api/v1/users/{author}", True, None, 200, 5),
    ("product list, filtered", "GET", "/api/v1/shop/products?sort=price_asc", False, None, 200, 3),
    ("product detail", "GET", "/api/v1/shop/products/{product}", False, None, 200, 8),
    ("search", "GET", "/api/v1/search?q=note", True, None, 200, 0),
    ("like", "POST", "/api/v1/notes/{note}/like", True, None, 200, 0),
    ("comment", "POST", "/api/v1/notes/{note}/comments", True, {"body": "写得好"}, 201, 30),
    ("a 404", "GET", "/api/v1/notes/999999", True, None, 404, 0),
    ("a 401", "GET", "/api/v1/feed/following", False, None, 401, 0),
]


@pytest.mark.parametrize(
    "name, method, path, signed_in, body, status, most", CASES, ids=[case[0] for case in CASES]
)
def test_a_request_leaves_nothing_to_the_collector(world, name, method, path, signed_in, body, status, most):
    handler = ClientHandler(enforce_csrf_checks=False)
    token = world["token"] if signed_in else ""
    answered, left = _left_behind(handler, method, path.format(**world), token, body)
    assert answered == status
    assert left <= most


def test_without_it_a_feed_page_is_left_to_the_collector(world, settings):
    """The measure above can fail: DRF's view, request and response (and the page's serializers,
    holding every card) link each other."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != RELEASE]
    answered, left = _left_behind(
        ClientHandler(enforce_csrf_checks=False), "GET", "/api/v1/feed/following", world["token"]
    )
    assert answered == 200
    assert left > 50


def test_it_runs_last_and_the_answer_keeps_its_data(api):
    assert django_settings.MIDDLEWARE[0] == RELEASE  # first in the list: last to see the response
    response = api.get("/api/v1/feed/following")
    assert response.status_code == 200
    assert response.data["results"] == [] and response.json() == {"results": [], "next": None}
