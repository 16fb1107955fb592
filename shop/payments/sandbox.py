"""The built-in ``sandbox`` provider: behaves like a real one, without money.

``create_intent`` picks the outcome from the test token given at pay time and, once the caller's
transaction commits, sends the matching signed webhook (through Celery, to the same code path a
real provider's HTTP request takes). ``tok_delayed`` sends nothing: the payment stays processing
until a webhook arrives, e.g. one made with ``signed_webhook``.

Signature header: ``Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
with ``settings.SHOP_SANDBOX_WEBHOOK_SECRET``; requests older or newer than
``SHOP_WEBHOOK_TOLERANCE_SECONDS`` are refused. Body: ``{"id": <event id>, "type": <kind>, "data":
{"intent": <intent id>, "amount": "<0.00>", "currency": "CNY"}}``; the sandbox's own callbacks say
the amount and currency (the shop refuses an event whose amount is not its payment's), a hand-made
event may leave them out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from config.errors import InvalidInput
from shop.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED, Intent, PaymentProvider, WebhookNotice

SIGNATURE_HEADER = "Sandbox-Signature"
TOKEN_OUTCOMES = {"tok_success": PAYMENT_SUCCEEDED, "tok_declined": PAYMENT_FAILED, "tok_delayed": None}


def _sign(timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(settings.SHOP_SANDBOX_WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()


def signed_webhook(
    *,
    kind: str,
    intent_id: str,
    event_id: str | None = None,
    timestamp: int | None = None,
    amount: Decimal | str | None = None,
    currency: str = "CNY",
):
    """A webhook request as the sandbox sends it: ``(headers, body)``. With ``amount``, the event
    says what the intent is for (as the sandbox's own callbacks do), and the shop checks it."""
    data = {"intent": intent_id}
    if amount is not None:
        data |= {"amount": f"{Decimal(amount):.2f}", "currency": currency}
    body = json.dumps({"id": event_id or f"evt_{secrets.token_hex(8)}", "type": kind, "data": data}).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {SIGNATURE_HEADER: f"t={timestamp},v1={_sign(timestamp, body)}"}, body


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def create_intent(self, *, amount: Decimal, currency: str, reference: str, token: str) -> Intent:
        if token not in TOKEN_OUTCOMES:
            raise InvalidInput(
                "Unknown sandbox token.", fields={"token": [f"Use one of {', '.join(TOKEN_OUTCOMES)}."]}
            )
        intent_id = f"pi_sbx_{secrets.token_hex(10)}"
        kind = TOKEN_OUTCOMES[token]
        if kind is not None:
            from shop import tasks

            transaction.on_commit(
                lambda: tasks.sandbox_webhook_send.delay(
                    kind=kind, intent_id=intent_id, amount=f"{amount:.2f}", currency=currency
                )
            )
        return Intent(intent_id=intent_id, client_secret=f"{intent_id}_secret_{secrets.token_hex(8)}")

    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> str:
        # Like a real provider's idempotency keys: the same key gives the same (single) refund.
        return f"re_sbx_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]}"

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookNotice:
        parts = dict(
            item.split("=", 1) for item in headers.get(SIGNATURE_HEADER, "").split(",") if "=" in item
        )
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise InvalidInput("Missing or malformed signature.", code="bad_signature") from None
        if not hmac.compare_digest(parts.get("v1", ""), _sign(timestamp, body)):
            raise InvalidInput("The signature does not match.", code="bad_signature")
        if abs(time.time() - timestamp) > settings.SHOP_WEBHOOK_TOLERANCE_SECONDS:
            raise InvalidInput("The webhook is too old (or from the future).", code="stale_webhook")
        try:
            event = json.loads(body)
            data = event["data"]
            amount, currency = data.get("amount"), data.get("currency")
            return WebhookNotice(
                event_id=event["id"],
                kind=event["type"],
                intent_id=data["intent"],
                amount=None if amount is None else _amount(amount),
                currency=currency,
            )
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
            raise InvalidInput("Malformed event.", code="bad_event") from None


def _amount(value) -> Decimal:
    """An event's amount: a string of a finite number, as the sandbox writes it (a signalling NaN
    would raise when compared with the payment's amount)."""
    if not isinstance(value, str):
        raise TypeError(value)
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(value)
    return amount
