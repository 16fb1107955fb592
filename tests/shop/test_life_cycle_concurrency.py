"""An order's life cycle, the cart and the addresses under real concurrency (PostgreSQL only).

Every race here is run for several rounds: ``run_together`` starts the requests at one barrier, and
which of them takes a row lock first differs from round to round. Each round checks that exactly
one of the competing changes won, that the loser got a clear 4xx (or an idempotent answer), and
that stock, money, statuses and events add up whichever order the lock gave them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import NotificationVerb
from accounts.models import Notification
from notes.models import Note
from notes.services.notes import note_create, note_delete, note_update
from shop.choices import AfterSaleStatus, OrderStatus, PaymentStatus
from shop.models import SKU, Address, AfterSale, CartItem, Order, OrderEvent, OrderLine, Payment, Product
from shop.services import orders as order_services
from tests.conftest import make_client, requires_postgres, twin
from tests.factories import UserFactory
from tests.factories.notes import MediaFactory
from tests.factories.shop import AddressFactory, SKUFactory
from tests.helpers import assert_error, queued_behind, run_together
from tests.shop.orders_support import (
    ORDERS,
    assert_stock_and_money_consistent,
    buyer_with_address,
    checkout,
    delivered_order,
    paid_order,
    pay,
    place_order,
    send_webhook,
    status_of,
)

pytestmark = [requires_postgres(), pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROUNDS = 8
CART_ITEMS = "/api/v1/shop/cart/items"
ADDRESSES = "/api/v1/shop/addresses"


def stock(sku: SKU) -> int:
    return SKU.objects.values_list("stock", flat=True).get(pk=sku.pk)


def sales(sku: SKU) -> int:
    return Product.objects.values_list("sales_count", flat=True).get(pk=sku.product_id)


def events(order_id: int) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order_id=order_id).values_list("from_status", "to_status"))


def order_notices(user) -> int:
    return Notification.objects.filter(recipient=user, verb=NotificationVerb.ORDER).count()


@pytest.fixture
def shop(client_for):
    """A SKU with plenty of stock, its buyer (with an address) and its brand's owner, as API clients."""
    sku = SKUFactory(price=Decimal("120.00"), stock=100, per_order_limit=50)
    buyer = buyer_with_address(client_for, UserFactory())
    brand = client_for(sku.product.store.brand.owner)
    return sku, buyer, brand


# --- Paying and cancelling ------------------------------------------------------------------------


def test_paying_and_cancelling_at_once_leave_a_cancelled_order_and_no_money_kept(shop):
    """The sandbox's ``tok_success`` settles the payment right after the pay request commits, so
    the cancel lands before the payment, between it and its webhook, or after the order is paid:
    whichever, the order ends cancelled, its stock back and any money captured owed back."""
    sku, buyer, _ = shop
    buyer_2 = twin(buyer)
    for _ in range(ROUNDS):
        order = place_order(buyer, sku, 2)
        paying, cancelling = run_together(
            [
                lambda order=order: pay(buyer, order["id"], token="tok_success"),
                lambda order=order: buyer_2.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json"),
            ]
        )
        assert cancelling.status_code == 200, cancelling.content
        assert cancelling.json()["status"] == "cancelled"
        if paying.status_code != 201:  # the cancel came first
            assert_error(paying, 409, "illegal_transition")
            assert not Payment.objects.filter(order_id=order["id"]).exists()
        payments = list(Payment.objects.filter(order_id=order["id"]))
        assert all(p.status == PaymentStatus.REFUNDED and p.refund_id for p in payments), payments
        assert status_of(order["id"]) == OrderStatus.CANCELLED
        assert [to for _, to in events(order["id"])].count(OrderStatus.CANCELLED) == 1
    assert (stock(sku), sales(sku)) == (100, 0)
    assert_stock_and_money_consistent({sku.pk: 100})


def test_one_webhook_delivered_five_times_at_once_pays_once(shop, anon_client):
    sku, buyer, brand = shop
    order = place_order(buyer, sku, 3)
    intent = pay(buyer, order["id"], token="tok_delayed").json()
    event_id = "evt_delivered_five_times"
    owner_notices = order_notices(brand.user)

    responses = run_together(
        [lambda: send_webhook(make_client(), intent["intent_id"], event_id=event_id)] * 5
    )

    assert [r.status_code for r in responses] == [200] * 5
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True, True, True, True]
    assert status_of(order["id"]) == OrderStatus.PAID
    assert events(order["id"]) == [
        ("", OrderStatus.PENDING_PAYMENT),
        (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID),
    ]
    assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.SUCCEEDED
    assert (stock(sku), sales(sku)) == (97, 3)
    assert order_notices(brand.user) == owner_notices + 1
    assert_stock_and_money_consistent({sku.pk: 100})


