"""Celery tasks of the accounts app: thin, idempotent wrappers around services."""

from celery import shared_task

from accounts.models import User


@shared_task(acks_late=True, time_limit=30, soft_time_limit=25)
def notification_deliver(
    *, recipient_id: int, actor_id: int | None, verb: str, target_type: str = "", target_id: int = 0
) -> None:
    """Write one notification; safe to run twice (the service de-duplicates)."""
    from accounts import services

    users = User.objects.in_bulk([pk for pk in (recipient_id, actor_id) if pk])
    recipient = users.get(recipient_id)
    if recipient is None or (actor_id and actor_id not in users):
        return  # someone was deleted meanwhile: nothing to tell
    services.notification_create(
        recipient=recipient,
        actor=users.get(actor_id) if actor_id else None,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
    )
