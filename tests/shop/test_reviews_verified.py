"""The verified-purchase badge: a review is verified by a delivered order line of its author for its
product, one review per line, decided when the review is written and when orders are delivered or
refunded; the product's rating counts verified reviews only."""

from __future__ import annotations

import pytest

from accounts.services import user_set_active
from notes.models import Note
from shop.models import OrderLine, Product
from tests.factories import UserFactory
from tests.factories.notes import MediaFactory
from tests.factories.shop import SKUFactory
from tests.shop.orders_support import ORDERS, buyer_with_address, delivered_order, paid_order

pytestmark = pytest.mark.django_db

NOTES = "/api/v1/notes"
PRODUCTS = "/api/v1/shop/products"


@pytest.fixture
def sku():
    return SKUFactory(stock=10)


@pytest.fixture
def buyer(client_for, user):
    return buyer_with_address(client_for, user)


@pytest.fixture
def brand(client_for, sku):
    return client_for(sku.product.store.brand.owner)


def write_review(client, sku, rating: int = 4) -> dict:
    body = {"title": "用了一个月", "media": [MediaFactory(owner=client.user).pk], "rating": rating}
    response = client.post(NOTES, {**body, "product": sku.product_id}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def badge(note: dict) -> bool:
    return Note.objects.values_list("is_verified_purchase", flat=True).get(pk=note["id"])


def verified_ratings(client, sku) -> tuple[dict, float | None, int]:
    product = client.get(f"{PRODUCTS}/{sku.product_id}").json()
    return product["ratings"]["verified"], product["rating"], product["rating_count"]


def test_a_review_without_a_delivered_order_is_not_verified(buyer, sku):
    paid_order(buyer, sku)  # paid, not yet received
    note = write_review(buyer, sku, rating=5)
    assert note["is_verified_purchase"] is False
    assert buyer.get(f"{NOTES}/{note['id']}").json()["is_verified_purchase"] is False
    figures, rating, count = verified_ratings(buyer, sku)
    assert (figures["count"], rating, count) == (0, None, 0)
    assert buyer.get(f"{PRODUCTS}/{sku.product_id}").json()["ratings"]["all"]["count"] == 1


def test_a_buyer_of_a_delivered_order_writes_a_verified_review(buyer, brand, sku, anon_client):
    order = delivered_order(buyer, brand, sku)
    note = write_review(buyer, sku, rating=4)
    assert note["is_verified_purchase"] is True
    detail = anon_client.get(f"{NOTES}/{note['id']}").json()
    assert (detail["is_verified_purchase"], detail["rating"]) == (True, 4)
    assert OrderLine.objects.get(order_id=order["id"]).review_note_id == note["id"]
    figures, rating, count = verified_ratings(anon_client, sku)
    assert (figures["count"], figures["average"], figures["distribution"]["4"], rating, count) == (
        1,
        4.0,
        1,
        4.0,
        1,
    )
    reviews = anon_client.get(f"{PRODUCTS}/{sku.product_id}/reviews").json()["results"]
    assert [(r["id"], r["is_verified_purchase"]) for r in reviews] == [(note["id"], True)]


def test_one_order_line_verifies_one_review(buyer, brand, sku):
    delivered_order(buyer, brand, sku, quantity=2)  # one line, however many units
    first, second = write_review(buyer, sku, rating=5), write_review(buyer, sku, rating=1)
    assert (first["is_verified_purchase"], second["is_verified_purchase"]) == (True, False)
    delivered_order(buyer, brand, sku)  # a second line verifies the waiting review
    assert (badge(first), badge(second)) == (True, True)
    figures, rating, _ = verified_ratings(buyer, sku)
    assert (figures["count"], rating) == (2, 3.0)


def test_delivery_after_the_review_upgrades_it(buyer, brand, sku):
    order = paid_order(buyer, sku)
    note = write_review(buyer, sku, rating=3)
    assert note["is_verified_purchase"] is False
    brand.post(f"{ORDERS}/{order['id']}/ship", {"carrier": "顺丰", "tracking_number": "SF1"}, format="json")
    assert badge(note) is False  # shipped is not received
    assert buyer.post(f"{ORDERS}/{order['id']}/confirm").json()["status"] == "delivered"
    assert badge(note) is True
    assert buyer.get(f"{NOTES}/{note['id']}").json()["is_verified_purchase"] is True
    figures, rating, count = verified_ratings(buyer, sku)
    assert (figures["count"], rating, count) == (1, 3.0, 1)


def test_another_buyers_delivery_verifies_nothing(buyer, brand, sku, client_for):
    note = write_review(buyer, sku)
    delivered_order(buyer_with_address(client_for, UserFactory()), brand, sku)
    assert badge(note) is False


def test_deleting_a_verified_review_passes_its_line_on(buyer, brand, sku):
    delivered_order(buyer, brand, sku)
    first, second = write_review(buyer, sku, rating=5), write_review(buyer, sku, rating=2)
    assert buyer.delete(f"{NOTES}/{first['id']}").status_code == 204
    assert badge(second) is True
    figures, rating, _ = verified_ratings(buyer, sku)
    assert (figures["count"], rating) == (1, 2.0)


def test_moving_a_review_to_another_product_drops_its_badge(buyer, brand, sku):
    delivered_order(buyer, brand, sku)
    note = write_review(buyer, sku)
    other = SKUFactory()
    moved = buyer.patch(f"{NOTES}/{note['id']}", {"product": other.product_id, "rating": 4}, format="json")
    assert moved.json()["is_verified_purchase"] is False
    assert not OrderLine.objects.filter(review_note_id=note["id"]).exists()
    back = buyer.patch(f"{NOTES}/{note['id']}", {"product": sku.product_id, "rating": 4}, format="json")
    assert back.json()["is_verified_purchase"] is True


def test_a_refunded_order_no_longer_verifies(buyer, brand, sku):
    order = delivered_order(buyer, brand, sku)
    note = write_review(buyer, sku, rating=5)
    after_sale = buyer.post(f"{ORDERS}/{order['id']}/after-sales", {"reason": "破损"}, format="json").json()
    approved = brand.post(f"{ORDERS}/{order['id']}/after-sales/{after_sale['id']}/approve", {}, format="json")
    assert approved.json()["status"] == "refunded"
    assert badge(note) is False
    figures, rating, count = verified_ratings(buyer, sku)
    assert (figures["count"], rating, count) == (0, None, 0)


def review_counts(*skus) -> list[int]:
    return [Product.objects.values_list("review_count", flat=True).get(pk=s.product_id) for s in skus]


def test_moving_an_unverified_review_recounts_both_products_in_its_transaction(buyer, sku, anon_client):
    """No commit runs in this test, so only what the edit's own transaction did is seen."""
    other = SKUFactory()
    note = write_review(buyer, sku, rating=2)
    assert review_counts(sku, other) == [1, 0]

    moved = buyer.patch(f"{NOTES}/{note['id']}", {"product": other.product_id, "rating": 5}, format="json")

    assert moved.status_code == 200, moved.content
    assert review_counts(sku, other) == [0, 1]
    before, after = (anon_client.get(f"{PRODUCTS}/{s.product_id}").json() for s in (sku, other))
    assert (before["review_count"], before["ratings"]["all"]["count"]) == (0, 0)
    assert (after["review_count"], after["ratings"]["all"]["distribution"]["5"]) == (1, 1)


def test_a_review_that_stops_being_one_leaves_its_product_uncounted(buyer, sku):
    note = write_review(buyer, sku, rating=3)
    plain = buyer.patch(f"{NOTES}/{note['id']}", {"product": None, "rating": None}, format="json")
    assert plain.status_code == 200, plain.content
    assert plain.json()["rating"] is None
    assert review_counts(sku) == [0]


def test_a_deactivated_authors_reviews_stop_counting_and_count_again_when_reactivated(
    buyer, brand, sku, anon_client, django_capture_on_commit_callbacks
):
    delivered_order(buyer, brand, sku)
    write_review(buyer, sku, rating=5)
    other = SKUFactory()
    write_review(buyer, other, rating=2)
    assert review_counts(sku, other) == [1, 1]
    for active, counts, verified in ((False, [0, 0], (0, None, 0)), (True, [1, 1], (1, 5.0, 1))):
        with django_capture_on_commit_callbacks(execute=True):
            user_set_active(user=buyer.user, active=active)
        assert review_counts(sku, other) == counts
        figures, rating, count = verified_ratings(anon_client, sku)
        assert (figures["count"], rating, count) == verified


def test_moving_a_verified_review_away_and_back_keeps_every_figure_exact(buyer, brand, sku):
    delivered_order(buyer, brand, sku)
    note = write_review(buyer, sku, rating=4)
    other = SKUFactory()
    buyer.patch(f"{NOTES}/{note['id']}", {"product": other.product_id, "rating": 2}, format="json")
    assert review_counts(sku, other) == [0, 1]
    assert verified_ratings(buyer, sku)[1:] == (None, 0)
    buyer.patch(f"{NOTES}/{note['id']}", {"product": sku.product_id, "rating": 4}, format="json")
    assert review_counts(sku, other) == [1, 0]
    assert verified_ratings(buyer, sku)[1:] == (4.0, 1)
