"""Refunds leave the order's transaction: cancelling or refunding owes the refund (the payment is
``refund_pending``) and the provider is asked once that transaction has committed, by a task keyed on
the payment that retries while the provider is down."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from shop import tasks
from shop.choices import OrderStatus, PaymentStatus
from shop.models import SKU, Order, Payment
from shop.payments import ProviderError, get_provider
from shop.payments.sandbox import SandboxProvider, signed_webhook
from shop.services.payments import payment_webhook_receive
from tests.conftest import requires_postgres
from tests.factories.shop import SKUFactory
from tests.shop.orders_support import ORDERS, buyer_with_address, checkout, status_of


class FlakyProvider(SandboxProvider):
    """The sandbox, with refunds that fail ``failures`` times first (``ProviderError``) and can be
    held at ``gate`` while ``entered`` tells the test the provider has been called."""

    name = "flaky"
    failures = 0
    calls: list[str] = []
    gate: threading.Event | None = None
    entered = threading.Event()

    def refund(self, *, intent_id: str, amount: Decimal, idempotency_key: str) -> str:
        cls = type(self)
        cls.calls.append(idempotency_key)
        cls.entered.set()
        if cls.gate is not None:
            cls.gate.wait(timeout=10)
        if cls.failures:
            cls.failures -= 1
            raise ProviderError("provider unavailable")
        return super().refund(intent_id=intent_id, amount=amount, idempotency_key=idempotency_key)


@pytest.fixture
def flaky(settings):
    settings.SHOP_PAYMENT_PROVIDERS = {
        **settings.SHOP_PAYMENT_PROVIDERS,
        "flaky": f"{__name__}.FlakyProvider",
    }
    get_provider.cache_clear()
    FlakyProvider.failures, FlakyProvider.calls, FlakyProvider.gate = 0, [], None
    FlakyProvider.entered.clear()
    yield FlakyProvider
    get_provider.cache_clear()


@pytest.fixture
def buyer(client_for, user):
    return buyer_with_address(client_for, user)


def paid_with_flaky(buyer, sku: SKU) -> tuple[dict, Payment]:
    """An order of 2 paid through the flaky provider (a delayed intent settled by its webhook)."""
    order = checkout(buyer, [(sku, 2)]).json()["orders"][0]
    paying = buyer.post(
        f"{ORDERS}/{order['id']}/pay", {"provider": "flaky", "token": "tok_delayed"}, format="json"
    )
    assert paying.status_code == 201, paying.content
    headers, body = signed_webhook(kind="payment.succeeded", intent_id=paying.json()["intent_id"])
    payment_webhook_receive(provider="flaky", headers=headers, body=body)
    assert status_of(order["id"]) == OrderStatus.PAID
    return order, Payment.objects.get(pk=paying.json()["id"])


def stock(sku: SKU) -> int:
    return SKU.objects.values_list("stock", flat=True).get(pk=sku.pk)


@pytest.mark.django_db
def test_a_provider_down_at_refund_time_leaves_the_order_cancelled_and_the_refund_owed(
    buyer, flaky, django_capture_on_commit_callbacks, admin_client
):
    sku = SKUFactory(stock=5)
    order, payment = paid_with_flaky(buyer, sku)
    flaky.failures = 100  # down for longer than the task retries

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json")

    # The commit stood: the order is cancelled and restocked whatever the provider did after it.
    assert cancelled.status_code == 200, cancelled.content
    assert (status_of(order["id"]), stock(sku)) == (OrderStatus.CANCELLED, 5)
    payment.refresh_from_db()
    assert (payment.status, payment.refund_id) == (PaymentStatus.REFUND_PENDING, "")
    # Retried with backoff (eagerly here), always under the same key, then given up on for now.
    assert flaky.calls == [f"refund-payment-{payment.pk}"] * 21
    detail = buyer.get(f"{ORDERS}/{order['id']}").json()
    assert [(p["provider"], p["status"]) for p in detail["payments"]] == [("flaky", "refund_pending")]
    assert "Refund pending" in admin_client.get(f"/admin/shop/order/{order['id']}/change/").content.decode()

    flaky.failures = 0  # back up: running the task again pays what is owed
    assert tasks.payment_refund_send.delay(payment_id=payment.pk).get() is True
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id.startswith("re_sbx_")
    assert buyer.get(f"{ORDERS}/{order['id']}").json()["payments"][0]["status"] == "refunded"


@pytest.mark.django_db
def test_a_refund_retries_through_provider_errors(buyer, flaky, django_capture_on_commit_callbacks):
    sku = SKUFactory(stock=5)
    order, payment = paid_with_flaky(buyer, sku)
    flaky.failures = 2

    with django_capture_on_commit_callbacks(execute=True):
        assert buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json").status_code == 200

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert flaky.calls == [f"refund-payment-{payment.pk}"] * 3


@pytest.mark.django_db
def test_the_refund_task_run_twice_refunds_once(buyer, flaky, django_capture_on_commit_callbacks):
    sku = SKUFactory(stock=5)
    order, payment = paid_with_flaky(buyer, sku)
    with django_capture_on_commit_callbacks(execute=True):
        assert buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json").status_code == 200
    payment.refresh_from_db()
    refund_id = payment.refund_id
    assert payment.status == PaymentStatus.REFUNDED and refund_id

    assert tasks.payment_refund_send.delay(payment_id=payment.pk).get() is False  # a redelivery

    payment.refresh_from_db()
    assert (payment.status, payment.refund_id) == (PaymentStatus.REFUNDED, refund_id)
    assert len(flaky.calls) == 1


@pytest.mark.django_db
def test_a_rolled_back_refund_asks_the_provider_for_nothing(buyer, flaky):
    from shop.services.orders import order_refund

    sku = SKUFactory(stock=5)
    order, payment = paid_with_flaky(buyer, sku)

    with pytest.raises(RuntimeError), transaction.atomic():
        order_refund(order=Order.objects.get(pk=order["id"]), actor=None)
        raise RuntimeError("something later in the same transaction failed")

    assert flaky.calls == []
    payment.refresh_from_db()
    assert (status_of(order["id"]), payment.status) == (OrderStatus.PAID, PaymentStatus.SUCCEEDED)


@requires_postgres()
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_no_order_lock_is_held_while_the_provider_refunds(client_for, user, flaky):
    sku = SKUFactory(stock=5)
    buyer = buyer_with_address(client_for, user)
    order, payment = paid_with_flaky(buyer, sku)
    flaky.gate = threading.Event()
    responses = []

    def cancel():
        try:
            responses.append(buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json"))
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    try:
        assert flaky.entered.wait(timeout=10), "the provider was never asked to refund"
        # The provider is busy refunding: the order is already committed and nobody holds its row.
        with transaction.atomic():
            try:
                locked = Order.objects.select_for_update(nowait=True).get(pk=order["id"])
            except DatabaseError:
                pytest.fail("the order's row is locked while the provider refunds")
            assert locked.status == OrderStatus.CANCELLED
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUND_PENDING
        assert stock(sku) == 5
    finally:
        flaky.gate.set()
        canceller.join(timeout=10)
    assert [r.status_code for r in responses] == [200]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id.startswith("re_sbx_")


@pytest.mark.django_db
def test_the_relay_sends_the_refunds_still_owed(buyer, flaky, django_capture_on_commit_callbacks):
    sku = SKUFactory(stock=10)
    (lost, lost_payment), (fresh, fresh_payment) = paid_with_flaky(buyer, sku), paid_with_flaky(buyer, sku)
    for order in (lost, fresh):  # their enqueues after commit never happen, as if the process died
        assert buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json").status_code == 200
    Payment.objects.filter(pk=lost_payment.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert tasks.payments_refund_resend.delay().get() == 1

    statuses = dict(Payment.objects.values_list("pk", "status"))
    assert (statuses[lost_payment.pk], statuses[fresh_payment.pk]) == (
        PaymentStatus.REFUNDED,
        PaymentStatus.REFUND_PENDING,  # its own task may still be on its way
    )
    assert flaky.calls == [f"refund-payment-{lost_payment.pk}"]


@pytest.mark.django_db
def test_the_relay_tries_each_owed_refund_once_per_period_during_an_outage(
    buyer, flaky, django_capture_on_commit_callbacks
):
    sku = SKUFactory(stock=10)
    order, payment = paid_with_flaky(buyer, sku)
    flaky.failures = 1000  # the provider is down for a long while
    assert buyer.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json").status_code == 200
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert tasks.payments_refund_resend.delay().get() == 1
    assert flaky.calls == [f"refund-payment-{payment.pk}"]  # one attempt, no retries of its own
    assert tasks.payments_refund_resend.delay().get() == 0  # not again within the period
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=16))
    flaky.failures = 0  # back up
    assert tasks.payments_refund_resend.delay().get() == 1
    assert len(flaky.calls) == 2
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED
