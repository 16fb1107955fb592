"""Checkout under real concurrency (PostgreSQL only): the last unit sells once, one key makes
one order, a key in flight is a 409."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from shop.choices import ProductStatus
from shop.models import SKU, IdempotencyKey, Order, Product
from shop.services.catalogue import product_update
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.factories.shop import SKUFactory
from tests.helpers import assert_error, held_in_another_session, queued_behind, run_together
from tests.shop.orders_support import buyer_with_address, checkout

pytestmark = [requires_postgres(), pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_fifty_buyers_of_the_last_unit_make_exactly_one_order(client_for, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "100/m/ip"}
    sku = SKUFactory(stock=1)
    buyers = [buyer_with_address(client_for, UserFactory()) for _ in range(50)]

    responses = run_together([lambda client=client: checkout(client, [(sku, 1)]) for client in buyers])

    assert sorted(r.status_code for r in responses) == [201] + [409] * 49
    for response in responses:
        if response.status_code == 409:
            error = assert_error(response, 409, "out_of_stock")
            assert error["fields"] == {"items": [f"{sku.name}: not enough stock."]}
    assert SKU.objects.get(pk=sku.pk).stock == 0
    assert Order.objects.count() == 1
    assert Order.objects.get().lines.get().quantity == 1


def test_five_concurrent_repeats_of_one_key_make_one_order(client_for, user):
    sku = SKUFactory(stock=10)
    buyer = buyer_with_address(client_for, user)
    clients = [client_for(user) for _ in range(5)]
    assert buyer.user == user

    responses = run_together([lambda c=c: checkout(c, [(sku, 3)], key="one-key") for c in clients])

    assert [r.status_code for r in responses] == [201] * 5
    assert all(r.json() == responses[0].json() for r in responses)
    assert Order.objects.count() == 1
    assert SKU.objects.get(pk=sku.pk).stock == 7


def test_a_key_still_in_flight_is_a_409(client_for, user, settings):
    settings.SHOP_IDEMPOTENCY_WAIT_MS = 200
    sku = SKUFactory(stock=10)
    buyer = buyer_with_address(client_for, user)

    def first_request_still_running():
        IdempotencyKey.objects.create(user=user, key="busy", fingerprint="x")

    with held_in_another_session(first_request_still_running):
        error = assert_error(checkout(buyer, [(sku, 1)], key="busy"), 409, "in_flight")
        assert "still in progress" in error["message"]
    assert not Order.objects.exists()
    assert checkout(buyer, [(sku, 1)], key="busy").status_code == 201


def test_the_bound_on_waiting_for_a_key_does_not_bound_the_checkouts_own_waits(client_for, user, settings):
    """The claim of the key waits at most ``SHOP_IDEMPOTENCY_WAIT_MS``; the checkout after it may
    wait for a busy SKU as long as that takes."""
    settings.SHOP_IDEMPOTENCY_WAIT_MS = 1
    sku = SKUFactory(stock=10)
    buyer = buyer_with_address(client_for, user)

    def another_checkout_takes_the_stock():
        SKU.objects.filter(pk=sku.pk).update(stock=9)

    [response] = queued_behind(another_checkout_takes_the_stock, [lambda: checkout(buyer, [(sku, 1)])])

    assert response.status_code == 201, response.content
    assert SKU.objects.get(pk=sku.pk).stock == 9  # the other session rolled back


def test_a_brand_edits_its_product_while_a_checkout_of_it_is_in_flight(user):
    """A checkout writes its order lines before it takes the stock, so until it commits it holds
    the KEY SHARE locks of their foreign keys on the SKU and the product. An edit locks them FOR NO
    KEY UPDATE, which does not wait for those (FOR UPDATE did, and could deadlock with the stock)."""
    sku = SKUFactory(stock=10)
    product = sku.product
    Product.objects.filter(pk=product.pk).update(status=ProductStatus.DRAFT)  # sellable without images

    def checkout_in_flight():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM shop_sku WHERE id = %s FOR KEY SHARE", [sku.pk])
            cursor.execute("SELECT 1 FROM shop_product WHERE id = %s FOR KEY SHARE", [product.pk])

    with held_in_another_session(checkout_in_flight), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        product_update(
            product=product,
            editor=product.store.brand.owner,
            data={"title": "新版标题"},
            skus=[{"id": sku.pk, "stock": 20}],
        )
    assert Product.objects.get(pk=product.pk).title == "新版标题"
    assert SKU.objects.get(pk=sku.pk).stock == 20
