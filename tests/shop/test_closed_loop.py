"""The loop the shop exists for, all through the API: a note plants grass, a reader buys the product
it tags, pays in the sandbox, receives it and posts a review that earns the verified badge; the
note's author sees the sale attributed to the note."""

import pytest

from tests.factories import UserFactory
from tests.factories.notes import MediaFactory, live_note
from tests.factories.shop import product_for_sale

pytestmark = pytest.mark.django_db

ADDRESS = {
    "recipient": "韩梅梅",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "徐汇区",
    "line": "武康路 100 号",
}


def test_from_a_note_to_a_verified_review(client_for, django_capture_on_commit_callbacks):
    product = product_for_sale(price="129.00", stock=5, title="玫瑰精华油 30ml")
    brand = client_for(product.store.brand.owner)
    kol = UserFactory(username="kol_lin")
    note = live_note(author=kol, title="今年最爱的精华", body="#护肤 真的会回购", product_ids=[product.pk])
    buyer_user = UserFactory(username="reader_wu")
    buyer = client_for(buyer_user)

    # The note shows the product it plants; the product page shows the note.
    page = buyer.get(f"/api/v1/notes/{note.pk}").json()
    assert [p["id"] for p in page["products"]] == [product.pk]
    detail = buyer.get(f"/api/v1/shop/products/{product.pk}").json()
    assert [n["id"] for n in detail["planted_by"]] == [note.pk]
    sku = detail["skus"][0]

    # Cart (coming from the note), address, checkout, sandbox payment confirmed by its webhook.
    added = buyer.post("/api/v1/shop/cart/items", {"sku": sku["id"], "quantity": 2, "source_note": note.pk})
    assert added.status_code == 201, added.content
    assert buyer.post("/api/v1/shop/addresses", ADDRESS, format="json").status_code == 201
    placed = buyer.post("/api/v1/shop/orders", {}, format="json", HTTP_IDEMPOTENCY_KEY="loop-1")
    assert placed.status_code == 201, placed.content
    (order,) = placed.json()["orders"]
    assert (order["status"], order["total"]) == ("pending_payment", "258.00")  # free shipping from 99
    with django_capture_on_commit_callbacks(execute=True):
        paying = buyer.post(f"/api/v1/shop/orders/{order['id']}/pay", {"token": "tok_success"}, format="json")
    assert paying.status_code in (200, 201), paying.content
    assert buyer.get(f"/api/v1/shop/orders/{order['id']}").json()["status"] == "paid"

    # A review before delivery is not verified.
    def review(body):
        media = MediaFactory(owner=buyer_user)
        payload = {"title": "用了两周", "body": body, "media": [media.pk], "product": product.pk, "rating": 5}
        response = buyer.post("/api/v1/notes", payload, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    early = review("还没收到货就先打个分")
    assert early["is_verified_purchase"] is False

    # The brand ships, the buyer confirms receipt: the review becomes a verified purchase.
    shipped = brand.post(
        f"/api/v1/shop/orders/{order['id']}/ship", {"carrier": "顺丰", "tracking_number": "SF1234567890"}
    )
    assert shipped.status_code == 200, shipped.content
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = buyer.post(f"/api/v1/shop/orders/{order['id']}/confirm")
    assert confirmed.json()["status"] == "delivered"
    assert buyer.get(f"/api/v1/notes/{early['id']}").json()["is_verified_purchase"] is True
    reviews = buyer.get(f"/api/v1/shop/products/{product.pk}/reviews").json()["results"]
    assert [r["id"] for r in reviews] == [early["id"]]

    # The note's author sees the sale it drove; the buyer may not look.
    driven = client_for(kol).get(f"/api/v1/shop/attribution/notes/{note.pk}").json()
    assert (driven["orders"], driven["units"], driven["revenue"]) == (1, 2, "258.00")
    assert buyer.get(f"/api/v1/shop/attribution/notes/{note.pk}").status_code == 404
