"""Access and input-integrity audit of the shop API: who may read and change what.

The parties: anonymous, the buyer, another buyer, the owner of the brand whose store sold the line,
the owner of another brand, and staff (a superuser: the API grants nothing for it; staff work in the
admin). Every refusal is the API's JSON error and leaves the rows as they were (order, events,
payments, after-sales, stock, sales, notifications), and the rightful party can still act afterwards.
What the other suites check already (a stranger reading an order or a cart item, the buyer shipping,
a duplicated SKU, a key reused with another body...) is not repeated here.
"""

from __future__ import annotations

import json
import time

import pytest

from accounts.choices import ReviewStatus
from accounts.models import Brand, Notification
from notes.models import Note
from shop.choices import OrderStatus, PaymentStatus, ProductStatus
from shop.models import (
    SKU,
    Address,
    AfterSale,
    CartItem,
    CheckoutGroup,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
    Store,
    WebhookEvent,
)
from shop.payments.sandbox import SIGNATURE_HEADER, _sign, signed_webhook
from tests.factories import UserFactory
from tests.factories.notes import MediaFactory
from tests.factories.shop import SKUFactory, StoreFactory, product_for_sale
from tests.helpers import assert_error
from tests.shop.orders_support import (
    ORDERS,
    WEBHOOK,
    buyer_with_address,
    checkout,
    new_key,
    paid_order,
    pay,
    place_order,
    send_webhook,
    status_of,
)

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/shop/products"
CART_ITEMS = "/api/v1/shop/cart/items"
SHIP = {"carrier": "顺丰", "tracking_number": "SF0000000001"}


@pytest.fixture
def sku():
    return SKUFactory(stock=10)


@pytest.fixture
def cast(client_for, anon_client, sku) -> dict:
    """Everyone who may call, by role. The buyer and the other buyer have a default address."""
    return {
        "anonymous": anon_client,
        "buyer": buyer_with_address(client_for, UserFactory()),
        "other_buyer": buyer_with_address(client_for, UserFactory()),
        "brand": client_for(sku.product.store.brand.owner),
        "other_brand": client_for(StoreFactory().brand.owner),
        "staff": client_for(UserFactory(is_staff=True, is_superuser=True)),
    }


def stock(sku: SKU) -> int:
    return SKU.objects.values_list("stock", flat=True).get(pk=sku.pk)


def snapshot(order_id: int, sku: SKU) -> dict:
    """Everything an order action may change."""
    order = Order.objects.get(pk=order_id)
    return {
        "order": (
            order.status,
            order.carrier,
            order.tracking_number,
            order.paid_at,
            order.shipped_at,
            order.delivered_at,
            order.closed_at,
        ),
        "events": OrderEvent.objects.filter(order_id=order_id).count(),
        "payments": list(
            Payment.objects.filter(order_id=order_id).order_by("pk").values_list("pk", "status")
        ),
        "after_sales": list(
            AfterSale.objects.filter(order_id=order_id)
            .order_by("pk")
            .values_list("pk", "status", "decided_at")
        ),
        "stock": stock(sku),
        "sales": Product.objects.values_list("sales_count", flat=True).get(pk=sku.product_id),
        "notifications": Notification.objects.count(),
    }


# --- Orders: states, actions, parties ------------------------------------------------------------


def order_in(state: str, cast: dict, sku: SKU) -> tuple[int, int | None]:
    """A buyer's order of one ``sku`` brought to ``state`` through the API: its id and, in state
    ``requested`` (delivered, with an after-sale asked for), the after-sale's id."""
    buyer, brand = cast["buyer"], cast["brand"]
    ship, confirm = (brand, "ship", SHIP), (buyer, "confirm", {})
    steps = {
        "pending": [],
        "cancelled": [(buyer, "cancel", {})],
        "paid": [],
        "shipped": [ship],
        "delivered": [ship, confirm],
        "completed": [ship, confirm, confirm],
        "requested": [ship, confirm, (buyer, "after-sales", {"reason": "颜色不对"})],
    }[state]
    unpaid = state in ("pending", "cancelled")
    order_id = place_order(buyer, sku)["id"] if unpaid else paid_order(buyer, sku, 1)["id"]
    response = None
    for client, action, body in steps:
        response = client.post(f"{ORDERS}/{order_id}/{action}", body, format="json")
        assert response.status_code in (200, 201), response.content
    assert status_of(order_id) == {"pending": "pending_payment", "requested": "delivered"}.get(state, state)
    return order_id, response.json()["id"] if state == "requested" else None