@pytest.mark.parametrize("closer", ["cancel", "expire"])
def test_a_payment_settling_while_the_order_is_closed_is_refunded(shop, closer):
    """The provider's ``payment.succeeded`` races the buyer's cancel or the expiry task: if the
    order closed first, the money that arrives goes straight back; if it was paid first, the
    cancel refunds it (an expiry finds it paid and leaves it alone)."""
    sku, buyer, _ = shop
    for _ in range(ROUNDS):
        order = place_order(buyer, sku, 1)
        intent = pay(buyer, order["id"], token="tok_delayed").json()
        if closer == "cancel":
            client = twin(buyer)

            def close(order=order, client=client):
                return client.post(f"{ORDERS}/{order['id']}/cancel", {}, format="json").status_code

        else:
            Order.objects.filter(pk=order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

            def close():
                return order_services.orders_expire_due()

        webhook, closed = run_together(
            [lambda intent=intent: send_webhook(make_client(), intent["intent_id"]), close]
        )

        assert webhook.status_code == 200 and webhook.json()["duplicate"] is False
        payment = Payment.objects.get(order_id=order["id"])
        final = status_of(order["id"])
        if closer == "cancel":
            assert closed == 200
            assert final == OrderStatus.CANCELLED
            assert payment.status == PaymentStatus.REFUNDED and payment.refund_id
        elif closed == 1:  # expired before the money arrived
            assert final == OrderStatus.EXPIRED
            assert payment.status == PaymentStatus.REFUNDED and payment.refund_id
        else:
            assert closed == 0
            assert final == OrderStatus.PAID
            assert payment.status == PaymentStatus.SUCCEEDED
            order_services.order_cancel(order=Order.objects.get(pk=order["id"]), buyer=buyer.user)
        closing = [to for _, to in events(order["id"]) if to in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)]
        assert len(closing) == 1
    assert (stock(sku), sales(sku)) == (100, 0)
    assert_stock_and_money_consistent({sku.pk: 100})


# --- After delivery ------------------------------------------------------------------------------


def test_confirming_and_asking_for_an_after_sale_at_once(shop):
    """A delivered order is completed by the buyer's confirm unless an after-sale request is open;
    a request may still follow completion (within the window). Whichever comes first, a completed
    order never swallowed a request that was open before it."""
    sku, buyer, brand = shop
    buyer_2 = twin(buyer)
    outcomes = set()
    for _ in range(ROUNDS):
        order = delivered_order(buyer, brand, sku)
        url = f"{ORDERS}/{order['id']}"
        confirm, request = run_together(
            [
                lambda url=url: buyer.post(f"{url}/confirm"),
                lambda url=url: buyer_2.post(f"{url}/after-sales", {"reason": "尺码不对"}, format="json"),
            ]
        )
        assert request.status_code == 201, request.content
        after_sale = AfterSale.objects.get(order_id=order["id"])
        assert after_sale.status == AfterSaleStatus.REQUESTED
        if confirm.status_code == 200:
            outcomes.add("completed first")
            assert confirm.json()["status"] == "completed" == status_of(order["id"])
            completed = OrderEvent.objects.get(order_id=order["id"], to_status=OrderStatus.COMPLETED)
            assert completed.created_at <= after_sale.created_at
        else:
            outcomes.add("request first")
            assert_error(confirm, 409, "after_sale_open")
            assert status_of(order["id"]) == OrderStatus.DELIVERED
            assert not OrderEvent.objects.filter(
                order_id=order["id"], to_status=OrderStatus.COMPLETED
            ).exists()
    assert outcomes  # (which of them won varies: both are legal)


def test_five_after_sale_requests_at_once_open_one(shop):
    sku, buyer, brand = shop
    order = delivered_order(buyer, brand, sku, 2)
    clients = [twin(buyer) for _ in range(5)]
    owner_notices = order_notices(brand.user)

    responses = run_together(
        [
            lambda c=c, n=n: c.post(
                f"{ORDERS}/{order['id']}/after-sales", {"reason": f"理由 {n}"}, format="json"
            )
            for n, c in enumerate(clients)
        ]
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "after_sale_open")
    created = next(r.json() for r in responses if r.status_code == 201)
    assert list(AfterSale.objects.filter(order_id=order["id"]).values_list("pk", "status")) == [
        (created["id"], AfterSaleStatus.REQUESTED)
    ]
    assert order_notices(brand.user) == owner_notices + 1
    assert status_of(order["id"]) == OrderStatus.DELIVERED


def test_approving_and_declining_one_after_sale_at_once_decides_it_once(shop):
    sku, buyer, brand = shop
    brand_2 = twin(brand)
    for _ in range(ROUNDS // 2):
        order = delivered_order(buyer, brand, sku)
        after_sale = buyer.post(
            f"{ORDERS}/{order['id']}/after-sales", {"reason": "坏了"}, format="json"
        ).json()
        url = f"{ORDERS}/{order['id']}/after-sales/{after_sale['id']}"
        approve, decline = run_together(
            [
                lambda url=url: brand.post(f"{url}/approve", {"note": "退"}, format="json"),
                lambda url=url: brand_2.post(f"{url}/decline", {"note": "不退"}, format="json"),
            ]
        )
        assert sorted([approve.status_code, decline.status_code]) == [200, 409]
        winner, loser = (approve, decline) if approve.status_code == 200 else (decline, approve)
        assert_error(loser, 409, "illegal_transition")
        decided = AfterSale.objects.get(pk=after_sale["id"])
        if winner is approve:
            assert decided.status == AfterSaleStatus.APPROVED
            assert status_of(order["id"]) == OrderStatus.REFUNDED
            assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.REFUNDED
        else:
            assert decided.status == AfterSaleStatus.DECLINED
            assert status_of(order["id"]) == OrderStatus.DELIVERED
    assert_stock_and_money_consistent({sku.pk: 100})


def test_a_refund_racing_the_buyers_confirm(shop):
    """An admin refunds a shipped order while its buyer confirms receipt: either the confirm goes
    first (then the delivered order is refunded) or it finds the order refunded (409)."""
    sku, buyer, brand = shop
    for _ in range(ROUNDS):
        order = paid_order(buyer, sku, 1)
        ship = {"carrier": "顺丰", "tracking_number": f"SF{order['id']}"}
        assert brand.post(f"{ORDERS}/{order['id']}/ship", ship, format="json").status_code == 200

        def refund(order=order):
            return order_services.order_refund(order=Order.objects.get(pk=order["id"]), actor=None).status

        confirm, refunded = run_together(
            [lambda order=order: buyer.post(f"{ORDERS}/{order['id']}/confirm"), refund]
        )

        assert refunded == OrderStatus.REFUNDED == status_of(order["id"])
        moves = [to for _, to in events(order["id"])]
        if confirm.status_code == 200:
            assert moves[-2:] == [OrderStatus.DELIVERED, OrderStatus.REFUNDED]
        else:
            assert_error(confirm, 409, "illegal_transition")
            assert moves[-2:] == [OrderStatus.SHIPPED, OrderStatus.REFUNDED]
        assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.REFUNDED
    assert (stock(sku), sales(sku)) == (100, 0)
    assert_stock_and_money_consistent({sku.pk: 100})


# --- Cart --------------------------------------------------------------------------------------------


def test_the_same_sku_added_ten_times_at_once_makes_one_line_of_the_sum(shop):
    sku, buyer, _ = shop
    clients = [twin(buyer) for _ in range(10)]

    responses = run_together(
        [lambda c=c: c.post(CART_ITEMS, {"sku": sku.pk, "quantity": 2}, format="json") for c in clients]
    )

    assert [r.status_code for r in responses] == [201] * 10
    assert {r.json()["id"] for r in responses} == {CartItem.objects.get(user=buyer.user).pk}
    # (Each answer shows the line as read after its own commit: later adds may be in it already.)
    assert all(2 <= r.json()["quantity"] <= 20 for r in responses)
    assert list(CartItem.objects.filter(user=buyer.user).values_list("sku_id", "quantity")) == [(sku.pk, 20)]


def test_a_cart_item_changed_and_removed_at_once(shop):
    """The change either lands before the removal or finds the item gone (404), never a 500 and
    never a line brought back."""
    sku, buyer, _ = shop
    buyer_2 = twin(buyer)
    outcomes = set()
    for _ in range(ROUNDS * 5):
        item = buyer.post(CART_ITEMS, {"sku": sku.pk, "quantity": 1}, format="json").json()
        url = f"{CART_ITEMS}/{item['id']}"
        change, removal = run_together(
            [
                lambda url=url: buyer.patch(url, {"quantity": 5}, format="json"),
                lambda url=url: buyer_2.delete(url),
            ]
        )
        assert removal.status_code == 204
        if change.status_code == 200:
            assert change.json()["quantity"] == 5
        else:
            assert_error(change, 404, "not_found")
        outcomes.add(change.status_code)
        assert not CartItem.objects.filter(user=buyer.user).exists()
    assert outcomes <= {200, 404}


def test_checking_out_the_cart_while_adding_to_it_loses_no_unit(shop):
    """The cart is read for checkout and its bought items are deleted in one transaction: what is
    added meanwhile is either bought with it or stays in the cart, never dropped unbought."""
    sku, buyer, _ = shop
    buyer_2 = twin(buyer)
    for _ in range(ROUNDS * 2):
        assert buyer.post(CART_ITEMS, {"sku": sku.pk, "quantity": 1}, format="json").status_code == 201
        placed, added = run_together(
            [
                lambda: checkout(buyer),
                lambda: buyer_2.post(CART_ITEMS, {"sku": sku.pk, "quantity": 2}, format="json"),
            ]
        )
        assert (placed.status_code, added.status_code) == (201, 201), (placed.content, added.content)
        bought = placed.json()["orders"][0]["lines"][0]["quantity"]
        left = sum(CartItem.objects.filter(user=buyer.user).values_list("quantity", flat=True))
        assert (bought, left) in ((3, 0), (1, 2)), (bought, left, added.json())
        CartItem.objects.filter(user=buyer.user).delete()
    assert_stock_and_money_consistent({sku.pk: 100})


def test_one_cart_checked_out_twice_at_once_makes_one_order(shop):
    """Two checkouts of the whole cart (a double tap with two idempotency keys): the second waits
    for the first and finds the cart empty, instead of buying its items a second time."""
    sku, buyer, _ = shop
    buyer_2 = twin(buyer)
    for _ in range(ROUNDS):
        assert buyer.post(CART_ITEMS, {"sku": sku.pk, "quantity": 2}, format="json").status_code == 201
        responses = run_together([lambda: checkout(buyer), lambda: checkout(buyer_2)])
        assert sorted(r.status_code for r in responses) == [201, 400]
        assert_error(next(r for r in responses if r.status_code == 400), 400, "empty_cart")
        assert not CartItem.objects.filter(user=buyer.user).exists()
    assert Order.objects.filter(buyer=buyer.user).count() == ROUNDS
    assert stock(sku) == 100 - 2 * ROUNDS
    assert_stock_and_money_consistent({sku.pk: 100})


def test_emptying_the_cart_while_checking_it_out(shop):
    """Checkout locks the cart's lines in id order. Emptying the cart deleted them in the order
    they lie in the table, where a row moves when an update cannot stay in its page (the page is
    full, or an indexed column changed). With the first line moved last, the emptying locked the
    others and waited for the first while the checkout held the first and waited for the others:
    a deadlock, a 500. Here the first line is held while the checkout, then the emptying, queue
    for it."""
    _, buyer, _ = shop
    buyer_2 = twin(buyer)
    *skus, moved_to = SKUFactory.create_batch(5, stock=100, per_order_limit=50)
    for sku in skus:
        assert buyer.post(CART_ITEMS, {"sku": sku.pk}, format="json").status_code == 201
    first = CartItem.objects.filter(user=buyer.user).order_by("pk")[0]
    CartItem.objects.filter(pk=first.pk).update(sku=moved_to)  # an indexed column: stored anew

    placed, emptied = queued_behind(
        lambda: list(CartItem.objects.select_for_update().filter(pk=first.pk)),
        [lambda: checkout(buyer), lambda: buyer_2.delete("/api/v1/shop/cart")],
    )
    assert (placed.status_code, emptied.status_code) == (201, 204), (placed.content, emptied.content)
    assert sum(len(order["lines"]) for order in placed.json()["orders"]) == 4  # it came first
    assert not CartItem.objects.filter(user=buyer.user).exists()


def test_a_cart_with_one_place_left_takes_one_of_several_skus_added_at_once(shop, settings):
    sku, buyer, _ = shop
    settings.SHOP_CART_MAX_ITEMS = 3
    clients = [twin(buyer) for _ in range(6)]
    for _ in range(ROUNDS // 2):
        CartItem.objects.filter(user=buyer.user).delete()
        for other in SKUFactory.create_batch(2):
            assert buyer.post(CART_ITEMS, {"sku": other.pk}, format="json").status_code == 201
        newcomers = SKUFactory.create_batch(len(clients))

        responses = run_together(
            [
                lambda c=c, s=s: c.post(CART_ITEMS, {"sku": s.pk}, format="json")
                for c, s in zip(clients, newcomers, strict=True)
            ]
        )

        assert sorted(r.status_code for r in responses) == [201] + [409] * 5
        for response in responses:
            if response.status_code == 409:
                assert_error(response, 409, "cart_full")
        assert CartItem.objects.filter(user=buyer.user).count() == 3


# --- Addresses ---------------------------------------------------------------------------------------


def defaults(user) -> list[int]:
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


def test_two_addresses_made_default_at_once_leave_one_default(client_for):
    user = UserFactory()
    first = client_for(user)
    second = twin(first)
    for _ in range(ROUNDS):
        a, b = AddressFactory(user=user, is_default=False), AddressFactory(user=user, is_default=False)
        responses = run_together(
            [
                lambda a=a: first.patch(f"{ADDRESSES}/{a.pk}", {"is_default": True}, format="json"),
                lambda b=b: second.patch(f"{ADDRESSES}/{b.pk}", {"is_default": True}, format="json"),
            ]
        )
        assert [r.status_code for r in responses] == [200, 200]
        assert len(defaults(user)) == 1 and defaults(user)[0] in (a.pk, b.pk)


def test_editing_the_default_address_while_another_becomes_default(client_for):
    """The edit of the old default must not write back the ``is_default`` it read before the other
    request took the default away."""
    user = UserFactory()
    first = client_for(user)
    second = twin(first)
    for n in range(ROUNDS):
        Address.objects.filter(user=user).delete()
        old, new = AddressFactory(user=user, is_default=True), AddressFactory(user=user, is_default=False)
        edit, move = run_together(
            [
                lambda old=old, n=n: first.patch(
                    f"{ADDRESSES}/{old.pk}", {"recipient": f"改名 {n}"}, format="json"
                ),
                lambda new=new: second.patch(f"{ADDRESSES}/{new.pk}", {"is_default": True}, format="json"),
            ]
        )
        assert (edit.status_code, move.status_code) == (200, 200), (edit.content, move.content)
        assert defaults(user) == [new.pk]
        assert Address.objects.get(pk=old.pk).recipient == f"改名 {n}"


def test_deleting_an_address_while_it_becomes_default_leaves_another_default(client_for):
    user = UserFactory()
    first = client_for(user)
    second = twin(first)
    for _ in range(ROUNDS):
        Address.objects.filter(user=user).delete()
        kept, doomed = AddressFactory(user=user, is_default=True), AddressFactory(user=user, is_default=False)
        move, removal = run_together(
            [
                lambda doomed=doomed: first.patch(
                    f"{ADDRESSES}/{doomed.pk}", {"is_default": True}, format="json"
                ),
                lambda doomed=doomed: second.delete(f"{ADDRESSES}/{doomed.pk}"),
            ]
        )
        assert removal.status_code == 204
        if move.status_code != 200:
            assert_error(move, 404, "not_found")
        assert list(Address.objects.filter(user=user).values_list("pk", flat=True)) == [kept.pk]
        assert defaults(user) == [kept.pk]


# --- Verified reviews -------------------------------------------------------------------------------


def test_two_reviews_written_at_once_by_a_buyer_of_two_delivered_orders_are_both_verified(shop):
    """Each delivered line verifies one review: two reviews written at the same moment by a buyer
    who received the product twice take one line each."""
    sku, buyer, brand = shop
    buyer_2 = twin(buyer)
    for n in range(ROUNDS // 2):
        delivered_order(buyer, brand, sku)
        delivered_order(buyer, brand, sku)

        def review(client, n=n):
            media = MediaFactory(owner=buyer.user).pk
            body = {"title": f"第 {n} 轮", "media": [media], "product": sku.product_id, "rating": 5}
            return client.post("/api/v1/notes", body, format="json")

        responses = run_together([lambda: review(buyer), lambda: review(buyer_2)])

        assert [r.status_code for r in responses] == [201, 201]
        ids = sorted(r.json()["id"] for r in responses)
        assert (
            sorted(Note.objects.filter(pk__in=ids, is_verified_purchase=True).values_list("pk", flat=True))
            == ids
        )
        lines = OrderLine.objects.filter(order__buyer=buyer.user, order__status=OrderStatus.DELIVERED)
        assert sorted(lines.filter(review_note__in=ids).values_list("review_note_id", flat=True)) == ids
        assert not lines.filter(review_note__isnull=True).exists()
        for order_id in lines.values_list("order_id", flat=True):
            order_services.order_confirm(order=Order.objects.get(pk=order_id), buyer=buyer.user)
    product = Product.objects.get(pk=sku.product_id)
    assert product.rating_count == ROUNDS // 2 * 2 == product.review_count


def review_body(client, sku, title: str, rating: int = 4) -> dict:
    media = MediaFactory(owner=client.user).pk
    return {"title": title, "media": [media], "product": sku.product_id, "rating": rating}


def test_reviews_by_many_people_at_once_are_all_counted(shop, client_for, settings):
    """Each review recounts its product's figures; written at the same moment, none of the
    recounts may write a count that misses the others."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "100/m/ip"}
    sku, _, _ = shop
    writers = [client_for(UserFactory()) for _ in range(8)]
    for n in range(3):
        responses = run_together(
            [
                lambda c=c, n=n: c.post("/api/v1/notes", review_body(c, sku, f"第 {n} 轮"), format="json")
                for c in writers
            ]
        )
        assert [r.status_code for r in responses] == [201] * 8
        product = Product.objects.get(pk=sku.product_id)
        assert product.review_count == 8 * (n + 1), product.review_count


def test_a_refund_while_the_buyer_reviews_the_product(shop):
    """An admin refunds a delivered order while its buyer writes a review of the product: the
    review is matched either before the refund (which then frees its line) or after it (finding no
    received line); never against the order as it was before a refund that commits first."""
    sku, buyer, brand = shop
    for n in range(ROUNDS * 2):
        order = delivered_order(buyer, brand, sku)

        def refund(order=order):
            return order_services.order_refund(order=Order.objects.get(pk=order["id"]), actor=None).status

        def review(n=n):
            media = MediaFactory(owner=buyer.user)
            return note_create(
                author=buyer.user,
                media_ids=[media.pk],
                title=f"退款 {n}",
                product_id=sku.product_id,
                rating=3,
            )

        note, refunded = run_together([review, refund])

        assert refunded == OrderStatus.REFUNDED
        assert Note.objects.get(pk=note.pk).rating == 3
        assert not Note.objects.filter(author=buyer.user, is_verified_purchase=True).exists(), f"round {n}"
        assert not OrderLine.objects.filter(review_note__isnull=False).exists()
    product = Product.objects.get(pk=sku.product_id)
    assert (product.review_count, product.rating_count) == (ROUNDS * 2, 0)


@pytest.mark.parametrize("change", ["delete", "move"])
def test_a_verified_review_deleted_or_moved_while_its_order_is_refunded(shop, change):
    """The review's change recounts the product, which a refund locks first and then the buyer's
    review notes: locking the note before the product deadlocked against it."""
    sku, buyer, brand = shop
    elsewhere = SKUFactory(product__store=sku.product.store)
    for n in range(ROUNDS * 2):
        order = delivered_order(buyer, brand, sku)
        note = note_create(
            author=buyer.user,
            media_ids=[MediaFactory(owner=buyer.user).pk],
            title=f"好评 {n}",
            product_id=sku.product_id,
            rating=5,
        )
        assert Note.objects.get(pk=note.pk).is_verified_purchase

        def refund(order=order):
            return order_services.order_refund(order=Order.objects.get(pk=order["id"]), actor=None).status

        def review_change(note=note):
            if change == "delete":
                note_delete(note=note, user=buyer.user)
            else:
                note_update(note=note, editor=buyer.user, data={}, review=(elsewhere.product_id, 4))

        _, refunded = run_together([review_change, refund])

        assert refunded == OrderStatus.REFUNDED
        assert not OrderLine.objects.filter(review_note=note).exists(), f"round {n}"
        assert not Note.objects.get(pk=note.pk).is_verified_purchase
    product = Product.objects.get(pk=sku.product_id)
    assert (product.review_count, product.rating_count) == (0, 0)
