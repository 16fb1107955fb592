"""Payment providers: one interface, chosen by name from ``settings.SHOP_PAYMENT_PROVIDERS``.

A provider creates payment intents, refunds them, and turns its signed webhook requests into
``WebhookNotice`` objects (refusing bad signatures and stale timestamps). What a notice means for an
order is decided by ``shop.services.payments``, never by the provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from config.errors import NotFound

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"


class ProviderError(Exception):
    """The provider could not be reached or failed for now; the same call may be retried."""


@dataclass(frozen=True)
class Intent:
    intent_id: str
    client_secret: str


@dataclass(frozen=True)
class WebhookNotice:
    event_id: str
    kind: str  # PAYMENT_SUCCEEDED or PAYMENT_FAILED; providers map their own names to these
    intent_id: str
    #: What the provider says the intent is for, when its events say it: checked against the payment.
    amount: Decimal | None = None
    currency: str | None = None


class PaymentProvider(ABC):
    name: str

    @abstractmethod
    def create_intent(self, *, amount: Decimal, currency: str, reference: str, token: str) -> Intent:
        """Ask for ``amount``; the outcome arrives later through the webhook. Called inside the
        caller's transaction: anything the provider schedules must wait for the commit."""

    @abstractmethod
    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> str:
        """Refund a succeeded intent in full; returns the provider's refund id. Repeats with the same
        ``idempotency_key`` refund once and return the same id (providers dedupe on it). Called
        outside any transaction (``shop.tasks.payment_refund_send``); raises ``ProviderError`` when
        worth retrying."""

    @abstractmethod
    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        """Verify a webhook request and decode it (``InvalidInput`` when it is not genuine)."""


@cache
def get_provider(name: str) -> PaymentProvider:
    path = settings.SHOP_PAYMENT_PROVIDERS.get(name)
    if path is None:
        raise NotFound(f"No payment provider named {name!r}.")
    return import_string(path)()
