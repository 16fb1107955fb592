from django.urls import path

from shop.api import orders as views

urlpatterns = [
    path("shop/cart", views.CartView.as_view(), name="shop-cart"),
    path("shop/cart/items", views.CartItemsView.as_view(), name="shop-cart-items"),
    path("shop/cart/items/<id:item_id>", views.CartItemView.as_view(), name="shop-cart-item"),
    path("shop/addresses", views.AddressesView.as_view(), name="shop-addresses"),
    path("shop/addresses/<id:address_id>", views.AddressView.as_view(), name="shop-address"),
    path("shop/orders", views.OrdersView.as_view(), name="shop-orders"),
    path("shop/orders/<id:order_id>", views.OrderView.as_view(), name="shop-order"),
    path("shop/orders/<id:order_id>/pay", views.OrderPayView.as_view(), name="shop-order-pay"),
    path("shop/orders/<id:order_id>/cancel", views.OrderCancelView.as_view(), name="shop-order-cancel"),
    path("shop/orders/<id:order_id>/ship", views.OrderShipView.as_view(), name="shop-order-ship"),
    path("shop/orders/<id:order_id>/confirm", views.OrderConfirmView.as_view(), name="shop-order-confirm"),
    path(
        "shop/orders/<id:order_id>/after-sales",
        views.OrderAfterSalesView.as_view(),
        name="shop-order-after-sales",
    ),
    path(
        "shop/orders/<id:order_id>/after-sales/<id:after_sale_id>/approve",
        views.AfterSaleDecisionView.as_view(approve=True),
        name="shop-after-sale-approve",
    ),
    path(
        "shop/orders/<id:order_id>/after-sales/<id:after_sale_id>/decline",
        views.AfterSaleDecisionView.as_view(approve=False),
        name="shop-after-sale-decline",
    ),
    path(
        "shop/payments/webhook/<str:provider>",
        views.PaymentWebhookView.as_view(),
        name="shop-payment-webhook",
    ),
]
