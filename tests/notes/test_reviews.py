"""A review is a note with a product and a rating; notes may tag products on sale."""

import pytest

from notes.models import Note
from shop.choices import ProductStatus
from tests.factories.notes import MediaFactory
from tests.factories.shop import ProductFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def post(client, **payload):
    payload.setdefault("title", "用了一个月的真实感受")
    payload.setdefault("media", [MediaFactory(owner=client.user).pk])
    return client.post("/api/v1/notes", payload, format="json")


def test_review_carries_product_and_rating_without_a_badge(api):
    product = ProductFactory(title="光研 精华 30ml")
    note = post(api, product=product.pk, rating=4).json()
    assert (note["product"]["id"], note["product"]["title"], note["rating"]) == (
        product.pk,
        "光研 精华 30ml",
        4,
    )
    assert note["is_verified_purchase"] is False  # only the shop grants it


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"rating": 5}, "product"),
        ({"product": "PRODUCT"}, "rating"),
        ({"product": "PRODUCT", "rating": 6}, "rating"),
    ],
)
def test_half_a_review_is_refused(api, payload, field):
    product = ProductFactory()
    payload = {k: product.pk if v == "PRODUCT" else v for k, v in payload.items()}
    error = assert_error(post(api, **payload), 400, "invalid")
    assert field in error["fields"]
    assert not Note.objects.exists()


def test_draft_products_cannot_be_reviewed_or_tagged(api):
    draft = ProductFactory(status=ProductStatus.DRAFT)
    assert "product" in assert_error(post(api, product=draft.pk, rating=3), 400, "invalid")["fields"]
    assert "products" in assert_error(post(api, products=[draft.pk]), 400, "invalid")["fields"]
    assert not Note.objects.exists()


def test_off_sale_products_can_still_be_reviewed(api):
    product = ProductFactory(status=ProductStatus.OFF_SALE)
    assert post(api, product=product.pk, rating=5).status_code == 201


def test_tags_keep_their_order_and_limits(api):
    first, second = ProductFactory(), ProductFactory()
    note = post(api, products=[second.pk, first.pk]).json()
    assert [p["id"] for p in note["products"]] == [second.pk, first.pk]
    too_many = [ProductFactory().pk for _ in range(6)]
    assert_error(post(api, products=too_many), 400, "invalid")
    assert_error(post(api, products=[first.pk, first.pk]), 400, "invalid")


def test_edit_review_and_tags(api):
    product, other = ProductFactory(), ProductFactory()
    note = post(api, product=product.pk, rating=2).json()
    Note.objects.filter(pk=note["id"]).update(is_verified_purchase=True)
    url = f"/api/v1/notes/{note['id']}"
    same = api.patch(url, {"product": product.pk, "rating": 5}, format="json").json()
    assert (same["rating"], same["is_verified_purchase"]) == (5, True)
    moved = api.patch(url, {"product": other.pk, "rating": 5, "products": [product.pk]}, format="json").json()
    assert (moved["product"]["id"], moved["is_verified_purchase"]) == (other.pk, False)
    assert [p["id"] for p in moved["products"]] == [product.pk]
    cleared = api.patch(url, {"product": None, "rating": None, "products": []}, format="json").json()
    assert (cleared["product"], cleared["rating"], cleared["products"]) == (None, None, [])
    assert_error(api.patch(url, {"rating": 3}, format="json"), 400, "invalid")
