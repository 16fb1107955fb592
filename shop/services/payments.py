"""Paying for orders through a provider, and acting on the provider's webhooks.

Lock order: the order row first, then its payments (``order_lock``), in every service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, NotFound
from shop.choices import OrderStatus, PaymentStatus
from shop.models import Order, Payment, WebhookEvent
from shop.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED, get_provider
from shop.services.lifecycle import order_lock, order_transition


@dataclass(frozen=True)
class WebhookResult:
    duplicate: bool


@transaction.atomic
def payment_start(*, order: Order, buyer: User, provider: str, token: str) -> Payment:
    """Create a payment intent for the buyer's unpaid order (one live intent per order)."""
    order = order_lock(order_id=order.pk)
    if order.buyer_id != buyer.pk:
        raise NotFound("No such order.")
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict("Only an order awaiting payment can be paid.", code="illegal_transition")
    if order.expires_at <= timezone.now():
        raise Conflict("The time to pay for this order is over.", code="order_expired")
    if order.payments.filter(status=PaymentStatus.PROCESSING).exists():
        raise Conflict("A payment for this order is already in progress.", code="payment_in_progress")
    gateway = get_provider(provider)
    intent = gateway.create_intent(
        amount=order.total, currency=order.currency, reference=f"order-{order.pk}", token=token
    )
    payment = Payment.objects.create(
        order=order, provider=gateway.name, intent_id=intent.intent_id, amount=order.total
    )
    payment.client_secret = intent.client_secret  # for the buyer's app only: never stored
    return payment


def payment_refund(*, order: Order) -> Payment | None:
    """Refund the locked order's succeeded payment in full, if it has one."""
    payment = order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is not None:
        payment.refund_id = get_provider(payment.provider).refund(
            intent_id=payment.intent_id, amount=payment.amount
        )
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["refund_id", "status", "updated_at"])
    return payment


def _settle(payment: Payment, kind: str) -> None:
    """Apply a provider's verdict to a processing payment of a locked order. Money that arrives for
    an order no longer awaiting it (expired or cancelled meanwhile) goes straight back."""
    order = payment.order
    if kind == PAYMENT_FAILED:
        payment.status = PaymentStatus.DECLINED
    elif order.status == OrderStatus.PENDING_PAYMENT:
        payment.status = PaymentStatus.SUCCEEDED
        order_transition(order=order, to=OrderStatus.PAID, note=f"{payment.provider} {payment.intent_id}")
    else:
        payment.status = PaymentStatus.REFUNDED
        payment.refund_id = get_provider(payment.provider).refund(
            intent_id=payment.intent_id, amount=payment.amount
        )
    payment.save(update_fields=["status", "refund_id", "updated_at"])


@transaction.atomic
def payment_webhook_receive(*, provider: str, headers: Mapping[str, str], body: bytes) -> WebhookResult:
    """Verify and apply one webhook. Each event id is acted on once; repeats are acknowledged and
    ignored (providers retry until they get a 2xx)."""
    gateway = get_provider(provider)
    notice = gateway.parse_webhook(headers=headers, body=body)
    if notice.kind not in (PAYMENT_SUCCEEDED, PAYMENT_FAILED):
        return WebhookResult(duplicate=False)  # events we do not act on
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(provider=gateway.name, event_id=notice.event_id, kind=notice.kind)
    except IntegrityError:
        return WebhookResult(duplicate=True)
    order_id = (
        Payment.objects.filter(provider=gateway.name, intent_id=notice.intent_id)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        raise NotFound("No such payment intent.")
    order = order_lock(order_id=order_id)
    payment = order.payments.get(provider=gateway.name, intent_id=notice.intent_id)
    if payment.status == PaymentStatus.PROCESSING:
        payment.order = order
        _settle(payment, notice.kind)
    return WebhookResult(duplicate=False)
