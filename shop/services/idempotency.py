"""Idempotency keys: a repeated request gets the first response instead of doing the work again.

The key row is inserted in the same transaction as the work, so a repeat arriving while the first
is in flight waits on the unique index (PostgreSQL) until it commits, then replays its answer; if
it waits longer than ``SHOP_IDEMPOTENCY_WAIT_MS`` it gets a 409 ``in_flight``. Domain errors are
answers too: they are stored and replayed (the work itself is rolled back to a savepoint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounts.models import User
from config.api.exceptions import error_body
from config.db import execute_statement
from config.errors import Conflict, DomainError, InvalidInput, Unprocessable
from shop.models import IdempotencyKey

LOCK_NOT_AVAILABLE = "55P03"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length


def request_fingerprint(*, method: str, path: str, data) -> str:
    canonical = json.dumps([method, path, data], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_KEYS = IdempotencyKey._meta.db_table
#: The key row, unless the user has it already; on PostgreSQL with the wait for a repeat's first
#: request bounded: ``lock_timeout`` is set by the row source, before the insert meets the index,
#: and lifted again by the outer query, which reads the inserted row after that wait (the work
#: itself may wait on stock rows as long as it needs).
_CLAIM = {
    "postgresql": f'WITH claimed AS (INSERT INTO {_KEYS} (user_id, "key", fingerprint, created_at) '
    "SELECT %s, %s, %s, %s FROM (SELECT set_config('lock_timeout', %s, true)) AS bounded_wait "
    'ON CONFLICT (user_id, "key") DO NOTHING RETURNING id) '
    "SELECT id, set_config('lock_timeout', '0', true) FROM claimed",
    "sqlite": f'INSERT INTO {_KEYS} (user_id, "key", fingerprint, created_at) VALUES (%s, %s, %s, %s) '
    'ON CONFLICT (user_id, "key") DO NOTHING RETURNING id',
}


#: The answer kept for repeats, written out as every checkout writes it (BENCH.md B6).
_ANSWER = f'UPDATE {_KEYS} SET status_code = %s, response = %s WHERE user_id = %s AND "key" = %s'


def _claim(user: User, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key row; on a repeat, the first request's row (once it has committed).

    One statement (no savepoint): ``ON CONFLICT DO NOTHING`` waits for a first request still in
    flight and then inserts nothing; a wait beyond ``SHOP_IDEMPOTENCY_WAIT_MS`` is a 409, which ends
    the transaction."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [user.pk, key, fingerprint, now]
    if connection.vendor == "postgresql":
        params.append(f"{settings.SHOP_IDEMPOTENCY_WAIT_MS}ms")
    try:
        claimed = execute_statement(_CLAIM[connection.vendor], params)[1] is not None
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Conflict(
            "A request with this Idempotency-Key is still in progress.", code="in_flight"
        ) from None
    if not claimed:
        return IdempotencyKey.objects.get(user=user, key=key)
    return None


@transaction.atomic
def idempotent(
    *, user: User, key: str, fingerprint: str, run: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """``run()`` once per (user, key) and return its ``(status, body)``; repeats get the same pair.
    The same key with another request is a 422. A key is 1 to ``MAX_KEY_LENGTH`` printable
    characters: a control character (a NUL, which PostgreSQL's text refuses: a 500, found in the
    access audit) is a 400 like a missing key."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"Send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} printable characters.",
            code="idempotency_key",
        )
    first = _claim(user, key, fingerprint)
    if first is not None:
        if first.fingerprint != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was used for another request.", code="idempotency_key_reused"
            )
        return first.status_code, first.response
    try:
        with transaction.atomic():
            status, body = run()
    except DomainError as exc:
        status, body = exc.status, error_body(exc.code, exc.message, exc.fields)
    execute_statement(_ANSWER, [status, orjson.dumps(body).decode(), user.pk, key])
    return status, body


def idempotency_keys_purge(*, now=None) -> int:
    """Forget keys older than ``SHOP_IDEMPOTENCY_HOURS`` (at least 24)."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.SHOP_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
