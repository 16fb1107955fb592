"""Sandbox payments: intents, signed webhooks (signature, tolerance, replays), late money refunded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from shop.choices import OrderStatus, PaymentStatus
from shop.models import Order, Payment, WebhookEvent
from shop.payments.sandbox import signed_webhook
from shop.services.orders import orders_expire_due
from tests.factories import UserFactory
from tests.factories.shop import SKUFactory
from tests.helpers import assert_error
from tests.shop.orders_support import WEBHOOK, buyer_with_address, pay, place_order, send_webhook, status_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(client_for, user):
    return buyer_with_address(client_for, user)


@pytest.fixture
def order(buyer):
    return place_order(buyer, SKUFactory(stock=3), quantity=2)


def test_pay_creates_an_intent_and_the_sandbox_webhook_marks_the_order_paid(
    buyer, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = pay(buyer, order["id"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == PaymentStatus.PROCESSING  # the answer before the webhook came
    assert (body["order"], body["provider"], body["amount"]) == (order["id"], "sandbox", order["total"])
    assert body["intent_id"].startswith("pi_sbx_") and body["client_secret"].startswith(body["intent_id"])
    assert Payment.objects.get(pk=body["id"]).status == PaymentStatus.SUCCEEDED
    detail = buyer.get(f"/api/v1/shop/orders/{order['id']}").json()
    assert detail["status"] == OrderStatus.PAID and detail["paid_at"]
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in detail["events"]] == [
        ("", "pending_payment", buyer.user.username),
        ("pending_payment", "paid", None),
    ]
    brand_owner = Order.objects.get(pk=order["id"]).store.brand.owner
    assert Notification.objects.filter(recipient=brand_owner, verb="order", target_id=order["id"]).exists()


def test_a_declined_payment_leaves_the_order_payable(buyer, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        declined = pay(buyer, order["id"], token="tok_declined").json()
    assert Payment.objects.get(pk=declined["id"]).status == PaymentStatus.DECLINED
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT

    with django_capture_on_commit_callbacks(execute=True):
        assert pay(buyer, order["id"]).status_code == 201
    assert status_of(order["id"]) == OrderStatus.PAID
    assert_error(pay(buyer, order["id"]), 409, "illegal_transition")


def test_a_delayed_payment_waits_for_its_webhook(buyer, anon_client, order):
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    assert_error(pay(buyer, order["id"]), 409, "payment_in_progress")
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT

    response = send_webhook(anon_client, intent["intent_id"])

    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    assert status_of(order["id"]) == OrderStatus.PAID


def test_unknown_tokens_and_providers_are_refused(buyer, order):
    error = assert_error(pay(buyer, order["id"], token="tok_free_money"), 400, "invalid")
    assert "token" in error["fields"]
    bad_provider = buyer.post(f"/api/v1/shop/orders/{order['id']}/pay", {"provider": "paypal"}, format="json")
    assert_error(bad_provider, 404, "not_found")
    assert not Payment.objects.exists()


def test_webhook_with_a_bad_signature_is_refused(anon_client, buyer, order):
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    headers, body = signed_webhook(kind="payment.succeeded", intent_id=intent["intent_id"])
    tampered = body.replace(b"payment.succeeded", b"payment.failed")
    for signature, payload in (
        (headers["Sandbox-Signature"], tampered),
        ("t=1,v1=deadbeef", body),
        ("", body),
    ):
        response = anon_client.post(
            WEBHOOK, payload, content_type="application/json", HTTP_SANDBOX_SIGNATURE=signature
        )
        assert_error(response, 400, "bad_signature")
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT
    assert not WebhookEvent.objects.exists()


def test_webhook_outside_the_tolerance_window_is_refused(anon_client, buyer, order, settings):
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    stale = int(time.time()) - settings.SHOP_WEBHOOK_TOLERANCE_SECONDS - 5
    error = assert_error(
        send_webhook(anon_client, intent["intent_id"], timestamp=stale), 400, "stale_webhook"
    )
    assert "too old" in error["message"]
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT


def test_a_replayed_event_is_acted_on_once(anon_client, buyer, order):
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    first = send_webhook(anon_client, intent["intent_id"], event_id="evt_1")
    Order.objects.filter(pk=order["id"]).update(status=OrderStatus.PENDING_PAYMENT)  # would be paid again
    replay = send_webhook(anon_client, intent["intent_id"], event_id="evt_1")

    assert first.json() == {"received": True, "duplicate": False}
    assert replay.status_code == 200 and replay.json() == {"received": True, "duplicate": True}
    assert WebhookEvent.objects.filter(event_id="evt_1").count() == 1
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT


def test_a_webhook_for_an_unknown_intent_is_404_and_not_remembered(anon_client):
    assert_error(send_webhook(anon_client, "pi_sbx_nope", event_id="evt_x"), 404, "not_found")
    assert not WebhookEvent.objects.exists()


def test_money_arriving_after_expiry_goes_back_after_commit(
    anon_client, buyer, order, django_capture_on_commit_callbacks
):
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    assert orders_expire_due(now=timezone.now() + timedelta(hours=1)) == 1
    assert status_of(order["id"]) == OrderStatus.EXPIRED

    with django_capture_on_commit_callbacks() as callbacks:
        assert send_webhook(anon_client, intent["intent_id"]).status_code == 200
    # The webhook's transaction only owes the refund: the provider is asked once it has committed.
    payment = Payment.objects.get(pk=intent["id"])
    assert (payment.status, payment.refund_id) == (PaymentStatus.REFUND_PENDING, "")
    for callback in callbacks:
        callback()

    payment = Payment.objects.get(pk=intent["id"])
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id.startswith("re_sbx_")
    assert status_of(order["id"]) == OrderStatus.EXPIRED
    assert_error(pay(buyer, order["id"]), 409, "illegal_transition")


def test_an_order_past_its_deadline_cannot_be_paid(buyer, order):
    Order.objects.filter(pk=order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(pay(buyer, order["id"]), 409, "order_expired")


def test_nobody_pays_another_users_order(client_for, order):
    assert_error(pay(client_for(UserFactory()), order["id"]), 404, "not_found")
    assert not Payment.objects.exists()
