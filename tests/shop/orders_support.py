"""Shared helpers of the cart, checkout, payment and order tests."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.db.models import Sum

from shop.choices import OrderStatus, PaymentStatus
from shop.models import SKU, Order, OrderLine, Payment
from shop.payments.sandbox import signed_webhook
from shop.services.payments import payment_webhook_receive
from tests.factories.shop import AddressFactory

ORDERS = "/api/v1/shop/orders"
WEBHOOK = "/api/v1/shop/payments/webhook/sandbox"
_keys = itertools.count(1)
# Spelled out here rather than imported, so that the invariants do not trust the code they check.
PAID = [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED]
GIVEN_BACK = [OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REFUNDED]


def new_key() -> str:
    return f"key-{next(_keys)}"


def buyer_with_address(client_for, user):
    """``user``'s API client, with a default address."""
    AddressFactory(user=user)
    return client_for(user)


def checkout(
    client,
    items: list[tuple[SKU, int]] | None = None,
    *,
    key: str | None = None,
    source_note: int | None = None,
    **body,
):
    """POST shop/orders for these (sku, quantity) pairs (the cart when None), each coming from
    ``source_note`` when given."""
    if items is not None:
        came_from = {"source_note": source_note} if source_note else {}
        body["items"] = [{"sku": sku.pk, "quantity": quantity, **came_from} for sku, quantity in items]
    return client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key())


def place_order(client, sku: SKU, quantity: int = 1) -> dict:
    response = checkout(client, [(sku, quantity)])
    assert response.status_code == 201, response.content
    return response.json()["orders"][0]


def pay(client, order_id: int, token: str = "tok_success"):
    """Start paying; with the sandbox's webhook run on commit by the caller's capture block."""
    return client.post(f"{ORDERS}/{order_id}/pay", {"token": token}, format="json")


def paid_order(buyer, sku, quantity: int = 2, **body) -> dict:
    """An order paid through a delayed sandbox intent settled by its signed webhook."""
    response = checkout(buyer, [(sku, quantity)], **body)
    assert response.status_code == 201, response.content
    order = response.json()["orders"][0]
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    headers, body = signed_webhook(kind="payment.succeeded", intent_id=intent["intent_id"])
    payment_webhook_receive(provider="sandbox", headers=headers, body=body)
    return order


def delivered_order(buyer, brand, sku, quantity: int = 1, **body) -> dict:
    """A paid order the ``brand`` client shipped and the ``buyer`` client confirmed."""
    order = paid_order(buyer, sku, quantity, **body)
    ship = {"carrier": "顺丰", "tracking_number": f"SF{order['id']:010d}"}
    assert brand.post(f"{ORDERS}/{order['id']}/ship", ship, format="json").status_code == 200
    assert buyer.post(f"{ORDERS}/{order['id']}/confirm").json()["status"] == "delivered"
    return order


def send_webhook(client, intent_id: str, kind: str = "payment.succeeded", **kwargs):
    headers, body = signed_webhook(kind=kind, intent_id=intent_id, **kwargs)
    return client.post(
        WEBHOOK, body, content_type="application/json", HTTP_SANDBOX_SIGNATURE=headers["Sandbox-Signature"]
    )


def status_of(order_id: int) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order_id)


def assert_stock_and_money_consistent(initial_stock: dict[int, int]) -> None:
    """Stock plus what live orders hold equals what there was; paid money equals what paid orders
    are worth, to the cent; refunded money belongs to orders that no longer hold anything."""
    for sku_id, initial in initial_stock.items():
        held = (
            OrderLine.objects.filter(sku_id=sku_id)
            .exclude(order__status__in=GIVEN_BACK)
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        stock = SKU.objects.values_list("stock", flat=True).get(pk=sku_id)
        assert stock >= 0
        assert stock + held == initial, (sku_id, stock, held, initial)
    zero = Decimal("0.00")
    captured = Payment.objects.filter(status=PaymentStatus.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or zero
    owed = Order.objects.filter(status__in=PAID).aggregate(s=Sum("total"))["s"] or zero
    assert captured == owed
    for order in Order.objects.prefetch_related("payments"):
        succeeded = [p for p in order.payments.all() if p.status == PaymentStatus.SUCCEEDED]
        assert len(succeeded) == (1 if order.status in PAID else 0), order
        assert all(p.amount == order.total for p in succeeded)
        if order.status == OrderStatus.PENDING_PAYMENT:
            assert order.paid_at is None
