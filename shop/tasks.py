"""Celery tasks of the shop: thin, safe to run twice (each service re-checks under a row lock)."""

from celery import shared_task


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
def sandbox_webhook_send(*, kind: str, intent_id: str) -> None:
    """The sandbox provider calling us back, through the same verification as a real webhook.
    Runs twice at worst as two events; the second finds the payment settled and changes nothing."""
    from shop.payments.sandbox import signed_webhook
    from shop.services import payments

    headers, body = signed_webhook(kind=kind, intent_id=intent_id)
    payments.payment_webhook_receive(provider="sandbox", headers=headers, body=body)
