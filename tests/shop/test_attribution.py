"""Attribution: the orders, units and revenue a note drove, for its author (all of it) and for the
brands whose stores sold after it (their share); nobody else learns anything (404)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from notes.choices import NoteStatus, Visibility
from notes.models import Note
from shop.choices import OrderStatus
from shop.models import CheckoutGroup, Order, OrderLine
from shop.services.orders import order_refund
from tests.factories import BlockFactory, FollowFactory, UserFactory
from tests.factories.notes import NoteFactory, live_note
from tests.factories.shop import SKUFactory
from tests.helpers import assert_error
from tests.shop.orders_support import buyer_with_address, checkout, paid_order, place_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/shop/attribution/notes"


def sold(note, sku, quantity: int, status: str = OrderStatus.PAID) -> OrderLine:
    """An order line of ``sku`` that came from ``note``, written as checkout would have left it."""
    buyer, total = UserFactory(), sku.price * quantity
    order = Order.objects.create(
        group=CheckoutGroup.objects.create(buyer=buyer, total=total),
        buyer=buyer,
        store=sku.product.store,
        status=status,
        lines_total=total,
        shipping_total=Decimal("0.00"),
        total=total,
        shipping_address={},
        expires_at=timezone.now(),
    )
    return OrderLine.objects.create(
        order=order,
        sku=sku,
        product=sku.product,
        title=sku.product.title,
        sku_name=sku.name,
        unit_price=sku.price,
        quantity=quantity,
        line_total=total,
        source_note=note,
    )


def figures(response) -> tuple:
    assert response.status_code == 200, response.content
    body = response.json()
    return body["note"], body["orders"], body["units"], body["revenue"], body["currency"]


def test_author_sees_all_and_each_brand_its_own_share(client_for):
    note = live_note()
    lipstick, scarf = SKUFactory(price=Decimal("99.00")), SKUFactory(price=Decimal("50.50"))
    sold(note, lipstick, 2)
    sold(note, lipstick, 1, OrderStatus.COMPLETED)
    sold(note, scarf, 1, OrderStatus.SHIPPED)
    for status in (
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REFUNDED,
    ):
        sold(note, scarf, 5, status)  # never paid, or given back
    sold(live_note(author=note.author), lipstick, 4)  # another note's sale
    sold(None, lipstick, 4)  # nobody's

    url = f"{URL}/{note.pk}"
    assert figures(client_for(note.author).get(url)) == (note.pk, 3, 4, "347.50", "CNY")
    assert figures(client_for(lipstick.product.store.brand.owner).get(url)) == (
        note.pk,
        2,
        3,
        "297.00",
        "CNY",
    )
    assert figures(client_for(scarf.product.store.brand.owner).get(url)) == (note.pk, 1, 1, "50.50", "CNY")


def test_a_note_that_sold_nothing_shows_zeros_to_its_author(client_for):
    note = live_note()
    assert figures(client_for(note.author).get(f"{URL}/{note.pk}")) == (note.pk, 0, 0, "0.00", "CNY")


def test_nobody_else_learns_what_a_note_sold(client_for, anon_client):
    note = live_note()
    sold(note, SKUFactory(), 1)
    url = f"{URL}/{note.pk}"
    assert_error(client_for(UserFactory()).get(url), 404, "not_found")
    assert_error(
        client_for(SKUFactory().product.store.brand.owner).get(url), 404, "not_found"
    )  # not involved
    assert_error(client_for(note.author).get(f"{URL}/987654"), 404, "not_found")
    assert anon_client.get(url).status_code == 401
    note.deleted_at = timezone.now()
    note.save(update_fields=["deleted_at"])
    assert_error(client_for(note.author).get(url), 404, "not_found")


def test_checkout_from_a_note_counts_until_the_order_is_refunded(client_for, user):
    note = live_note()
    sku = SKUFactory(price=Decimal("80.00"), stock=10)
    buyer = buyer_with_address(client_for, user)
    order = paid_order(buyer, sku, 2, source_note=note.pk)
    place_order(buyer, sku)  # unpaid, from nowhere
    author = client_for(note.author)
    assert figures(author.get(f"{URL}/{note.pk}")) == (note.pk, 1, 2, "160.00", "CNY")
    order_refund(order=Order.objects.get(pk=order["id"]), actor=None)
    assert figures(author.get(f"{URL}/{note.pk}")) == (note.pk, 0, 0, "0.00", "CNY")


def test_my_attributed_notes_and_their_query_budget(client_for, django_assert_max_num_queries):
    author = UserFactory()
    sku = SKUFactory(price=Decimal("10.00"))
    notes = [NoteFactory(author=author) for _ in range(22)]
    for n, note in enumerate(notes):
        sold(note, sku, n + 1)
    sold(notes[0], sku, 3, OrderStatus.REFUNDED)
    idle = NoteFactory(author=author)
    sold(idle, sku, 1, OrderStatus.CANCELLED)  # sold nothing in the end: not listed
    sold(NoteFactory(), sku, 1)  # someone else's note
    client = client_for(author)
    seen, url, params = [], URL, {"page_size": 10}
    while url:
        with django_assert_max_num_queries(4):
            page = client.get(url, params).json()
        seen += page["results"]
        url, params = page["next"], None
    assert [item["note"] for item in seen] == [note.pk for note in reversed(notes)]
    first = seen[-1]
    assert (first["title"], first["orders"], first["units"], first["revenue"], first["currency"]) == (
        notes[0].title,
        1,
        1,
        "10.00",
        "CNY",
    )
    assert (seen[0]["orders"], seen[0]["units"], seen[0]["revenue"]) == (1, 22, "220.00")


def test_checkout_credits_only_notes_of_others_the_buyer_may_see(client_for, user):
    sku = SKUFactory(price=Decimal("50.00"), stock=20)
    buyer = buyer_with_address(client_for, user)
    followed = NoteFactory(visibility=Visibility.FOLLOWERS)
    FollowFactory(follower=user, followee=followed.author)
    seen = [live_note(), followed]
    blocked = NoteFactory()
    BlockFactory(blocker=blocked.author, blocked=user)
    unseen = [
        NoteFactory(visibility=Visibility.PRIVATE),
        NoteFactory(visibility=Visibility.FOLLOWERS),
        NoteFactory(status=NoteStatus.HIDDEN),
        NoteFactory(status=NoteStatus.DRAFT),
        NoteFactory(deleted_at=timezone.now()),
        blocked,
        NoteFactory(author=user),  # buying through your own note is not a sale it drove
        NoteFactory(author=user, visibility=Visibility.PRIVATE),
    ]
    credited = []
    for note_id in [n.pk for n in seen + unseen] + [987654]:
        response = checkout(buyer, [(sku, 1)], source_note=note_id)
        assert response.status_code == 201, response.content  # attribution never blocks a purchase
        credited.append(response.json()["orders"][0]["lines"][0]["source_note"])

    assert credited == [n.pk for n in seen] + [None] * (len(unseen) + 1)
    assert sorted(
        OrderLine.objects.exclude(source_note=None).values_list("source_note", flat=True)
    ) == sorted(n.pk for n in seen)


def test_a_private_note_sells_nothing_on_its_authors_page(client_for, user):
    note = NoteFactory(visibility=Visibility.PRIVATE)
    paid_order(buyer_with_address(client_for, user), SKUFactory(stock=5), 1, source_note=note.pk)
    assert figures(client_for(note.author).get(f"{URL}/{note.pk}")) == (note.pk, 0, 0, "0.00", "CNY")


def test_a_cart_note_the_buyer_can_no_longer_see_is_not_credited(client_for, user):
    sku, note = SKUFactory(stock=5), live_note()
    buyer = buyer_with_address(client_for, user)
    added = buyer.post("/api/v1/shop/cart/items", {"sku": sku.pk, "source_note": note.pk}, format="json")
    assert added.json()["source_note"] == note.pk
    Note.objects.filter(pk=note.pk).update(visibility=Visibility.PRIVATE)  # since made private

    response = checkout(buyer)

    assert response.status_code == 201, response.content
    assert response.json()["orders"][0]["lines"][0]["source_note"] is None
