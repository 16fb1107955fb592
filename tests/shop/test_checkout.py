"""Checkout: one order per store in one group, exact Decimal totals, atomic stock, idempotency."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.api.renderers import FastJSONRenderer
from shop.api.orders_serializers import CheckoutOut
from shop.choices import OrderStatus
from shop.models import SKU, CartItem, CheckoutGroup, IdempotencyKey, Order, OrderEvent
from shop.selectors_orders import orders_for_list
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.factories.shop import ProductFactory, SKUFactory, StoreFactory
from tests.helpers import assert_error
from tests.shop.orders_support import ORDERS, buyer_with_address, checkout, new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(client_for, user):
    return buyer_with_address(client_for, user)


def stock(sku: SKU) -> int:
    return SKU.objects.values_list("stock", flat=True).get(pk=sku.pk)


def test_a_cart_across_two_stores_makes_two_orders_in_one_group(buyer, user):
    lipstick = SKUFactory(price=Decimal("59.90"), stock=5)
    serum = SKUFactory(price=Decimal("120.00"), stock=3)
    for sku, quantity in ((lipstick, 1), (serum, 2)):
        buyer.post("/api/v1/shop/cart/items", {"sku": sku.pk, "quantity": quantity}, format="json")

    response = checkout(buyer, note="请尽快发货")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "309.90" and body["currency"] == "CNY"  # 59.90 + 10.00 shipping + 240.00
    assert CheckoutGroup.objects.get(pk=body["id"]).orders.count() == 2
    by_store = {order["store_id"]: order for order in body["orders"]}
    small = by_store[lipstick.product.store_id]
    assert (small["lines_total"], small["shipping_total"], small["discount_total"], small["total"]) == (
        "59.90",
        "10.00",
        "0.00",
        "69.90",
    )
    big = by_store[serum.product.store_id]
    assert (big["lines_total"], big["shipping_total"], big["total"]) == ("240.00", "0.00", "240.00")
    assert big["lines"][0] | {"id": 0} == {
        "id": 0,
        "sku": serum.pk,
        "product": serum.product_id,
        "title": serum.product.title,
        "sku_name": serum.name,
        "unit_price": "120.00",
        "quantity": 2,
        "line_total": "240.00",
        "source_note": None,
    }
    assert {o["status"] for o in body["orders"]} == {OrderStatus.PENDING_PAYMENT}
    assert small["buyer_note"] == "请尽快发货" and small["shipping_address"]["recipient"] == "王小红"
    assert (stock(lipstick), stock(serum)) == (4, 1)
    assert not CartItem.objects.filter(user=user).exists()
    assert (
        OrderEvent.objects.filter(order__group_id=body["id"], to_status=OrderStatus.PENDING_PAYMENT).count()
        == 2
    )


def test_the_answer_is_what_the_order_api_reads_back_in_a_fixed_number_of_queries(buyer, user):
    """The answer is written from the orders as placed, not read back: it must be what
    ``CheckoutOut`` makes of the stored orders. And a checkout's statements do not grow with its
    lines or stores (the group, orders, lines and events are one insert each)."""
    note = NoteFactory()
    cart = [SKUFactory(price=Decimal("59.90")), SKUFactory(price=Decimal("120.00"))]
    cart.append(SKUFactory(product=ProductFactory(store=cart[1].product.store), price=Decimal("0.10")))

    counts = []
    for items in (cart[:1], cart):
        body = {"items": [{"sku": sku.pk, "quantity": 2, "source_note": note.pk} for sku in items]}
        with CaptureQueriesContext(connection) as queries:
            response = buyer.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
        assert response.status_code == 201, response.content
        counts.append(len(queries))

    answer = response.json()
    orders = orders_for_list(user=user).filter(group_id=answer["id"]).order_by("id")
    stored = CheckoutOut({"id": answer["id"], "total": answer["total"], "orders": orders}).data
    assert len(answer["orders"]) == 2 and answer["orders"][1]["lines"][1]["source_note"] == note.pk
    assert answer == json.loads(FastJSONRenderer().render(stored))
    # 1 store and 1 SKU, then 2 stores and 3 SKUs: only the stock updates (one per SKU) add up.
    assert counts[1] - counts[0] == 2


def test_explicit_items_leave_the_cart_alone_and_keep_the_source_note(buyer, user):
    sku, other = SKUFactory(), SKUFactory()
    note = NoteFactory()
    buyer.post("/api/v1/shop/cart/items", {"sku": other.pk}, format="json")

    response = buyer.post(
        ORDERS,
        {"items": [{"sku": sku.pk, "quantity": 2, "source_note": note.pk}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )

    assert response.status_code == 201, response.content
    line = response.json()["orders"][0]["lines"][0]
    assert (line["sku"], line["quantity"], line["source_note"]) == (sku.pk, 2, note.pk)
    assert list(CartItem.objects.filter(user=user).values_list("sku_id", flat=True)) == [other.pk]


def test_checkout_refusals_change_nothing(buyer):
    sku = SKUFactory(stock=2, per_order_limit=3)
    off_sale = SKUFactory(is_active=False)

    assert_error(checkout(buyer, [(sku, 3)]), 409, "out_of_stock")
    assert_error(checkout(buyer, [(sku, 4)]), 400, "over_limit")
    assert_error(checkout(buyer, [(off_sale, 1)]), 409, "unavailable")
    assert_error(checkout(buyer, [(sku, 1), (sku, 1)]), 400, "invalid")
    assert_error(checkout(buyer), 400, "empty_cart")
    error = assert_error(checkout(buyer, [(sku, 1)], expected_total="109.00"), 409, "price_changed")
    assert error["fields"] == {"expected_total": ["The total is now 99.00."]}
    assert_error(checkout(buyer, [(sku, 1)], address=999999), 400, "invalid")
    # Ids no column can hold (the compiled reads take them as they come) are unknown, not a 500.
    assert_error(checkout(buyer, [(sku, 1)], address=10**20), 400, "invalid")
    huge = buyer.post(
        ORDERS, {"items": [{"sku": 10**20, "quantity": 1}]}, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert_error(huge, 400, "invalid")
    # The list may be null (buy the cart), an item may not (found by fuzzing the schema: a 500).
    nulls = buyer.post(
        ORDERS,
        {"items": [None, {"sku": sku.pk, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert "items" in assert_error(nulls, 400, "invalid")["fields"]

    assert stock(sku) == 2
    assert not Order.objects.exists()


def test_the_same_sku_on_two_lines_cannot_get_past_the_per_order_limit(buyer):
    sku = SKUFactory(stock=10, per_order_limit=3)
    error = assert_error(checkout(buyer, [(sku, 2), (sku, 2)]), 400, "invalid")  # 2 + 2 > 3
    assert error["fields"] == {"items": ["Give each SKU once."]}
    assert (stock(sku), Order.objects.count()) == (10, 0)
    buyer.post("/api/v1/shop/cart/items", {"sku": sku.pk, "quantity": 2}, format="json")
    again = buyer.post("/api/v1/shop/cart/items", {"sku": sku.pk, "quantity": 2}, format="json")
    assert assert_error(again, 400, "over_limit")["fields"] == {"quantity": ["At most 3."]}
    SKU.objects.filter(pk=sku.pk).update(per_order_limit=1)  # lowered while it sat in the cart
    assert_error(checkout(buyer), 400, "over_limit")
    assert (stock(sku), list(CartItem.objects.values_list("quantity", flat=True))) == (10, [2])


def test_stock_from_one_store_is_not_taken_when_another_sells_out(buyer):
    plenty, scarce = SKUFactory(stock=5), SKUFactory(stock=1)
    assert_error(checkout(buyer, [(plenty, 2), (scarce, 2)]), 409, "out_of_stock")
    assert (stock(plenty), stock(scarce)) == (5, 1)


def test_checkout_needs_an_idempotency_key_and_a_login(buyer, anon_client):
    sku = SKUFactory()
    error = assert_error(
        buyer.post(ORDERS, {"items": [{"sku": sku.pk, "quantity": 1}]}, format="json"), 400, "idempotency_key"
    )
    assert "Idempotency-Key" in error["message"]
    assert_error(checkout(anon_client, [(sku, 1)]), 401, "not_authenticated")


def test_the_last_unit_sells_once_when_buyers_come_one_after_another(client_for):
    sku = SKUFactory(stock=1)
    buyers = [buyer_with_address(client_for, UserFactory()) for _ in range(5)]

    responses = [checkout(client, [(sku, 1)]) for client in buyers]

    assert [r.status_code for r in responses] == [201, 409, 409, 409, 409]
    for response in responses[1:]:
        assert_error(response, 409, "out_of_stock")
    assert stock(sku) == 0
    assert Order.objects.count() == 1


def test_ten_repeats_of_one_key_replay_the_first_answer(buyer):
    sku = SKUFactory(stock=10)
    responses = [checkout(buyer, [(sku, 2)], key="same-key") for _ in range(10)]

    assert {r.status_code for r in responses} == {201}
    assert all(r.json() == responses[0].json() for r in responses)
    assert Order.objects.count() == 1 and stock(sku) == 8


def test_a_refusal_is_replayed_too(buyer):
    sku = SKUFactory(stock=1)
    first = checkout(buyer, [(sku, 2)], key="k")
    SKU.objects.filter(pk=sku.pk).update(stock=5)
    again = checkout(buyer, [(sku, 2)], key="k")
    assert_error(again, 409, "out_of_stock")
    assert again.json() == first.json()
    assert not Order.objects.exists()


def test_a_key_reused_with_another_body_is_422(buyer):
    sku = SKUFactory(stock=10)
    assert checkout(buyer, [(sku, 1)], key="k").status_code == 201
    error = assert_error(checkout(buyer, [(sku, 2)], key="k"), 422, "idempotency_key_reused")
    assert "another request" in error["message"]
    assert Order.objects.count() == 1 and stock(sku) == 9


def test_keys_are_scoped_per_user(buyer, client_for):
    sku = SKUFactory(stock=10)
    other = buyer_with_address(client_for, UserFactory())
    first, second = checkout(buyer, [(sku, 1)], key="k"), checkout(other, [(sku, 1)], key="k")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert IdempotencyKey.objects.filter(key="k").count() == 2


def test_keys_are_kept_for_a_day_then_purged(buyer, settings):
    from datetime import timedelta

    from django.utils import timezone

    from shop.services.idempotency import idempotency_keys_purge

    checkout(buyer, [(SKUFactory(), 1)], key="k")
    assert idempotency_keys_purge(now=timezone.now() + timedelta(hours=23)) == 0
    assert idempotency_keys_purge(now=timezone.now() + timedelta(hours=25)) == 1
    assert not IdempotencyKey.objects.exists()


def test_another_brand_owner_sees_no_store_orders(buyer, client_for):
    store = StoreFactory()
    sku = SKUFactory(product=ProductFactory(store=store))
    checkout(buyer, [(sku, 1)])
    owner, stranger = client_for(store.brand.owner), client_for(UserFactory())
    assert [o["store_id"] for o in owner.get(f"{ORDERS}?as=brand").json()["results"]] == [store.pk]
    assert stranger.get(f"{ORDERS}?as=brand").json()["results"] == []
    assert stranger.get(ORDERS).json()["results"] == []
