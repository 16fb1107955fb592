"""A sweep of malformed requests against the feeds, search, profile and shop endpoints: each is answered,
and every refusal is a 4xx in the one JSON error shape, never a 500."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GETS = [
    "/api/v1/search",
    "/api/v1/search?q=a&type=x",
    "/api/v1/search?q=a&cursor=zzz",
    "/api/v1/search?q=a&cursor=bz0xMA==&sort=popular",
    "/api/v1/search?q=%00%00",
    "/api/v1/search/suggest",
    "/api/v1/feed/discover?cursor=zz",
    "/api/v1/feed/discover?category=zz",
    "/api/v1/feed/following?cursor=abc",
    "/api/v1/feed/nearby?lat=x&lng=1",
    "/api/v1/feed/nearby?lat=91&lng=1",
    "/api/v1/feed/nearby",
    "/api/v1/shop/products?min_price=abc",
    "/api/v1/shop/products?sort=zz",
    "/api/v1/shop/products?page_size=x&cursor=%25%25",
    "/api/v1/shop/products?brand=nope&in_stock=maybe",
    "/api/v1/shop/products?max_price=1e999",
    "/api/v1/shop/products?min_price=-1&max_price=NaN",
    "/api/v1/shop/products/999999",
    "/api/v1/shop/products/999999/reviews",
    "/api/v1/shop/orders?as=zz",
    "/api/v1/shop/orders/99999",
    "/api/v1/shop/attribution/notes/99999",
    "/api/v1/shop/attribution/notes?cursor=zz",
    # A NUL in a name: PostgreSQL text cannot hold one, so it must not reach a query.
    "/api/v1/users/a%00b",
    "/api/v1/users/a%00b/notes",
    "/api/v1/users/a%00b/boards",
    "/api/v1/users/a%00b/collects",
    "/api/v1/users/a%00b/followers",
    "/api/v1/topics/a%00b",
    "/api/v1/topics/a%00b/notes",
]
POSTS = [
    ("/api/v1/shop/cart/items", {"sku": 99999}),
    ("/api/v1/shop/cart/items", {"sku": "x"}),
    ("/api/v1/shop/cart/items", []),
    ("/api/v1/shop/orders", {"items": [{"sku": 99999, "quantity": 1}]}),
    ("/api/v1/shop/orders", {"items": "x"}),
    ("/api/v1/shop/orders", {"items": [{"sku": 1, "quantity": 10**12}]}),
    ("/api/v1/shop/orders", {"items": [{"sku": 10**20, "quantity": 1}]}),
    ("/api/v1/shop/orders", {"items": [{"sku": 1, "quantity": 1}], "address": 10**20}),
    ("/api/v1/shop/addresses", {"recipient": "a"}),
    ("/api/v1/shop/products", {"title": "x"}),
    ("/api/v1/shop/orders/999/pay", {"token": "x"}),
    ("/api/v1/shop/payments/webhook/sandbox", {"a": 1}),
    ("/api/v1/shop/payments/webhook/nope", {"a": 1}),
    ("/api/v1/reports", {"target_type": "note", "target_id": 10**20, "reason": "spam"}),
    ("/api/v1/notes/99999/not-interested", {}),
    ("/api/v1/users/a%00b/follow", {}),
    ("/api/v1/me/follow-requests/a%00b/approve", {}),
]


def _check(response, request) -> None:
    assert response.status_code < 500, (request, response.content)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"]), request


@pytest.mark.parametrize("signed_in", [True, False])
def test_malformed_requests_get_json_4xx_never_500(client_for, anon_client, signed_in):
    client = client_for(UserFactory()) if signed_in else anon_client
    for url in GETS:
        _check(client.get(url), url)
    for n, (url, body) in enumerate(POSTS):  # a key each: one shared key would answer 422 after the first
        _check(client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"sweep-{n}"), (url, body))