#: Each action: the state it is legal in, its body, and the one party who may take it.
ACTIONS = {
    "pay": ("pending", {"token": "tok_delayed"}, "buyer"),
    "cancel": ("pending", {"reason": "不要了"}, "buyer"),
    "ship": ("paid", SHIP, "brand"),
    "confirm": ("shipped", {}, "buyer"),
    "after-sales": ("delivered", {"reason": "坏了"}, "buyer"),
    "approve": ("requested", {"note": "同意"}, "brand"),
    "decline": ("requested", {"note": "不同意"}, "brand"),
}
PARTIES = ["anonymous", "buyer", "other_buyer", "brand", "other_brand", "staff"]


def act(client, order_id: int, action: str, after_sale: int | None, body: dict):
    path = f"after-sales/{after_sale}/{action}" if action in ("approve", "decline") else action
    return client.post(f"{ORDERS}/{order_id}/{path}", body, format="json")


@pytest.mark.parametrize(
    "action,party",
    [(action, party) for action, (_, _, who) in ACTIONS.items() for party in PARTIES if party != who],
)
def test_an_order_action_by_the_wrong_party_is_refused_and_changes_nothing(cast, sku, action, party):
    state, body, rightful = ACTIONS[action]
    order_id, after_sale = order_in(state, cast, sku)
    before = snapshot(order_id, sku)

    response = act(cast[party], order_id, action, after_sale, body)

    if party == "anonymous":
        assert_error(response, 401, "not_authenticated")
    else:  # the brand can read the buyer's order, yet acts on it as a stranger would: 404
        assert_error(response, 404, "not_found")
    assert snapshot(order_id, sku) == before
    assert act(cast[rightful], order_id, action, after_sale, body).status_code in (200, 201)


@pytest.mark.parametrize(
    "action,state,code",
    [
        ("pay", "shipped", "illegal_transition"),
        ("pay", "completed", "illegal_transition"),
        ("cancel", "delivered", "illegal_transition"),
        ("cancel", "completed", "illegal_transition"),
        ("cancel", "cancelled", "illegal_transition"),
        ("ship", "shipped", "illegal_transition"),
        ("ship", "delivered", "illegal_transition"),
        ("ship", "cancelled", "illegal_transition"),
        ("confirm", "paid", "illegal_transition"),
        ("confirm", "cancelled", "illegal_transition"),
        ("confirm", "completed", "illegal_transition"),
        ("after-sales", "paid", "after_sales_closed"),
        ("after-sales", "shipped", "after_sales_closed"),
        ("after-sales", "cancelled", "after_sales_closed"),
    ],
)
def test_an_order_action_in_the_wrong_state_is_409_and_changes_nothing(cast, sku, action, state, code):
    _, body, rightful = ACTIONS[action]
    order_id, _ = order_in(state, cast, sku)
    before = snapshot(order_id, sku)
    assert_error(act(cast[rightful], order_id, action, None, body), 409, code)
    assert snapshot(order_id, sku) == before


@pytest.mark.parametrize("party", ["buyer", "brand", "other_buyer", "other_brand", "staff"])
def test_who_reads_an_order(cast, sku, party):
    order_id, _ = order_in("paid", cast, sku)
    detail = cast[party].get(f"{ORDERS}/{order_id}")
    mine = cast[party].get(ORDERS).json()["results"]
    as_brand = cast[party].get(f"{ORDERS}?as=brand").json()["results"]
    if party in ("buyer", "brand"):
        assert detail.status_code == 200 and detail.json()["id"] == order_id
        assert [o["id"] for o in (mine if party == "buyer" else as_brand)] == [order_id]
    else:
        assert_error(detail, 404, "not_found")
        assert mine == [] and as_brand == []


def test_an_after_sale_is_decided_only_through_its_own_order(cast, sku):
    """The brand runs both orders: an after-sale's id under the other order's path is no request."""
    asked, _ = order_in("delivered", cast, sku)
    other, _ = order_in("delivered", cast, sku)
    after_sale = act(cast["buyer"], asked, "after-sales", None, {"reason": "坏了"}).json()["id"]
    before = snapshot(asked, sku), snapshot(other, sku)
    for decision in ("approve", "decline"):
        assert_error(act(cast["brand"], other, decision, after_sale, {}), 404, "not_found")
    assert_error(act(cast["brand"], asked, "approve", 10**12, {}), 404, "not_found")
    assert (snapshot(asked, sku), snapshot(other, sku)) == before


@pytest.mark.parametrize("extra", ["own_line", "other_line", "lines", "amount", "order", "status"])
def test_an_after_sale_names_no_line_amount_or_outcome(cast, sku, extra):
    """An after-sale is the whole order's: a line (of this order or of another buyer's), an amount
    or an outcome sent with it is refused, not quietly dropped."""
    order_id, _ = order_in("delivered", cast, sku)
    others = place_order(cast["other_buyer"], sku)
    body = {
        "own_line": {"line": OrderLine.objects.get(order_id=order_id).pk},
        "other_line": {"line": others["lines"][0]["id"]},
        "lines": {"lines": [others["lines"][0]["id"]]},
        "amount": {"amount": "0.01"},
        "order": {"order": others["id"]},
        "status": {"status": "approved"},
    }[extra]
    before = snapshot(order_id, sku), snapshot(others["id"], sku)
    response = act(cast["buyer"], order_id, "after-sales", None, {"reason": "坏了", **body})
    assert set(assert_error(response, 400, "invalid")["fields"]) == set(body)
    assert (snapshot(order_id, sku), snapshot(others["id"], sku)) == before


# --- Anonymous: every operation of the schema ----------------------------------------------------


def shop_operations(client) -> list[tuple[str, str, bool]]:
    """(method, path, public) of every operation under /api/v1/shop/, from the OpenAPI schema."""
    schema = client.get("/api/schema/?format=json").json()
    return [
        (method.upper(), path, {} in operation.get("security", [{}]))
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/shop/")
        for method, operation in operations.items()
        if method in ("get", "post", "patch", "put", "delete")
    ]


#: What anonymous callers may use: the catalogue's reads, and the provider's webhook (its signature
#: is its credential).
PUBLIC = {
    ("GET", "/api/v1/shop/products"),
    ("GET", "/api/v1/shop/products/{product_id}"),
    ("GET", "/api/v1/shop/products/{product_id}/reviews"),
    ("POST", "/api/v1/shop/payments/webhook/{provider}"),
}


def test_every_other_shop_operation_is_401_for_anonymous_and_writes_nothing(cast, sku):
    order_id, after_sale = order_in("requested", cast, sku)
    item = cast["buyer"].post(CART_ITEMS, {"sku": sku.pk}, format="json").json()["id"]
    ids = {
        "order_id": order_id,
        "after_sale_id": after_sale,
        "item_id": item,
        "address_id": Address.objects.first().pk,
        "product_id": sku.product_id,
        "note_id": 1,
        "provider": "sandbox",
    }
    before = snapshot(order_id, sku), CartItem.objects.count(), Address.objects.count()
    operations = shop_operations(cast["anonymous"])
    assert len(operations) >= 28
    # A new public operation is added to PUBLIC knowingly; every other one must be 401 below.
    assert {(method, path) for method, path, public in operations if public} == PUBLIC
    for method, path, public in operations:
        if public:
            continue
        url = path.format(**ids)
        response = getattr(cast["anonymous"], method.lower())(url, {}, format="json")
        assert_error(response, 401, "not_authenticated")
    assert (snapshot(order_id, sku), CartItem.objects.count(), Address.objects.count()) == before


# --- Cart and checkout: what may be bought, and what the client may say ---------------------------


def _draft(sku):
    Product.objects.filter(pk=sku.product_id).update(status=ProductStatus.DRAFT)


def _off_sale(sku):
    Product.objects.filter(pk=sku.product_id).update(status=ProductStatus.OFF_SALE)


