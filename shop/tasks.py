"""Celery tasks of the shop: thin, safe to run twice (each service re-checks under a row lock)."""

import logging

from celery import shared_task

from shop.payments import ProviderError

logger = logging.getLogger(__name__)
REFUND_MAX_RETRIES = 20


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def orders_expire_due() -> int:
    """Beat: expire unpaid orders past their deadline and give their stock back."""
    from shop.services import orders

    return orders.orders_expire_due()


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def orders_advance_due() -> int:
    """Beat: auto-confirm long-shipped orders; complete orders whose after-sales window closed."""
    from shop.services import orders

    return orders.orders_advance_due()


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def idempotency_keys_purge() -> int:
    from shop.services import idempotency

    return idempotency.idempotency_keys_purge()


@shared_task(acks_late=True, time_limit=30, soft_time_limit=25)
def sandbox_webhook_send(
    *, kind: str, intent_id: str, amount: str | None = None, currency: str = "CNY"
) -> None:
    """The sandbox provider calling us back, through the same verification as a real webhook.
    Runs twice at worst as two events; the second finds the payment settled and changes nothing."""
    from shop.payments.sandbox import signed_webhook
    from shop.services import payments

    headers, body = signed_webhook(kind=kind, intent_id=intent_id, amount=amount, currency=currency)
    payments.payment_webhook_receive(provider="sandbox", headers=headers, body=body)


@shared_task(bind=True, acks_late=True, max_retries=REFUND_MAX_RETRIES, time_limit=60, soft_time_limit=50)
def payment_refund_send(self, *, payment_id: int, retry: bool = True) -> bool:
    """Refund a payment owed a refund (enqueued on commit). Keyed on the payment, so a repeat
    refunds nothing twice. Retries provider errors with backoff (10 s doubling, at most an hour
    apart) unless ``retry`` is off; when they persist the payment stays ``refund_pending`` (shown on
    the order and in the admin) and :func:`payments_refund_resend` (beat) tries it again."""
    from shop.services import payments

    try:
        return payments.payment_refund_send(payment_id=payment_id)
    except ProviderError as exc:
        if not retry or self.request.retries >= self.max_retries:
            logger.warning(
                "payment %s: the provider still fails, its refund stays pending: %r", payment_id, exc
            )
            return False
        again = self.retry(exc=exc, countdown=min(3600, 10 * 2**self.request.retries), throw=False)
        if self.request.is_eager:
            return again  # run again in place by Task.apply (a raised Retry would propagate)
        raise again from exc


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def payments_refund_resend() -> int:
    """Beat: enqueue again the refunds still owed a while after their order's transaction."""
    from shop.services import payments

    return payments.payments_refund_resend()
