"""Input and output shapes of the cart, address, checkout, order and payment endpoints."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import StrictSerializer
from config.api.renderers import datetime_out
from shop.choices import AfterSaleStatus, OrderStatus, PaymentStatus
from shop.models import Address, CheckoutGroup, Order
from shop.payments.sandbox import TOKEN_OUTCOMES
from shop.services.checkout import ADDRESS_FIELDS

MONEY = {"max_digits": 12, "decimal_places": 2}
#: A row id: what checkout's compiled reads pass to the database as given (an id past 64 bits is no
#: column's, and SQLite's driver cannot send it).
ID = {"min_value": 1, "max_value": 2**63 - 1}


class CartItemIn(StrictSerializer):
    sku = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=999, default=1)
    source_note = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="The note the buyer came from."
    )


class CartItemUpdateIn(StrictSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=999, required=False)
    source_note = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class CartSkuOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(**MONEY, help_text="Today's price; checkout re-checks it.")
    in_stock = serializers.SerializerMethodField()
    per_order_limit = serializers.IntegerField()
    product = serializers.IntegerField(source="product_id")
    title = serializers.CharField(source="product.title")
    store = serializers.CharField(source="product.store.name")

    def get_in_stock(self, sku) -> bool:
        return sku.stock > 0


class CartItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    sku = CartSkuOut()
    quantity = serializers.IntegerField()
    source_note = serializers.IntegerField(source="source_note_id", allow_null=True)
    line_total = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_line_total(self, item) -> str:
        return f"{item.sku.price * item.quantity:.2f}"


class CartOut(serializers.Serializer):
    items = CartItemOut(many=True)
    total = serializers.DecimalField(**MONEY, help_text="Lines at today's prices, before shipping.")
    currency = serializers.CharField()


class AddressIO(StrictSerializer, serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ["id", *ADDRESS_FIELDS, "is_default"]
        read_only_fields = ["id"]


class CheckoutItemIn(StrictSerializer):
    sku = serializers.IntegerField(**ID)
    quantity = serializers.IntegerField(min_value=1, max_value=999)
    source_note = serializers.IntegerField(**ID, required=False, allow_null=True, default=None)


class CheckoutIn(StrictSerializer):
    """Without ``items`` the whole cart is bought (and leaves the cart)."""

    # The list itself may be null (buy the cart), its items may not: ``many=True`` would hand
    # ``allow_null`` to each item too (DRF), letting ``[null]`` through to the service.
    items = serializers.ListSerializer(
        child=CheckoutItemIn(), required=False, allow_null=True, default=None, max_length=50
    )
    address = serializers.IntegerField(
        **ID, required=False, allow_null=True, default=None, help_text="Default address when omitted."
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expected_total = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        default=None,
        help_text="The total the buyer saw; a different total today is a 409 price_changed.",
    )


class OrderLineOut(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.IntegerField(source="sku_id")
    product = serializers.IntegerField(source="product_id")
    title = serializers.CharField()
    sku_name = serializers.CharField()
    unit_price = serializers.DecimalField(**MONEY)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(**MONEY)
    source_note = serializers.IntegerField(source="source_note_id", allow_null=True)


class OrderEventOut(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.ChoiceField(choices=OrderStatus.choices)
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class AfterSaleOut(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=AfterSaleStatus.choices)
    decision_note = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class OrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.IntegerField(source="group_id")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    buyer = serializers.CharField(source="buyer.username")
    store = serializers.CharField(source="store.name")
    store_id = serializers.IntegerField()
    currency = serializers.CharField()
    lines_total = serializers.DecimalField(**MONEY)
    shipping_total = serializers.DecimalField(**MONEY)
    discount_total = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    shipping_address = serializers.DictField(child=serializers.CharField())
    buyer_note = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    lines = OrderLineOut(many=True)


class OrderPaymentOut(serializers.Serializer):
    """A payment of the order. ``refund_pending``: the order was cancelled or refunded and the
    provider is being asked to give the money back; ``refunded`` once it has."""

    id = serializers.IntegerField()
    provider = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.DecimalField(**MONEY)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderDetailOut(OrderOut):
    events = OrderEventOut(many=True)
    after_sales = AfterSaleOut(many=True)
    payments = OrderPaymentOut(many=True)


class CheckoutOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The checkout group.")
    total = serializers.DecimalField(**MONEY)
    currency = serializers.CharField(default="CNY")
    orders = OrderOut(many=True)


def checkout_out(group: CheckoutGroup) -> dict:
    """``CheckoutOut``'s dict of a group ``order_checkout`` just placed, from the orders as written
    (``group.placed``): the answer of a checkout reads nothing back."""
    return {
        "id": group.pk,
        "total": _money(group.total),
        "currency": "CNY",
        "orders": [_order_out(order) for order in group.placed],
    }


def _order_out(order: Order) -> dict:
    """``OrderOut``'s dict of an order just placed (its lines in ``placed_lines``)."""
    return {
        "id": order.pk,
        "group": order.group_id,
        "status": order.status,
        "buyer": order.buyer.username,
        "store": order.store.name,
        "store_id": order.store_id,
        "currency": order.currency,
        "lines_total": _money(order.lines_total),
        "shipping_total": _money(order.shipping_total),
        "discount_total": _money(order.discount_total),
        "total": _money(order.total),
        "shipping_address": {str(k): str(v) for k, v in order.shipping_address.items()},
        "buyer_note": order.buyer_note,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "expires_at": datetime_out(order.expires_at),
        "paid_at": datetime_out(order.paid_at),
        "shipped_at": datetime_out(order.shipped_at),
        "delivered_at": datetime_out(order.delivered_at),
        "closed_at": datetime_out(order.closed_at),
        "created_at": datetime_out(order.created_at),
        "lines": [
            {
                "id": line.pk,
                "sku": line.sku_id,
                "product": line.product_id,
                "title": line.title,
                "sku_name": line.sku_name,
                "unit_price": _money(line.unit_price),
                "quantity": line.quantity,
                "line_total": _money(line.line_total),
                "source_note": line.source_note_id,
            }
            for line in order.placed_lines
        ],
    }


def _money(value: Decimal) -> str:
    return f"{value:.2f}"  # as DRF's DecimalField writes an amount in cents


class PayIn(StrictSerializer):
    provider = serializers.CharField(max_length=32, default="sandbox")
    token = serializers.CharField(
        max_length=64, default="tok_success", help_text=f"Sandbox outcomes: {', '.join(TOKEN_OUTCOMES)}."
    )


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id")
    provider = serializers.CharField()
    intent_id = serializers.CharField()
    client_secret = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.DecimalField(**MONEY)


class CancelIn(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ShipIn(StrictSerializer):
    carrier = serializers.CharField(max_length=40)
    tracking_number = serializers.CharField(max_length=64)


class AfterSaleIn(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class DecisionIn(StrictSerializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookOut(serializers.Serializer):
    received = serializers.BooleanField(default=True)
    duplicate = serializers.BooleanField()
