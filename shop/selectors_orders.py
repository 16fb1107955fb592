"""Reads of carts, addresses and orders. Another user's row is a 404, never a 403 (BOLA)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from config.errors import NotFound
from notes.models import Note
from shop.models import Address, AfterSale, CartItem, Order, OrderEvent, OrderLine, Payment
from shop.services.lifecycle import PAID_STATUSES


def cart_items(*, user: User) -> QuerySet:
    return CartItem.objects.filter(user=user).select_related("sku__product__store").order_by("-id")


def cart_item_get(*, user: User, item_id: int) -> CartItem:
    item = cart_items(user=user).filter(pk=item_id).first()
    if item is None:
        raise NotFound("No such cart item.")
    return item


def addresses(*, user: User) -> QuerySet:
    return Address.objects.filter(user=user).order_by("-is_default", "-id")


def address_get(*, user: User, address_id: int) -> Address:
    address = addresses(user=user).filter(pk=address_id).first()
    if address is None:
        raise NotFound("No such address.")
    return address


def orders_for_list(*, user: User, as_brand: bool = False) -> QuerySet:
    """The user's orders, or with ``as_brand`` the orders of the stores of the user's brands."""
    orders = Order.objects.filter(store__brand__owner=user) if as_brand else Order.objects.filter(buyer=user)
    return orders.select_related("store", "buyer").prefetch_related("lines")


def order_get_visible(*, user: User, order_id: int) -> Order:
    """An order its buyer or its store's brand owner may read, with its history and payments."""
    order = (
        Order.objects.filter(pk=order_id)
        .select_related("store__brand", "buyer")
        .prefetch_related(
            "lines",
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
            Prefetch("after_sales", queryset=AfterSale.objects.order_by("id")),
            Prefetch("payments", queryset=Payment.objects.order_by("id")),
        )
        .first()
    )
    if order is None or user.pk not in (order.buyer_id, order.store.brand.owner_id):
        raise NotFound("No such order.")
    return order


def after_sale_get(*, order: Order, after_sale_id: int) -> AfterSale:
    after_sale = order.after_sales.filter(pk=after_sale_id).first()
    if after_sale is None:
        raise NotFound("No such after-sale request.")
    return after_sale


# --- Attribution: what notes sold ----------------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    """Orders, units and revenue (line totals, before shipping and order discounts) driven by a note."""

    note_id: int
    orders: int
    units: int
    revenue: Decimal
    currency: str = "CNY"


def _driven(prefix: str = "") -> dict:
    """Aggregates over order lines (``prefix`` reaches them from another model) that a note drove:
    orders paid or later, so cancelled, expired and refunded ones (whose lines go back) never count."""
    sold = Q(**{f"{prefix}order__status__in": PAID_STATUSES})
    return {
        "orders": Count(f"{prefix}order", filter=sold, distinct=True),
        "units": Coalesce(Sum(f"{prefix}quantity", filter=sold), 0),
        "revenue": Coalesce(
            Sum(f"{prefix}line_total", filter=sold), Value(Decimal("0.00")), output_field=DecimalField()
        ),
    }


def note_attribution(*, note_id: int, viewer: User) -> Attribution:
    """What ``note_id`` sold: all of it for its author; for the owner of a brand whose store sold
    something after it, that store's share. Anyone else (and a deleted note) is a 404."""
    author_id = (
        Note.objects.filter(pk=note_id, deleted_at__isnull=True).values_list("author_id", flat=True).first()
    )
    lines = OrderLine.objects.filter(source_note_id=note_id)
    is_author = author_id is not None and viewer.pk == author_id
    if not is_author:
        lines = lines.filter(order__store__brand__owner=viewer)
    figures = lines.aggregate(involved=Count("pk"), **_driven())
    if author_id is None or not (is_author or figures["involved"]):
        raise NotFound("No such note.")
    return Attribution(
        note_id=note_id, orders=figures["orders"], units=figures["units"], revenue=figures["revenue"]
    )


def notes_attributed(*, author: User) -> QuerySet:
    """``author``'s notes that drove a sale, with ``orders``, ``units`` and ``revenue``."""
    return (
        Note.objects.filter(author=author, deleted_at__isnull=True)
        .annotate(**_driven("attributed_lines__"))
        .filter(orders__gt=0)
    )
