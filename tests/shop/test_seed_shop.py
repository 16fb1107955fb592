"""seed_demo's shop steps: brand stores, products with SKUs and processed photos, notes that tag
or review products, consistent figures, and reruns that change nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Min, Q
from PIL import Image

from accounts.choices import ReviewStatus
from notes.choices import MediaStatus
from notes.models import Note, NoteProduct
from shop import demo
from shop.choices import AfterSaleStatus, OrderStatus, ProductStatus
from shop.models import SKU, AfterSale, Order, OrderLine, Product, ProductImage, Store
from shop.selectors import counted_reviews

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--users", "4", "--notes", "2", *args, stdout=out)
    return out.getvalue()


def shop_world() -> dict:
    return {
        "stores": sorted(Store.objects.values_list("name", "brand__slug", "brand__owner__username")),
        "products": sorted(
            Product.objects.values_list("store__name", "title", "status", "min_price", "review_count")
        ),
        "skus": sorted(
            SKU.objects.values_list("product__title", "name", "price", "stock", "per_order_limit")
        ),
        "images": ProductImage.objects.count(),
        "tags": sorted(
            NoteProduct.objects.values_list("note__title", "note__author__username", "product__title")
        ),
        "reviews": sorted(
            Note.objects.exclude(rating=None).values_list(
                "title", "author__username", "product__title", "rating"
            )
        ),
    }


def test_seeded_shop_has_stores_products_and_product_notes():
    output = seed()
    stores = Store.objects.select_related("brand__owner")
    assert stores.count() == len(demo.STORES)
    assert {store.brand.status for store in stores} == {ReviewStatus.APPROVED}
    assert Store.objects.get(brand__slug=demo.BRAND_SLUG).brand.owner.username == "brand"
    assert Product.objects.count() == len(demo.PRODUCTS) >= 40
    assert set(Product.objects.values_list("status", flat=True)) == set(ProductStatus.values)
    assert {p.category for p in demo.PRODUCTS} <= set(Product.objects.values_list("category", flat=True))
    assert Product.objects.filter(title__regex=r"[\u4e00-\u9fff]").exists()
    assert Product.objects.exclude(title__regex=r"[\u4e00-\u9fff]").exists()
    for product in Product.objects.annotate(cheapest=Min("skus__price", filter=Q(skus__is_active=True))):
        assert product.min_price == product.cheapest
        assert product.product_images.exists() and product.skus.exists()
        assert product.review_count == counted_reviews(product_id=product.pk).count()
    assert SKU.objects.filter(attributes__has_key="尺码").exists()
    image = ProductImage.objects.select_related("media").first().media
    assert image.status == MediaStatus.READY
    with image.original.storage.open(image.variants["feed"]) as handle:
        assert Image.open(handle).format == "WEBP"
    assert NoteProduct.objects.exists()
    reviews = Note.objects.exclude(rating=None)
    assert reviews.exists() and set(reviews.values_list("rating", flat=True)) <= {1, 2, 3, 4, 5}
    assert not reviews.filter(author__brands__isnull=False).exists()  # brands don't review themselves
    assert f"{len(demo.STORES)} brand stores, {len(demo.PRODUCTS)} new products" in output


def test_running_twice_leaves_the_same_shop():
    seed()
    before = shop_world()
    output = seed()
    assert shop_world() == before
    assert "0 new products" in output and "0 notes newly tag products, 0 newly review one" in output


def test_no_notes_no_shop():
    seed("--notes", "0")
    assert not Store.objects.exists() and not Product.objects.exists()


def test_seeded_orders_in_every_state_with_attribution_and_verified_reviews():
    output = seed()
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert AfterSale.objects.filter(status=AfterSaleStatus.REQUESTED).exists()
    assert not Order.objects.filter(buyer__brands__isnull=False).exists()  # brands don't buy from stores
    assert OrderLine.objects.filter(source_note__isnull=False).exists()
    assert not SKU.objects.filter(stock__lt=0).exists()
    received = [OrderStatus.DELIVERED, OrderStatus.COMPLETED]
    verified = Note.objects.filter(is_verified_purchase=True)
    assert verified.exists()
    for note in verified:
        line = OrderLine.objects.select_related("order").get(review_note=note)
        assert (line.order.buyer_id, line.product_id, line.order.status in received) == (
            note.author_id,
            note.product_id,
            True,
        )
    for product in Product.objects.filter(reviews__is_verified_purchase=True).distinct():
        counted = counted_reviews(product_id=product.pk).filter(is_verified_purchase=True)
        assert product.rating_count == counted.count()
    orders = sorted(Order.objects.values_list("buyer__username", "buyer_note", "status", "total"))
    assert "new orders" in output
    assert "0 new orders, 0 reviews newly verified by them" in seed()
    assert sorted(Order.objects.values_list("buyer__username", "buyer_note", "status", "total")) == orders
