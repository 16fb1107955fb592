"""The order state machine: the one place an order's status changes.

Every other service locks the order (``order_lock``) and then calls ``order_transition``, which
refuses illegal moves (409), records an ``OrderEvent``, keeps stock and sales counters (and the
verified-purchase badges of the buyer's reviews) in step with the status, and tells the buyer and the
brand.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from accounts.choices import NotificationVerb
from accounts.services import notify
from config.errors import Conflict
from shop.choices import OrderStatus as S
from shop.models import SKU, Order, OrderEvent, Product
from shop.services.reviews import RECEIVED_STATUSES, order_reviews_verify

TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED, S.EXPIRED},
    S.PAID: {S.SHIPPED, S.CANCELLED, S.REFUNDED},
    S.SHIPPED: {S.DELIVERED, S.REFUNDED},
    S.DELIVERED: {S.COMPLETED, S.REFUNDED},
    S.COMPLETED: {S.REFUNDED},
}
# Statuses in which the buyer has paid and holds the goods or a claim to them.
PAID_STATUSES = frozenset({S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED})
# Statuses that hand the reserved stock back.
RELEASING_STATUSES = frozenset({S.CANCELLED, S.EXPIRED, S.REFUNDED})
_STAMPS = {S.PAID: "paid_at", S.SHIPPED: "shipped_at", S.DELIVERED: "delivered_at"}


def order_lock(*, order_id: int) -> Order:
    """The order, its row locked until the transaction ends (with its store and brand)."""
    return Order.objects.select_for_update(of=("self",)).select_related("store__brand").get(pk=order_id)


def _move_stock_and_sales(order: Order, *, to: str) -> None:
    """Give stock back when the order is abandoned; count sales while it is paid for."""
    lines = list(order.lines.values_list("sku_id", "product_id", "quantity"))
    if to in RELEASING_STATUSES:
        for sku_id, _, quantity in sorted(lines):
            SKU.objects.filter(pk=sku_id).update(stock=F("stock") + quantity)
    if to == S.PAID:
        sales_delta = 1
    elif order.status in PAID_STATUSES and to in RELEASING_STATUSES:
        sales_delta = -1
    else:
        return
    for _, product_id, quantity in lines:
        Product.objects.filter(pk=product_id).update(sales_count=F("sales_count") + sales_delta * quantity)


def order_transition(*, order: Order, to: str, actor=None, note: str = "", **fields) -> Order:
    """Move a locked order (``order_lock``) to ``to``, saving ``fields`` with it. Illegal moves are
    a 409 ``illegal_transition``."""
    if to not in TRANSITIONS.get(order.status, ()):
        raise Conflict(
            f"An order that is {S(order.status).label.lower()} cannot become {S(to).label.lower()}.",
            code="illegal_transition",
        )
    _move_stock_and_sales(order, to=to)
    stamp = _STAMPS.get(to, "closed_at")
    from_status, order.status = order.status, to
    for name, value in {stamp: timezone.now(), **fields}.items():
        setattr(order, name, value)
    order.save(update_fields=["status", stamp, *fields])
    OrderEvent.objects.create(order=order, actor=actor, from_status=from_status, to_status=to, note=note)
    if (from_status in RECEIVED_STATUSES) != (to in RECEIVED_STATUSES):
        order_reviews_verify(order=order)
    order_notify(
        order=order, recipient_ids={order.buyer_id, order.store.brand.owner_id} - {getattr(actor, "pk", None)}
    )
    return order


def order_notify(*, order: Order, recipient_ids: set[int]) -> None:
    """Tell these users the order changed. Sent as system notices (no actor) because every step of
    an order is worth telling and none is a repeat of another."""
    for recipient_id in recipient_ids:
        notify(
            recipient_id=recipient_id,
            actor_id=None,
            verb=NotificationVerb.ORDER,
            target_type="order",
            target_id=order.pk,
        )