def _sku_retired(sku):
    SKU.objects.filter(pk=sku.pk).update(is_active=False)


def _store_closed(sku):
    Store.objects.filter(pk=sku.product.store_id).update(is_active=False)


def _brand_unapproved(sku):
    Brand.objects.filter(pk=sku.product.store.brand_id).update(status=ReviewStatus.PENDING)


UNBUYABLE = [_draft, _off_sale, _sku_retired, _store_closed, _brand_unapproved]


def nothing_ordered(sku: SKU, initial_stock: int = 10) -> bool:
    return (
        not CheckoutGroup.objects.exists()
        and not Order.objects.exists()
        and not OrderLine.objects.exists()
        and not OrderEvent.objects.exists()
        and stock(sku) == initial_stock
    )


@pytest.mark.parametrize("make", UNBUYABLE, ids=lambda f: f.__name__[1:])
def test_what_is_not_on_sale_cannot_be_put_in_the_cart_nor_bought(cast, sku, make):
    buyer = cast["buyer"]
    in_cart = buyer.post(CART_ITEMS, {"sku": sku.pk, "quantity": 2}, format="json").json()
    make(sku)

    assert_error(buyer.post(CART_ITEMS, {"sku": sku.pk}, format="json"), 400, "invalid")
    explicit = assert_error(checkout(buyer, [(sku, 1)]), 409, "unavailable")
    assert explicit["fields"] == {"items": [f"SKU {sku.pk} is not on sale."]}
    assert_error(checkout(buyer), 409, "unavailable")  # it sat in the cart meanwhile

    assert nothing_ordered(sku)
    assert list(CartItem.objects.values_list("pk", "quantity")) == [(in_cart["id"], 2)]


@pytest.mark.parametrize("quantity", [0, -1, 1000, 10**20, 1.5, "many", None, True])
def test_quantities_outside_1_to_999_are_400_in_the_cart_and_at_checkout(cast, sku, quantity):
    buyer = cast["buyer"]
    item = buyer.post(CART_ITEMS, {"sku": sku.pk}, format="json").json()
    body = {"items": [{"sku": sku.pk, "quantity": quantity}]}
    responses = [
        buyer.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()),
        buyer.post(CART_ITEMS, {"sku": sku.pk, "quantity": quantity}, format="json"),
        buyer.patch(f"{CART_ITEMS}/{item['id']}", {"quantity": quantity}, format="json"),
    ]
    for response in responses:
        assert_error(response, 400, "invalid")
    assert nothing_ordered(sku)
    assert list(CartItem.objects.values_list("quantity", flat=True)) == [1]


@pytest.mark.parametrize(
    "where,field,value",
    [
        ("item", "price", "0.01"),
        ("item", "unit_price", "0.01"),
        ("item", "line_total", "0.01"),
        ("item", "discount", "98.99"),
        ("body", "total", "0.01"),
        ("body", "lines_total", "0.01"),
        ("body", "shipping_total", "0.00"),
        ("body", "discount_total", "98.99"),
        ("body", "currency", "USD"),
        ("body", "status", "paid"),
        ("body", "buyer", 1),
    ],
)
def test_a_client_never_sets_a_price_or_an_outcome(cast, sku, where, field, value):
    """Prices and totals are the server's: a client's is refused (400, before the key is spent), and
    the same key with an honest body then buys at today's price."""
    buyer = cast["buyer"]
    item = {"sku": sku.pk, "quantity": 1}
    body = {"items": [{**item, field: value}]} if where == "item" else {"items": [item], field: value}
    refused = buyer.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="tampered")
    assert assert_error(refused, 400, "invalid")["fields"]
    assert nothing_ordered(sku) and not IdempotencyKey.objects.exists()

    honest = buyer.post(ORDERS, {"items": [item]}, format="json", HTTP_IDEMPOTENCY_KEY="tampered")
    assert honest.status_code == 201, honest.content
    order = honest.json()["orders"][0]
    assert (order["total"], order["lines"][0]["unit_price"], order["status"]) == (
        "99.00",
        "99.00",
        "pending_payment",
    )


