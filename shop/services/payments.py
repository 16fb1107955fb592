"""Paying for orders through a provider, acting on the provider's webhooks, and refunding.

Lock order: the order row first, then its payments (``order_lock``), in every service. Refunds are
owed inside the order's transaction (``refund_pending``) and sent to the provider after it commits
(``payment_refund_send``), never while locks are held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from config.errors import Conflict, InvalidInput, NotFound
from shop import tasks
from shop.choices import OrderStatus, PaymentStatus
from shop.models import Order, Payment, WebhookEvent
from shop.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED, WebhookNotice, get_provider
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


def _refund_later(payment: Payment) -> None:
    """Mark the payment refund-pending and, once the caller's transaction commits, have the
    provider refund it (``tasks.payment_refund_send``). The provider is never called while row
    locks are held, nor for a transaction that may still roll back (an outbox of one row: a
    payment left ``refund_pending`` is a refund owed)."""
    payment.status = PaymentStatus.REFUND_PENDING
    transaction.on_commit(lambda: tasks.payment_refund_send.delay(payment_id=payment.pk), robust=True)


def payment_refund_request(*, order: Order) -> Payment | None:
    """Owe the buyer a full refund of the locked order's succeeded payment, if it has one."""
    payment = order.payments.filter(status=PaymentStatus.SUCCEEDED).first()
    if payment is not None:
        _refund_later(payment)
        payment.save(update_fields=["status", "updated_at"])
    return payment


def payment_refund_send(*, payment_id: int) -> bool:
    """Have the provider refund a refund-pending payment, then record its refund id; False if the
    payment is not owed a refund (already refunded). Runs outside any transaction, so that no lock
    is held while the provider answers. Safe to repeat and to run twice at once: the provider call
    is keyed on the payment (one refund whatever the repeats) and only the first record (one
    conditional UPDATE, its own short transaction) wins. ``ProviderError`` propagates, for the task
    to retry."""
    payment = Payment.objects.filter(pk=payment_id, status=PaymentStatus.REFUND_PENDING).first()
    if payment is None:
        return False
    refund_id = get_provider(payment.provider).refund(
        intent_id=payment.intent_id, amount=payment.amount, idempotency_key=f"refund-payment-{payment.pk}"
    )
    return bool(
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.REFUND_PENDING).update(
            status=PaymentStatus.REFUNDED, refund_id=refund_id, updated_at=timezone.now()
        )
    )


def payments_refund_resend(*, older_than: timedelta = timedelta(minutes=15), batch: int = 500) -> int:
    """The outbox's relay: send again the refunds owed for ``older_than`` (the enqueue after commit
    was lost, or the task gave up while the provider was down). Each gets one attempt per
    ``older_than`` (its ``updated_at`` is moved on), without retries of its own, so a long outage
    does not pile up retrying tasks. Safe to overlap with tasks in flight: ``payment_refund_send``
    refunds each payment once."""
    now = timezone.now()
    with transaction.atomic():
        payment_ids = list(
            Payment.objects.select_for_update(skip_locked=True)
            .filter(status=PaymentStatus.REFUND_PENDING, updated_at__lte=now - older_than)
            .order_by("updated_at")
            .values_list("pk", flat=True)[:batch]
        )
        Payment.objects.filter(pk__in=payment_ids).update(updated_at=now)
    for payment_id in payment_ids:
        tasks.payment_refund_send.delay(payment_id=payment_id, retry=False)
    return len(payment_ids)


def _settle(payment: Payment, kind: str) -> None:
    """Apply a provider's verdict to a processing payment of a locked order. Money that arrives for
    an order no longer awaiting it (expired or cancelled meanwhile) goes straight back (owed here,
    sent after commit)."""
    order = payment.order
    if kind == PAYMENT_FAILED:
        payment.status = PaymentStatus.DECLINED
    elif order.status == OrderStatus.PENDING_PAYMENT:
        payment.status = PaymentStatus.SUCCEEDED
        order_transition(order=order, to=OrderStatus.PAID, note=f"{payment.provider} {payment.intent_id}")
    else:
        _refund_later(payment)
    payment.save(update_fields=["status", "updated_at"])


#: The longest event and intent ids the tables hold (``WebhookEvent.event_id``, ``Payment.intent_id``).
_EVENT_ID_LENGTH = WebhookEvent._meta.get_field("event_id").max_length
_INTENT_ID_LENGTH = Payment._meta.get_field("intent_id").max_length


def _check_notice(notice: WebhookNotice) -> None:
    """A notice's ids are strings the tables can hold (a provider's JSON may say anything under a
    good signature: a null id was taken for a repeat, a long one was a 500, found in the access
    audit)."""
    if not (
        isinstance(notice.kind, str)
        and isinstance(notice.event_id, str)
        and 0 < len(notice.event_id) <= _EVENT_ID_LENGTH
        and isinstance(notice.intent_id, str)
        and 0 < len(notice.intent_id) <= _INTENT_ID_LENGTH
        and (notice.currency is None or isinstance(notice.currency, str))
    ):
        raise InvalidInput("Malformed event.", code="bad_event")


def _check_amount(notice: WebhookNotice, payment: Payment) -> None:
    """An event that says what its intent is for must say what the payment asked for: money that
    does not match the order is never taken as paying for it (nothing is recorded; the provider's
    retries keep being refused until someone looks)."""
    if notice.amount is None:
        return
    if notice.amount != payment.amount or notice.currency not in (None, payment.order.currency):
        raise InvalidInput(
            f"The event is for {notice.amount} {notice.currency or payment.order.currency}, "
            f"the payment for {payment.amount} {payment.order.currency}.",
            code="amount_mismatch",
        )


@transaction.atomic
def payment_webhook_receive(*, provider: str, headers: Mapping[str, str], body: bytes) -> WebhookResult:
    """Verify and apply one webhook. Each event id is acted on once; repeats are acknowledged and
    ignored (providers retry until they get a 2xx). An event whose amount is not its payment's is a
    400 ``amount_mismatch`` that changes nothing, its id not remembered."""
    gateway = get_provider(provider)
    notice = gateway.parse_webhook(headers=headers, body=body)
    _check_notice(notice)
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
    payment.order = order
    _check_amount(notice, payment)
    if payment.status == PaymentStatus.PROCESSING:
        _settle(payment, notice.kind)
    return WebhookResult(duplicate=False)
