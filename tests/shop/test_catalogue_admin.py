"""Staff manage the catalogue in the admin: lists with filters and search, products with their
SKU and image inlines, and ``min_price`` kept right when SKUs change there."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.factories.shop import SKUFactory, product_for_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_product_and_store_lists_filter_and_search(admin_client_):
    product = product_for_sale(title="光研 修护精华")
    other = product_for_sale(title="Linen trousers", category="fashion")
    listing = admin_client_.get(
        "/admin/shop/product/", {"q": product.store.brand.slug, "status__exact": "on_sale"}
    ).content.decode()
    assert f"/admin/shop/product/{product.pk}/change/" in listing
    assert f"/admin/shop/product/{other.pk}/change/" not in listing
    by_store = admin_client_.get(
        "/admin/shop/product/", {"store__id__exact": other.store_id}
    ).content.decode()
    assert "Linen trousers" in by_store and "光研 修护精华" not in by_store
    stores = admin_client_.get("/admin/shop/store/", {"q": product.store.name}).content.decode()
    assert f"/admin/shop/store/{product.store_id}/change/" in stores


def test_saving_sku_inlines_recomputes_min_price(admin_client_):
    product = product_for_sale(price="99.00")
    sku = product.skus.get()
    extra = SKUFactory(product=product, name="mini", price=Decimal("29.00"), is_active=False)
    page = admin_client_.get(f"/admin/shop/product/{product.pk}/change/")
    assert page.status_code == 200 and "mini" in page.content.decode()
    image = product.product_images.get()
    data = {
        "store": product.store_id,
        "title": product.title,
        "description": "",
        "category": product.category,
        "status": product.status,
        "skus-TOTAL_FORMS": 2,
        "skus-INITIAL_FORMS": 2,
        "skus-0-id": sku.pk,
        "skus-0-product": product.pk,
        "skus-0-name": sku.name,
        "skus-0-price": "99.00",
        "skus-0-stock": 10,
        "skus-0-per_order_limit": 10,
        "skus-0-is_active": "on",
        "skus-0-attributes": "{}",
        "skus-1-id": extra.pk,
        "skus-1-product": product.pk,
        "skus-1-name": "mini",
        "skus-1-price": "29.00",
        "skus-1-stock": 5,
        "skus-1-per_order_limit": 10,
        "skus-1-is_active": "on",  # back on sale: now the cheapest
        "skus-1-attributes": "{}",
        "product_images-TOTAL_FORMS": 1,
        "product_images-INITIAL_FORMS": 1,
        "product_images-0-id": image.pk,
        "product_images-0-product": product.pk,
        "product_images-0-media": image.media_id,
        "product_images-0-position": 0,
    }
    response = admin_client_.post(f"/admin/shop/product/{product.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.min_price == Decimal("29.00")
