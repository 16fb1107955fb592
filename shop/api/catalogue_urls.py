from django.urls import path

from shop.api import catalogue

urlpatterns = [
    path("shop/products", catalogue.ProductListCreateView.as_view(), name="shop-products"),
    path("shop/products/<id:product_id>", catalogue.ProductDetailView.as_view(), name="shop-product"),
    path(
        "shop/products/<id:product_id>/reviews",
        catalogue.ProductReviewsView.as_view(),
        name="shop-product-reviews",
    ),
]
