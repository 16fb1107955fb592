"""Cart, addresses, checkout, orders and payment webhooks. Thin views: validate, call one
service, serialize. Another user's cart item, address or order is a 404."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from shop import selectors_orders as selectors
from shop.api import orders_serializers as s
from shop.services import cart as cart_services
from shop.services import orders as order_services
from shop.services import payments as payment_services
from shop.services.checkout import CheckoutItem, order_checkout
from shop.services.idempotency import idempotent, request_fingerprint

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per checkout attempt; repeats replay the first answer for 24 hours.",
)


def _validated(serializer_class, request, **kwargs) -> dict:
    data = serializer_class(data=request.data, **kwargs)
    data.is_valid(raise_exception=True)
    return data.validated_data


class CartView(APIView):
    """Your cart at today's prices."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.CartOut)
    def get(self, request):
        items = list(selectors.cart_items(user=request.user))
        total = sum((item.sku.price * item.quantity for item in items), Decimal("0.00"))
        return Response(s.CartOut({"items": items, "total": total, "currency": "CNY"}).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        cart_services.cart_clear(user=request.user)
        return Response(status=204)


class CartItemsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.CartItemIn, responses={201: s.CartItemOut})
    def post(self, request):
        v = _validated(s.CartItemIn, request)
        item = cart_services.cart_item_add(
            user=request.user, sku_id=v["sku"], quantity=v["quantity"], source_note_id=v["source_note"]
        )
        item = selectors.cart_item_get(user=request.user, item_id=item.pk)
        return Response(s.CartItemOut(item).data, status=201)


class CartItemView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.CartItemUpdateIn, responses=s.CartItemOut)
    def patch(self, request, item_id):
        item = selectors.cart_item_get(user=request.user, item_id=item_id)
        item = cart_services.cart_item_update(item=item, data=_validated(s.CartItemUpdateIn, request))
        return Response(s.CartItemOut(item).data)

    @extend_schema(responses={204: None})
    def delete(self, request, item_id):
        cart_services.cart_item_remove(item=selectors.cart_item_get(user=request.user, item_id=item_id))
        return Response(status=204)


class AddressesView(generics.ListAPIView):
    """Your shipping addresses, the default first."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.AddressIO
    pagination_class = None

    def get_queryset(self):
        return selectors.addresses(user=self.request.user)

    @extend_schema(request=s.AddressIO, responses={201: s.AddressIO})
    def post(self, request):
        address = cart_services.address_create(user=request.user, data=dict(_validated(s.AddressIO, request)))
        return Response(s.AddressIO(address).data, status=201)


class AddressView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.AddressIO)
    def get(self, request, address_id):
        return Response(s.AddressIO(selectors.address_get(user=request.user, address_id=address_id)).data)

    @extend_schema(request=s.AddressIO, responses=s.AddressIO)
    def patch(self, request, address_id):
        address = selectors.address_get(user=request.user, address_id=address_id)
        data = dict(_validated(s.AddressIO, request, partial=True))
        return Response(s.AddressIO(cart_services.address_update(address=address, data=data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, address_id):
        cart_services.address_delete(address=selectors.address_get(user=request.user, address_id=address_id))
        return Response(status=204)


class OrdersView(generics.ListAPIView):
    """GET: your orders, newest first (``?as=brand``: the orders of your brands' stores).
    POST: check out, from the cart or from explicit items (one order per store)."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.OrderOut
    user_copy = True  # checkout uses the buyer's id and settings, never the counters (accounts.usercache)

    def get_queryset(self):
        as_brand = self.request.query_params.get("as") == "brand"
        return selectors.orders_for_list(user=self.request.user, as_brand=as_brand)

    @extend_schema(parameters=[OpenApiParameter("as", str, enum=["buyer", "brand"])])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(parameters=[IDEMPOTENCY_HEADER], request=s.CheckoutIn, responses={201: s.CheckoutOut})
    def post(self, request):
        v = _validated(s.CheckoutIn, request)
        items = v["items"] and [
            CheckoutItem(sku_id=i["sku"], quantity=i["quantity"], source_note_id=i["source_note"])
            for i in v["items"]
        ]

        def checkout():
            group = order_checkout(
                buyer=request.user,
                items=items,
                address_id=v["address"],
                buyer_note=v["note"],
                expected_total=v["expected_total"],
            )
            return 201, s.checkout_out(group)

        status, body = idempotent(
            user=request.user,
            key=request.headers.get("Idempotency-Key", ""),
            fingerprint=request_fingerprint(method="POST", path=request.path, data=request.data),
            run=checkout,
        )
        return Response(body, status=status)


def _detail(request, order_id: int) -> Response:
    order = selectors.order_get_visible(user=request.user, order_id=order_id)
    return Response(s.OrderDetailOut(order).data)


class OrderView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.OrderDetailOut)
    def get(self, request, order_id):
        return _detail(request, order_id)


class OrderPayView(APIView):
    """Start paying: creates a payment intent; the provider's webhook settles it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.PayIn, responses={201: s.PaymentOut})
    def post(self, request, order_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        v = _validated(s.PayIn, request)
        payment = payment_services.payment_start(
            order=order, buyer=request.user, provider=v["provider"], token=v["token"]
        )
        return Response(s.PaymentOut(payment).data, status=201)


class OrderCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.CancelIn, responses=s.OrderDetailOut)
    def post(self, request, order_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        order_services.order_cancel(
            order=order, buyer=request.user, reason=_validated(s.CancelIn, request)["reason"]
        )
        return _detail(request, order_id)


class OrderShipView(APIView):
    """The owner of the store's brand ships a paid order."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.ShipIn, responses=s.OrderDetailOut)
    def post(self, request, order_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        order_services.order_ship(order=order, owner=request.user, **_validated(s.ShipIn, request))
        return _detail(request, order_id)


class OrderConfirmView(APIView):
    """The buyer confirms receipt (shipped → delivered), or closes a delivered order (→ completed)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=s.OrderDetailOut)
    def post(self, request, order_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        order_services.order_confirm(order=order, buyer=request.user)
        return _detail(request, order_id)


class OrderAfterSalesView(APIView):
    """Ask for a return and refund, within 7 days of delivery."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.AfterSaleIn, responses={201: s.AfterSaleOut})
    def post(self, request, order_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        after_sale = order_services.after_sale_request(
            order=order, buyer=request.user, reason=_validated(s.AfterSaleIn, request)["reason"]
        )
        return Response(s.AfterSaleOut(after_sale).data, status=201)


class AfterSaleDecisionView(APIView):
    """The store's brand owner approves (refund, restock) or declines an after-sale request."""

    permission_classes = [IsAuthenticated]
    approve = True

    @extend_schema(request=s.DecisionIn, responses=s.OrderDetailOut)
    def post(self, request, order_id, after_sale_id):
        order = selectors.order_get_visible(user=request.user, order_id=order_id)
        after_sale = selectors.after_sale_get(order=order, after_sale_id=after_sale_id)
        order_services.after_sale_decide(
            after_sale=after_sale,
            owner=request.user,
            approve=self.approve,
            note=_validated(s.DecisionIn, request)["note"],
        )
        return _detail(request, order_id)


class PaymentWebhookView(APIView):
    """Signed notifications from a payment provider. Repeats of an event are acknowledged and
    ignored; bad signatures and stale timestamps are a 400."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(request=OpenApiTypes.OBJECT, responses=s.WebhookOut)
    def post(self, request, provider):
        result = payment_services.payment_webhook_receive(
            provider=provider, headers=request.headers, body=request.body
        )
        return Response(s.WebhookOut(result).data)