def test_a_lower_expected_total_is_a_409_never_a_discount(cast, sku):
    error = assert_error(checkout(cast["buyer"], [(sku, 1)], expected_total="0.01"), 409, "price_changed")
    assert error["fields"] == {"expected_total": ["The total is now 99.00."]}
    assert nothing_ordered(sku)


def test_another_users_address_cannot_ship_a_checkout(cast, sku):
    buyer = cast["buyer"]
    theirs = Address.objects.get(user=cast["other_buyer"].user)
    buyer.post(CART_ITEMS, {"sku": sku.pk}, format="json")
    for items in ([(sku, 1)], None):  # explicit items, then the cart
        error = assert_error(checkout(buyer, items, address=theirs.pk), 400, "invalid")
        assert error["fields"] == {"address": ["Unknown address."]}
    assert nothing_ordered(sku) and CartItem.objects.filter(user=buyer.user).count() == 1
    # Without a default address of their own, the other user's default is not borrowed either.
    Address.objects.filter(user=buyer.user).delete()
    assert_error(checkout(buyer, [(sku, 1)]), 400, "invalid")
    assert nothing_ordered(sku)


def test_an_address_id_in_the_body_moves_nothing_to_another_user(cast):
    buyer = cast["buyer"]
    mine = Address.objects.get(user=buyer.user)
    theirs = Address.objects.get(user=cast["other_buyer"].user)
    kept = Address.objects.values().get(pk=theirs.pk)

    patched = buyer.patch(f"/api/v1/shop/addresses/{mine.pk}", {"id": theirs.pk, "line": "x"}, format="json")
    assert patched.status_code == 200 and patched.json()["id"] == mine.pk  # ``id`` is read-only
    for body in ({"user": cast["other_buyer"].user.pk}, {"user_id": cast["other_buyer"].user.pk}):
        assert_error(buyer.patch(f"/api/v1/shop/addresses/{mine.pk}", body, format="json"), 400, "invalid")
    assert Address.objects.values().get(pk=theirs.pk) == kept
    assert Address.objects.get(pk=mine.pk).user_id == buyer.user.pk


