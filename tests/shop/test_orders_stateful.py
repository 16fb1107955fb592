"""Random sequences of checkout, pay (success, decline, late), cancel, ship, expire and refund keep
stock at or above zero, every unit accounted for, and the money exact to the cent."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from config.errors import Conflict
from shop.models import Order
from shop.payments import PAYMENT_FAILED, PAYMENT_SUCCEEDED
from shop.payments.sandbox import signed_webhook
from shop.services import orders, payments
from shop.services.checkout import CheckoutItem, order_checkout
from tests.factories import UserFactory
from tests.factories.shop import AddressFactory, SKUFactory
from tests.shop.orders_support import assert_stock_and_money_consistent

pytestmark = pytest.mark.django_db


class OrderLifeCycle(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.buyer = UserFactory()
        AddressFactory(user=self.buyer)
        self.skus = [SKUFactory(price=Decimal("19.99"), stock=4), SKUFactory(price=Decimal("0.35"), stock=3)]
        self.initial = {sku.pk: sku.stock for sku in self.skus}
        self.order_ids: list[int] = []

    def _order(self, index: int) -> Order | None:
        return Order.objects.get(pk=self.order_ids[index % len(self.order_ids)]) if self.order_ids else None

    @rule(sku=st.integers(0, 1), quantity=st.integers(1, 3), both=st.booleans())
    def reserve(self, sku, quantity, both):
        items = [CheckoutItem(sku_id=self.skus[sku].pk, quantity=quantity)]
        if both:
            items.append(CheckoutItem(sku_id=self.skus[1 - sku].pk, quantity=1))
        try:
            group = order_checkout(buyer=self.buyer, items=items)
        except Conflict as exc:
            assert exc.code == "out_of_stock"
            return
        self.order_ids.extend(group.orders.values_list("pk", flat=True))

    @rule(index=st.integers(0, 50), outcome=st.sampled_from([PAYMENT_SUCCEEDED, PAYMENT_FAILED]))
    def pay(self, index, outcome):
        order = self._order(index)
        if order is None:
            return
        try:
            payment = payments.payment_start(
                order=order, buyer=self.buyer, provider="sandbox", token="tok_delayed"
            )
        except Conflict:
            return
        headers, body = signed_webhook(kind=outcome, intent_id=payment.intent_id)
        payments.payment_webhook_receive(provider="sandbox", headers=headers, body=body)

    @rule(index=st.integers(0, 50))
    def cancel(self, index):
        if (order := self._order(index)) is not None:
            with contextlib.suppress(Conflict):
                orders.order_cancel(order=order, buyer=self.buyer)

    @rule(index=st.integers(0, 50))
    def ship(self, index):
        if (order := self._order(index)) is not None:
            with contextlib.suppress(Conflict):
                orders.order_ship(
                    order=order, owner=order.store.brand.owner, carrier="EMS", tracking_number="1"
                )

    @rule(index=st.integers(0, 50))
    def refund(self, index):
        if (order := self._order(index)) is not None:
            with contextlib.suppress(Conflict):
                orders.order_refund(order=order, actor=None)

    @rule()
    def expire(self):
        orders.orders_expire_due(now=timezone.now() + timedelta(days=1))

    @invariant()
    def stock_and_money_add_up(self):
        if hasattr(self, "initial"):
            assert_stock_and_money_consistent(self.initial)


def test_random_order_life_cycles_keep_stock_and_money_exact():
    run_state_machine_as_test(
        OrderLifeCycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
