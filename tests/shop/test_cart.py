"""Cart and shipping addresses: live prices, limits, one default address, and nobody else's rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop.models import SKU, Address, CartItem
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.factories.shop import AddressFactory, SKUFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CART = "/api/v1/shop/cart"
ITEMS = "/api/v1/shop/cart/items"
ADDRESSES = "/api/v1/shop/addresses"
NEW_ADDRESS = {
    "recipient": "李雷",
    "phone": "13900139000",
    "province": "北京市",
    "city": "北京市",
    "district": "朝阳区",
    "line": "建国路 88 号",
    "postal_code": "100022",
}


def test_adding_twice_adds_up_and_the_cart_shows_live_prices(api):
    sku = SKUFactory(price=Decimal("35.50"), stock=4, per_order_limit=5)
    note = NoteFactory()
    first = api.post(ITEMS, {"sku": sku.pk, "quantity": 2, "source_note": note.pk}, format="json")
    assert first.status_code == 201, first.content
    again = api.post(ITEMS, {"sku": sku.pk}, format="json")
    assert again.json()["id"] == first.json()["id"] and again.json()["quantity"] == 3

    SKU.objects.filter(pk=sku.pk).update(price=Decimal("30.00"))
    cart = api.get(CART).json()

    assert cart["total"] == "90.00" and cart["currency"] == "CNY"
    assert cart["items"] == [
        {
            "id": first.json()["id"],
            "sku": {
                "id": sku.pk,
                "name": sku.name,
                "price": "30.00",
                "in_stock": True,
                "per_order_limit": 5,
                "product": sku.product_id,
                "title": sku.product.title,
                "store": sku.product.store.name,
            },
            "quantity": 3,
            "source_note": note.pk,
            "line_total": "90.00",
        }
    ]


def test_cart_refusals(api):
    sku = SKUFactory(per_order_limit=2)
    assert_error(api.post(ITEMS, {"sku": sku.pk, "quantity": 3}, format="json"), 400, "over_limit")
    assert_error(api.post(ITEMS, {"sku": SKUFactory(is_active=False).pk}, format="json"), 400, "invalid")
    assert_error(api.post(ITEMS, {"sku": sku.pk, "source_note": 987654}, format="json"), 400, "invalid")
    error = assert_error(api.post(ITEMS, {"sku": sku.pk, "price": "0.01"}, format="json"), 400, "invalid")
    assert error["fields"] == {"price": ["This field cannot be set."]}
    assert not CartItem.objects.exists()


def test_change_quantity_remove_and_clear(api, user):
    item = api.post(ITEMS, {"sku": SKUFactory().pk}, format="json").json()
    api.post(ITEMS, {"sku": SKUFactory().pk}, format="json")

    changed = api.patch(f"{ITEMS}/{item['id']}", {"quantity": 4}, format="json")
    assert changed.status_code == 200 and changed.json()["quantity"] == 4
    assert api.delete(f"{ITEMS}/{item['id']}").status_code == 204
    assert len(api.get(CART).json()["items"]) == 1
    assert api.delete(CART).status_code == 204
    assert api.get(CART).json() == {"items": [], "total": "0.00", "currency": "CNY"}


def test_nobody_reads_or_changes_another_users_cart(api, client_for):
    other = client_for(UserFactory())
    theirs = other.post(ITEMS, {"sku": SKUFactory().pk, "quantity": 2}, format="json").json()

    assert api.get(CART).json()["items"] == []
    assert_error(api.patch(f"{ITEMS}/{theirs['id']}", {"quantity": 9}, format="json"), 404, "not_found")
    assert_error(api.delete(f"{ITEMS}/{theirs['id']}"), 404, "not_found")
    assert CartItem.objects.get(pk=theirs["id"]).quantity == 2


def test_the_first_address_is_the_default_and_a_new_default_takes_over(api, user):
    first = api.post(ADDRESSES, NEW_ADDRESS, format="json")
    assert first.status_code == 201, first.content
    assert first.json() == {"id": first.json()["id"], **NEW_ADDRESS, "is_default": True}
    second = api.post(
        ADDRESSES, {**NEW_ADDRESS, "line": "长安街 1 号", "is_default": True}, format="json"
    ).json()

    listed = api.get(ADDRESSES).json()
    assert [(a["id"], a["is_default"]) for a in listed] == [(second["id"], True), (first.json()["id"], False)]

    api.patch(
        f"{ADDRESSES}/{first.json()['id']}", {"is_default": True, "phone": "13700137000"}, format="json"
    )
    assert list(Address.objects.filter(user=user, is_default=True).values_list("pk", "phone")) == [
        (first.json()["id"], "13700137000")
    ]
    assert api.delete(f"{ADDRESSES}/{first.json()['id']}").status_code == 204
    assert api.get(f"{ADDRESSES}/{second['id']}").json()["is_default"] is True


def test_nobody_reads_or_changes_another_users_address(api):
    theirs = AddressFactory(user=UserFactory())
    url = f"{ADDRESSES}/{theirs.pk}"
    assert_error(api.get(url), 404, "not_found")
    assert_error(api.patch(url, {"line": "mine now"}, format="json"), 404, "not_found")
    assert_error(api.delete(url), 404, "not_found")
    assert api.get(ADDRESSES).json() == []
    assert Address.objects.get(pk=theirs.pk).line == theirs.line
