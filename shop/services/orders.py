"""What buyers, brands, admins and the clock do to orders after checkout.

Each service locks the order row (``order_lock``), checks who may act, and moves the status
through ``order_transition``; refunds go through the order's payment provider once the order's
transaction has committed (``shop.services.payments.payment_refund_request``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, NotFound
from shop.choices import AfterSaleStatus
from shop.choices import OrderStatus as S
from shop.models import AfterSale, Order
from shop.services.lifecycle import PAID_STATUSES, order_lock, order_notify, order_transition
from shop.services.payments import payment_refund_request


def _lock_as_buyer(order: Order, buyer: User) -> Order:
    order = order_lock(order_id=order.pk)
    if order.buyer_id != buyer.pk:
        raise NotFound("No such order.")
    return order


def _lock_as_brand(order: Order, owner: User) -> Order:
    order = order_lock(order_id=order.pk)
    if order.store.brand.owner_id != owner.pk:
        raise NotFound("No such order.")
    return order


def _refund_and_close(order: Order, *, to: str, actor: User | None, note: str) -> Order:
    """Close the locked order; a paid one owes its refund, which the provider gets after commit."""
    if order.status in PAID_STATUSES:
        payment_refund_request(order=order)
    return order_transition(order=order, to=to, actor=actor, note=note)


@transaction.atomic
def order_cancel(*, order: Order, buyer: User, reason: str = "") -> Order:
    """The buyer cancels before shipping: a paid order is refunded; the stock goes back."""
    order = _lock_as_buyer(order, buyer)
    if order.status not in (S.PENDING_PAYMENT, S.PAID):
        raise Conflict("Only an order that has not shipped can be cancelled.", code="illegal_transition")
    return _refund_and_close(order, to=S.CANCELLED, actor=buyer, note=reason)


@transaction.atomic
def order_ship(*, order: Order, owner: User, carrier: str, tracking_number: str) -> Order:
    """The owner of the store's brand ships a paid order."""
    order = _lock_as_brand(order, owner)
    return order_transition(
        order=order,
        to=S.SHIPPED,
        actor=owner,
        note=f"{carrier} {tracking_number}",
        carrier=carrier,
        tracking_number=tracking_number,
    )


def _has_open_after_sale(order: Order) -> bool:
    return order.after_sales.filter(status=AfterSaleStatus.REQUESTED).exists()


@transaction.atomic
def order_confirm(*, order: Order, buyer: User) -> Order:
    """The buyer confirms receipt (shipped → delivered), or, once delivered, closes the order
    (delivered → completed) unless an after-sale request is open."""
    order = _lock_as_buyer(order, buyer)
    if order.status == S.DELIVERED:
        if _has_open_after_sale(order):
            raise Conflict("An after-sale request on this order is still open.", code="after_sale_open")
        return order_transition(order=order, to=S.COMPLETED, actor=buyer)
    return order_transition(order=order, to=S.DELIVERED, actor=buyer)


@transaction.atomic
def order_refund(*, order: Order, actor: User | None, note: str = "") -> Order:
    """Refund a paid order in full and restock it (admins; approved after-sales)."""
    order = order_lock(order_id=order.pk)
    if order.status not in PAID_STATUSES:
        raise Conflict("Only a paid order can be refunded.", code="illegal_transition")
    return _refund_and_close(order, to=S.REFUNDED, actor=actor, note=note)


@transaction.atomic
def order_expire(*, order_id: int, now: datetime) -> bool:
    """Expire one unpaid order past its deadline (stock goes back); False if it no longer is one."""
    order = order_lock(order_id=order_id)
    if order.status != S.PENDING_PAYMENT or order.expires_at > now:
        return False
    order_transition(order=order, to=S.EXPIRED)
    return True


def orders_expire_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Expire the unpaid orders past their deadline; each in its own short transaction."""
    now = now or timezone.now()
    due = Order.objects.filter(status=S.PENDING_PAYMENT, expires_at__lte=now).values_list("pk", flat=True)
    return sum(order_expire(order_id=pk, now=now) for pk in list(due[:batch]))


@transaction.atomic
def _advance(order_id: int, *, status: str, to: str, stamp: str, before: datetime) -> bool:
    order = order_lock(order_id=order_id)
    if order.status != status or getattr(order, stamp) > before or _has_open_after_sale(order):
        return False
    order_transition(order=order, to=to, note="automatic")
    return True


def orders_advance_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Shipped orders nobody confirmed become delivered after ``SHOP_AUTO_CONFIRM_DAYS``; delivered
    orders become completed when the after-sales window closes (and no request is open)."""
    now = now or timezone.now()
    steps = [  # later steps first, so that one pass moves an order one step only
        (S.DELIVERED, S.COMPLETED, "delivered_at", now - timedelta(days=settings.SHOP_AFTER_SALES_DAYS)),
        (S.SHIPPED, S.DELIVERED, "shipped_at", now - timedelta(days=settings.SHOP_AUTO_CONFIRM_DAYS)),
    ]
    moved = 0
    for status, to, stamp, before in steps:
        due = Order.objects.filter(status=status, **{f"{stamp}__lte": before}).values_list("pk", flat=True)
        moved += sum(
            _advance(pk, status=status, to=to, stamp=stamp, before=before) for pk in list(due[:batch])
        )
    return moved


@transaction.atomic
def after_sale_request(*, order: Order, buyer: User, reason: str) -> AfterSale:
    """Ask for a return and refund within ``SHOP_AFTER_SALES_DAYS`` of delivery (one open at a time)."""
    order = _lock_as_buyer(order, buyer)
    window_open = order.delivered_at and timezone.now() <= order.delivered_at + timedelta(
        days=settings.SHOP_AFTER_SALES_DAYS
    )
    if order.status not in (S.DELIVERED, S.COMPLETED) or not window_open:
        raise Conflict("After-sales are open for 7 days after delivery.", code="after_sales_closed")
    try:
        with transaction.atomic():
            after_sale = AfterSale.objects.create(order=order, reason=reason)
    except IntegrityError:
        raise Conflict("An after-sale request on this order is still open.", code="after_sale_open") from None
    order_notify(order=order, recipient_ids={order.store.brand.owner_id})
    return after_sale


@transaction.atomic
def after_sale_decide(*, after_sale: AfterSale, owner: User, approve: bool, note: str = "") -> Order:
    """The brand approves (refund through the provider, restock) or declines an open request."""
    order = _lock_as_brand(after_sale.order, owner)
    after_sale = order.after_sales.get(pk=after_sale.pk)
    if after_sale.status != AfterSaleStatus.REQUESTED:
        raise Conflict("This request has been decided already.", code="illegal_transition")
    after_sale.status = AfterSaleStatus.APPROVED if approve else AfterSaleStatus.DECLINED
    after_sale.decision_note, after_sale.decided_by, after_sale.decided_at = note, owner, timezone.now()
    after_sale.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
    if approve:
        return _refund_and_close(order, to=S.REFUNDED, actor=owner, note=note or "after-sale approved")
    order_notify(order=order, recipient_ids={order.buyer_id})
    return order
