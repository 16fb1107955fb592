"""Brand owners manage their own products: create with SKUs and a gallery, edit, add and retire
SKUs; ``min_price`` follows the active SKUs; nobody touches another brand's catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.choices import ReviewStatus
from notes.choices import MediaStatus, NoteStatus, Visibility
from notes.models import Note
from shop.choices import ProductStatus
from shop.models import SKU, Product
from shop.services.catalogue import product_reviews_recount
from tests.factories import UserFactory
from tests.factories.accounts import BrandFactory
from tests.factories.notes import MediaFactory, NoteFactory
from tests.factories.shop import SKUFactory, StoreFactory, product_for_sale
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/shop/products"


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def seller(client_for, store):
    return client_for(store.brand.owner)


def new_product(client, **payload):
    if "images" not in payload:
        payload["images"] = [MediaFactory(owner=client.user).pk, MediaFactory(owner=client.user).pk]
    payload = {
        "title": "光研 修护精华 Glow Serum",
        "category": "beauty",
        "status": "on_sale",
        "skus": [
            {"name": "30ml", "price": "129.00", "stock": 20, "attributes": {"size": "30ml"}},
            {"name": "50ml", "price": "199.00", "stock": 0, "per_order_limit": 2},
        ],
        **payload,
    }
    return client.post(URL, payload, format="json")


def test_brand_owner_creates_a_product_with_skus_and_gallery(seller, store):
    response = new_product(seller, description="温和修护")
    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get()
    assert (body["id"], body["store_id"], body["status"], body["min_price"], body["in_stock"]) == (
        product.pk,
        store.pk,
        "on_sale",
        "129.00",
        True,
    )
    assert [(s["name"], s["price"], s["stock"], s["per_order_limit"]) for s in body["skus"]] == [
        ("30ml", "129.00", 20, 10),
        ("50ml", "199.00", 0, 2),
    ]
    assert body["skus"][0]["attributes"] == {"size": "30ml"}
    assert len(body["images"]) == 2 and body["cover_url"].endswith("-feed.webp")
    assert (product.description, product.min_price) == ("温和修护", Decimal("129.00"))
    assert body["is_owner"] is True


def test_a_draft_needs_no_sku_nor_image(seller):
    body = new_product(seller, status="draft", images=[], skus=[]).json()
    assert (body["status"], body["min_price"], body["skus"], body["images"]) == ("draft", None, [], [])


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"skus": []}, "skus"),
        ({"images": []}, "images"),
        ({"skus": [{"name": "x", "price": "9.999"}]}, "skus"),
        ({"skus": [{"name": "x", "price": "0"}]}, "skus"),
        ({"skus": [{"name": "x", "price": "9.90", "stock": -1}]}, "skus"),
        ({"skus": [{"price": "9.90"}]}, "skus"),
        ({"skus": [{"name": "x", "price": "1"}, {"name": "x", "price": "2"}]}, "skus"),
        ({"skus": [{"id": 1, "price": "1"}]}, "skus"),
        # An attribute's name as its value: no NUL (PostgreSQL's jsonb refused it, a 500), not
        # blank, at most 40 characters.
        ({"skus": [{"name": "x", "price": "1", "attributes": {"si\x00ze": "30ml"}}]}, "skus"),
        ({"skus": [{"name": "x", "price": "1", "attributes": {"": "30ml"}}]}, "skus"),
        ({"skus": [{"name": "x", "price": "1", "attributes": {"s" * 41: "30ml"}}]}, "skus"),
        ({"category": "cars"}, "category"),
        ({"sales_count": 1000}, "sales_count"),
        ({"min_price": "0.01"}, "min_price"),
    ],
)
def test_invalid_products_are_refused(seller, payload, field):
    assert field in assert_error(new_product(seller, **payload), 400, "invalid")["fields"]
    assert not Product.objects.exists() and not SKU.objects.exists()


def test_an_attribute_name_is_refused_as_a_value_would_be(seller):
    sku = {"name": "x", "price": "1", "attributes": {"si\x00ze": "30ml"}}
    error = assert_error(new_product(seller, skus=[sku]), 400, "invalid")
    assert error["fields"]["skus"] == {
        "0": {"attributes": ["An attribute's name: Null characters are not allowed."]}
    }


def test_images_must_be_the_callers_ready_images(seller):
    theirs = MediaFactory()
    pending = MediaFactory(owner=seller.user, status=MediaStatus.PENDING, variants={})
    video = MediaFactory(owner=seller.user, kind="video")
    for media in (theirs, pending, video):
        error = assert_error(new_product(seller, images=[media.pk]), 400, "invalid")
        assert len(error["fields"]["images"]) == 1
    assert not Product.objects.exists()


def test_who_may_create(client_for, anon_client):
    assert_error(new_product(anon_client, images=[]), 401, "not_authenticated")
    assert_error(new_product(client_for(UserFactory())), 403, "permission_denied")
    pending = BrandFactory(status=ReviewStatus.PENDING)
    StoreFactory(brand=pending)
    assert_error(new_product(client_for(pending.owner)), 403, "permission_denied")
    closed = StoreFactory(is_active=False)
    assert_error(new_product(client_for(closed.brand.owner)), 403, "permission_denied")
    assert not Product.objects.exists()


def test_a_brand_owner_with_several_stores_names_one(client_for, store):
    second = StoreFactory(brand=BrandFactory(owner=store.brand.owner, status=ReviewStatus.APPROVED))
    client = client_for(store.brand.owner)
    assert "store" in assert_error(new_product(client), 400, "invalid")["fields"]
    assert new_product(client, store=second.pk).json()["store_id"] == second.pk
    assert_error(new_product(client, store=StoreFactory().pk), 404, "not_found")


def test_edit_fields_skus_and_gallery(seller, anon_client):
    body = new_product(seller).json()
    small, large = body["skus"]
    image = MediaFactory(owner=seller.user)
    response = seller.patch(
        f"{URL}/{body['id']}",
        {
            "title": "Glow Serum 2.0",
            "images": [image.pk],
            "skus": [
                {"id": small["id"], "is_active": False},
                {"id": large["id"], "price": "179.00", "stock": 5},
                {"name": "旅行装 10ml", "price": "49.90", "stock": 100},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    edited = response.json()
    assert (edited["title"], edited["min_price"], [m["id"] for m in edited["images"]]) == (
        "Glow Serum 2.0",
        "49.90",
        [image.pk],
    )
    assert [(s["name"], s["price"], s["stock"], s["is_active"]) for s in edited["skus"]] == [
        ("30ml", "129.00", 20, False),
        ("50ml", "179.00", 5, True),
        ("旅行装 10ml", "49.90", 100, True),
    ]
    assert Product.objects.get().min_price == Decimal("49.90")
    # buyers see the active SKUs only
    public = seller.get(f"{URL}/{body['id']}").json()
    assert len(public["skus"]) == 3
    assert [s["name"] for s in anon_client.get(f"{URL}/{body['id']}").json()["skus"]] == [
        "50ml",
        "旅行装 10ml",
    ]


def test_retiring_every_sku_of_a_product_on_sale_is_refused(seller):
    body = new_product(seller).json()
    retire = [{"id": sku["id"], "is_active": False} for sku in body["skus"]]
    error = assert_error(seller.patch(f"{URL}/{body['id']}", {"skus": retire}, format="json"), 400, "invalid")
    assert "skus" in error["fields"]
    assert SKU.objects.filter(is_active=True).count() == 2  # nothing half-done
    off = seller.patch(f"{URL}/{body['id']}", {"skus": retire, "status": "off_sale"}, format="json").json()
    assert (off["status"], off["min_price"]) == ("off_sale", None)


def test_edit_refusals(seller, client_for):
    body = new_product(seller).json()
    other = product_for_sale()
    other_sku = SKUFactory(product=other)
    url = f"{URL}/{body['id']}"
    assert (
        "skus"
        in assert_error(seller.patch(url, {"skus": [{"id": other_sku.pk}]}, format="json"), 400, "invalid")[
            "fields"
        ]
    )
    rename = {"skus": [{"id": body["skus"][0]["id"], "name": "50ml"}]}
    assert "skus" in assert_error(seller.patch(url, rename, format="json"), 400, "invalid")["fields"]
    assert (
        "store"
        in assert_error(seller.patch(url, {"store": other.store_id}, format="json"), 400, "invalid")["fields"]
    )
    assert_error(seller.patch(f"{URL}/{other.pk}", {"title": "mine"}, format="json"), 404, "not_found")
    assert_error(
        client_for(UserFactory()).patch(url, {"title": "mine"}, format="json"), 403, "permission_denied"
    )
    assert Product.objects.get(pk=body["id"]).title == "光研 修护精华 Glow Serum"
    assert Product.objects.get(pk=other.pk).title != "mine"


def test_review_figures_are_recounted_from_the_notes():
    product = product_for_sale()
    for rating, verified in [(5, True), (4, True), (2, False)]:
        NoteFactory(product=product, rating=rating, is_verified_purchase=verified)
    NoteFactory(product=product, rating=1, is_verified_purchase=True, visibility=Visibility.PRIVATE)
    NoteFactory(product=product, rating=1, status=NoteStatus.HIDDEN)
    product_reviews_recount(product_id=product.pk)
    product.refresh_from_db()
    assert (product.review_count, product.rating_count, product.rating_sum, product.rating) == (3, 2, 9, 4.5)
    Note.objects.filter(product=product).update(is_verified_purchase=False)
    product_reviews_recount(product_id=product.pk)
    product.refresh_from_db()
    assert (product.review_count, product.rating_count, product.rating) == (3, 0, None)
    assert product.status == ProductStatus.ON_SALE


def test_reviews_written_through_the_api_are_counted_on_the_product(
    client_for, django_capture_on_commit_callbacks
):
    product = product_for_sale()
    author = client_for(UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = author.post(
            "/api/v1/notes",
            {
                "title": "真实测评",
                "media": [MediaFactory(owner=author.user).pk],
                "product": product.pk,
                "rating": 4,
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    product.refresh_from_db()
    assert (product.review_count, product.rating_count) == (1, 0)  # not a verified purchase
    assert author.get(URL).json()["results"][0]["review_count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert author.delete(f"/api/v1/notes/{response.json()['id']}").status_code == 204
    product.refresh_from_db()
    assert product.review_count == 0