@pytest.mark.parametrize("key", ["a\x00b", "line\nbreak", "tab\there", "\x7f", "k" * 101, ""])
def test_an_idempotency_key_is_1_to_100_printable_characters(cast, sku, key):
    """A NUL in the key reached PostgreSQL's text (a 500, found in this audit)."""
    response = cast["buyer"].post(
        ORDERS, {"items": [{"sku": sku.pk, "quantity": 1}]}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert "printable" in assert_error(response, 400, "idempotency_key")["message"]
    assert nothing_ordered(sku) and not IdempotencyKey.objects.exists()


def test_a_key_reused_by_another_user_with_another_body_is_theirs_alone(cast, sku):
    first = checkout(cast["buyer"], [(sku, 1)], key="shared")
    second = checkout(cast["other_buyer"], [(sku, 3)], key="shared")
    assert (first.status_code, second.status_code) == (201, 201), second.content
    theirs = second.json()["orders"][0]
    assert (theirs["buyer"], theirs["lines"][0]["quantity"]) == (cast["other_buyer"].user.username, 3)
    assert stock(sku) == 6
    # Replays stay with their own user.
    assert checkout(cast["buyer"], [(sku, 1)], key="shared").json() == first.json()
    assert checkout(cast["other_buyer"], [(sku, 3)], key="shared").json() == second.json()
    assert Order.objects.count() == 2 and stock(sku) == 6


# --- Catalogue management ------------------------------------------------------------------------


def catalogue_rows(product: Product) -> tuple:
    return (
        Product.objects.filter(pk=product.pk).values().get(),
        list(SKU.objects.filter(product=product).order_by("pk").values()),
        list(product.product_images.values_list("media_id", "position")),
    )


@pytest.mark.parametrize(
    "party,status,code",
    [
        ("anonymous", 401, "not_authenticated"),
        ("buyer", 403, "permission_denied"),
        ("staff", 403, "permission_denied"),
        ("other_brand", 404, "not_found"),
    ],
)
@pytest.mark.parametrize("change", ["title", "status", "sku", "new_sku", "images"])
def test_only_the_brand_owner_edits_a_product_or_its_skus(cast, party, status, code, change):
    product = product_for_sale()
    sku = product.skus.get()
    client = cast[party]
    body = {
        "title": {"title": "mine now"},
        "status": {"status": "off_sale"},
        "sku": {"skus": [{"id": sku.pk, "price": "0.01", "stock": 0, "is_active": False}]},
        "new_sku": {"skus": [{"name": "free", "price": "0.01", "stock": 1000}]},
        "images": {"images": [MediaFactory(owner=client.user or UserFactory()).pk]},
    }[change]
    before = catalogue_rows(product)
    assert_error(client.patch(f"{PRODUCTS}/{product.pk}", body, format="json"), status, code)
    assert catalogue_rows(product) == before


def test_a_sku_never_moves_to_another_product(cast, sku):
    seller = cast["brand"]
    store = sku.product.store
    mine, other = product_for_sale(store=store), product_for_sale(store=store)
    theirs = product_for_sale()  # another brand's
    before = [catalogue_rows(p) for p in (mine, other, theirs)]
    for sku in (other.skus.get(), theirs.skus.get()):  # named under a product it is not on
        response = seller.patch(
            f"{PRODUCTS}/{mine.pk}", {"skus": [{"id": sku.pk, "price": "1"}]}, format="json"
        )
        assert assert_error(response, 400, "invalid")["fields"] == {
            "skus": [f"No SKU {sku.pk} on this product."]
        }
    moved = {"skus": [{"id": mine.skus.get().pk, "product": other.pk}]}
    assert_error(seller.patch(f"{PRODUCTS}/{mine.pk}", moved, format="json"), 400, "invalid")
    assert [catalogue_rows(p) for p in (mine, other, theirs)] == before


@pytest.mark.parametrize(
    "renames",
    [{"30ml": "50ml", "50ml": "30ml"}, {"30ml": "50ml", "50ml": "100ml"}, {"30ml": "50ml", "50ml": "旅行装"}],
    ids=["swap", "chain", "chain-to-new"],
)
def test_skus_may_trade_names_in_one_edit(cast, sku, renames):
    """Found by this audit: a swap or a chain of names met the unique (product, name) constraint
    halfway through the edit, a 500."""
    seller = cast["brand"]
    product = product_for_sale(store=sku.product.store)
    product.skus.update(name="30ml")
    SKUFactory(product=product, name="50ml")
    by_name = dict(product.skus.values_list("name", "pk"))
    body = {"skus": [{"id": by_name[old], "name": new} for old, new in renames.items()]}
    response = seller.patch(f"{PRODUCTS}/{product.pk}", body, format="json")
    assert response.status_code == 200, response.content
    assert {s["id"]: s["name"] for s in response.json()["skus"]} == {
        by_name[old]: new for old, new in renames.items()
    }
    # A name still taken after the edit is a 400, as before.
    clash = {"skus": [{"id": by_name["30ml"], "name": renames["50ml"]}]}
    assert_error(seller.patch(f"{PRODUCTS}/{product.pk}", clash, format="json"), 400, "invalid")


@pytest.mark.parametrize("make", [_store_closed, _brand_unapproved], ids=lambda f: f.__name__[1:])
def test_an_owner_who_no_longer_sells_edits_nothing(cast, sku, make):
    make(sku)
    before = catalogue_rows(sku.product)
    body = {"status": "on_sale", "skus": [{"id": sku.pk, "price": "1.00"}]}
    assert_error(
        cast["brand"].patch(f"{PRODUCTS}/{sku.product_id}", body, format="json"), 403, "permission_denied"
    )
    assert catalogue_rows(sku.product) == before


@pytest.mark.parametrize(
    "make", [_draft, _off_sale, _store_closed, _brand_unapproved], ids=lambda f: f.__name__[1:]
)
def test_a_product_not_on_sale_is_only_its_owners(cast, sku, make):
    make(sku)
    url = f"{PRODUCTS}/{sku.product_id}"
    for party in ("anonymous", "buyer", "other_brand", "staff"):
        assert_error(cast[party].get(url), 404, "not_found")
        assert_error(cast[party].get(f"{url}/reviews"), 404, "not_found")
        assert sku.product_id not in [p["id"] for p in cast[party].get(PRODUCTS).json()["results"]]
    body = cast["brand"].get(url).json()
    assert (body["id"], body["is_owner"], body["skus"][0]["stock"]) == (sku.product_id, True, 10)


# --- Reviews: the verified badge is the shop's word ----------------------------------------------


def test_the_verified_badge_cannot_be_sent_by_the_client(cast, sku):
    buyer = cast["buyer"]
    note = {
        "title": "好用",
        "media": [MediaFactory(owner=buyer.user).pk],
        "product": sku.product_id,
        "rating": 5,
    }
    forged = buyer.post("/api/v1/notes", {**note, "is_verified_purchase": True}, format="json")
    assert "is_verified_purchase" in assert_error(forged, 400, "invalid")["fields"]
    assert not Note.objects.exists()

    written = buyer.post("/api/v1/notes", note, format="json").json()
    assert written["is_verified_purchase"] is False
    edit = buyer.patch(f"/api/v1/notes/{written['id']}", {"is_verified_purchase": True}, format="json")
    assert "is_verified_purchase" in assert_error(edit, 400, "invalid")["fields"]

    reviews = cast["anonymous"].get(f"{PRODUCTS}/{sku.product_id}/reviews").json()["results"]
    assert [(r["id"], r["is_verified_purchase"]) for r in reviews] == [(written["id"], False)]
    product = cast["anonymous"].get(f"{PRODUCTS}/{sku.product_id}").json()
    assert (product["rating_count"], product["ratings"]["verified"]["count"]) == (0, 0)


# --- Payment webhooks ----------------------------------------------------------------------------


@pytest.fixture
def waiting(cast, sku) -> dict:
    """A pending order of 2 units (198.00) with a processing payment, whose webhook has not come."""
    order = place_order(cast["buyer"], sku, 2)
    intent = pay(cast["buyer"], order["id"], token="tok_delayed").json()
    return {"order": order, "intent": intent}


def nothing_settled(waiting: dict, sku: SKU) -> bool:
    payment = Payment.objects.get(pk=waiting["intent"]["id"])
    return (
        not WebhookEvent.objects.exists()
        and payment.status == PaymentStatus.PROCESSING
        and status_of(waiting["order"]["id"]) == OrderStatus.PENDING_PAYMENT
        and stock(sku) == 8
        and Product.objects.get(pk=sku.product_id).sales_count == 0
    )


def post_signed(client, event: dict | list, provider: str = "sandbox"):
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    return client.post(
        f"/api/v1/shop/payments/webhook/{provider}",
        body,
        content_type="application/json",
        **{
            f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": f"t={timestamp},v1={_sign(timestamp, body)}"
        },
    )


@pytest.mark.parametrize(
    "amount,currency",
    [("198.01", "CNY"), ("197.99", "CNY"), ("99.00", "CNY"), ("0.00", "CNY"), ("198.00", "USD")],
)
def test_an_event_for_another_amount_pays_nothing(cast, sku, waiting, amount, currency):
    """An event that says it took another sum (or currency) than the payment asked for is refused,
    unremembered, and the genuine event still settles the order."""
    intent = waiting["intent"]["intent_id"]
    response = send_webhook(cast["anonymous"], intent, event_id="evt_a", amount=amount, currency=currency)
    assert "198.00 CNY" in assert_error(response, 400, "amount_mismatch")["message"]
    assert nothing_settled(waiting, sku)

    good = send_webhook(cast["anonymous"], intent, event_id="evt_b", amount="198.00", currency="CNY")
    assert good.json() == {"received": True, "duplicate": False}
    assert status_of(waiting["order"]["id"]) == OrderStatus.PAID


def test_the_sandbox_callback_says_the_amount_it_took(
    cast, sku, django_capture_on_commit_callbacks, monkeypatch
):
    import shop.payments.sandbox as sandbox

    sent, real = [], sandbox.signed_webhook
    monkeypatch.setattr(sandbox, "signed_webhook", lambda **kw: sent.append(kw) or real(**kw))
    order = place_order(cast["buyer"], sku, 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(cast["buyer"], order["id"]).status_code == 201
    assert [(kw["amount"], kw["currency"]) for kw in sent] == [("198.00", "CNY")]
    assert status_of(order["id"]) == OrderStatus.PAID


@pytest.mark.parametrize(
    "event",
    [
        {"id": None, "type": "payment.succeeded", "data": {"intent": "{intent}"}},
        {"id": "e" * 65, "type": "payment.succeeded", "data": {"intent": "{intent}"}},
        {"id": {"nested": 1}, "type": "payment.succeeded", "data": {"intent": "{intent}"}},
        {"id": "", "type": "payment.succeeded", "data": {"intent": "{intent}"}},
        {"id": "evt_1", "type": "payment.succeeded", "data": {"intent": ["{intent}"]}},
        {"id": "evt_1", "type": "payment.succeeded", "data": {"intent": "{intent}", "amount": "lots"}},
        {"id": "evt_1", "type": "payment.succeeded", "data": {"intent": "{intent}", "amount": "sNaN"}},
        {"id": "evt_1", "type": "payment.succeeded", "data": {"intent": "{intent}", "amount": "Infinity"}},
        {"id": "evt_1", "type": "payment.succeeded", "data": {"intent": "{intent}", "amount": 198}},
        {"id": "evt_1", "type": "payment.succeeded", "data": ["{intent}"]},
        {"id": "evt_1", "type": ["payment.succeeded"], "data": {"intent": "{intent}"}},
        {"id": "evt_1", "type": "payment.succeeded"},
        ["evt_1"],
    ],
    ids=[
        "null-id",
        "long-id",
        "object-id",
        "empty-id",
        "list-intent",
        "bad-amount",
        "signalling-nan-amount",
        "infinite-amount",
        "number-amount",
        "list-data",
        "list-type",
        "no-data",
        "list",
    ],
)
def test_a_signed_but_malformed_event_is_400_and_not_remembered(cast, sku, waiting, event):
    """Found by this audit: a null id was acknowledged as a repeat (and the event lost) and a long
    one was a 500."""
    text = json.dumps(event).replace("{intent}", waiting["intent"]["intent_id"])
    assert_error(post_signed(cast["anonymous"], json.loads(text)), 400, "bad_event")
    assert nothing_settled(waiting, sku)


def test_unknown_providers_and_foreign_signatures_are_refused(cast, sku, waiting):
    anon = cast["anonymous"]
    headers, body = signed_webhook(kind="payment.succeeded", intent_id=waiting["intent"]["intent_id"])
    for provider in ("paypal", "Sandbox", "sandbox%20"):
        response = anon.post(
            f"/api/v1/shop/payments/webhook/{provider}",
            body,
            content_type="application/json",
            HTTP_SANDBOX_SIGNATURE=headers[SIGNATURE_HEADER],
        )
        assert_error(response, 404, "not_found")
    # Signed with the buyer's JWT instead of the provider's secret: the webhook knows no users.
    buyer = cast["buyer"]
    assert_error(buyer.post(WEBHOOK, body, content_type="application/json"), 400, "bad_signature")
    assert nothing_settled(waiting, sku)


def test_an_old_event_replayed_after_the_order_moved_on_changes_nothing(cast, sku, waiting):
    """The event that paid the order, sent again (freshly signed) after the buyer cancelled and was
    owed the refund: acknowledged as a repeat, not paid again, not restocked twice."""
    anon, intent = cast["anonymous"], waiting["intent"]["intent_id"]
    assert send_webhook(anon, intent, event_id="evt_paid").json() == {"received": True, "duplicate": False}
    assert cast["buyer"].post(f"{ORDERS}/{waiting['order']['id']}/cancel").json()["status"] == "cancelled"
    before = snapshot(waiting["order"]["id"], sku)

    for kind in ("payment.succeeded", "payment.failed"):
        again = send_webhook(anon, intent, kind=kind, event_id="evt_paid")
        assert again.json() == {"received": True, "duplicate": True}

    assert snapshot(waiting["order"]["id"], sku) == before
    assert WebhookEvent.objects.count() == 1 and stock(sku) == 10
    assert Payment.objects.get(pk=waiting["intent"]["id"]).status == PaymentStatus.REFUND_PENDING
