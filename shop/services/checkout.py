"""Checkout: one order per store, all in one checkout group, stock reserved atomically.

Stock is taken with ``UPDATE sku SET stock = stock - n WHERE id = ? AND stock >= n`` and the row
count decides: on PostgreSQL a concurrent buyer waits on the row, re-reads it after the first
commits, and finds too little; the ``sku_stock_not_negative`` constraint backs this up. SKUs are
taken in id order so two checkouts never wait on each other in a cycle.

The stock is taken last, after the orders are written: a hot SKU's row is locked from its
``UPDATE`` to the commit, and every other buyer of it waits that long (BENCH.md B6: 8 buyers on one
SKU). Too little stock rolls the orders back with the rest of the checkout. The orders are handed
back as written (``CheckoutGroup.placed``), so the answer is rendered without reading them again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from config.db import PreparedQuery, concrete_columns, execute_statement, insert_instances, instance_from_row
from config.errors import Conflict, InvalidInput
from notes.models import Note
from shop.choices import OrderStatus
from shop.models import SKU, Address, CartItem, CheckoutGroup, Order, OrderEvent, OrderLine, Product, Store

CENT = Decimal("0.01")
ADDRESS_FIELDS = ["recipient", "phone", "province", "city", "district", "line", "postal_code"]


@dataclass(frozen=True)
class CheckoutItem:
    sku_id: int
    quantity: int
    source_note_id: int | None = None


def shipping_fee(lines_total: Decimal) -> Decimal:
    """Flat shipping per store order, free from ``SHOP_FREE_SHIPPING_FROM``."""
    if lines_total >= Decimal(settings.SHOP_FREE_SHIPPING_FROM):
        return Decimal("0.00")
    return Decimal(settings.SHOP_SHIPPING_FEE).quantize(CENT)


def _address_rows(user_id: int, address_id: int | None) -> QuerySet:
    addresses = Address.objects.filter(user_id=user_id)
    chosen = addresses.filter(pk=address_id) if address_id is not None else addresses.filter(is_default=True)
    return chosen.values(*ADDRESS_FIELDS)[:1]


#: Checkout's reads, compiled once per shape (``config.db``): built by the ORM, they cost more
#: CPU than everything else a checkout does but its inserts.
_ADDRESS = PreparedQuery(_address_rows)
_SKUS = PreparedQuery(
    lambda ids: SKU.objects.filter(pk__in=ids).values(
        *concrete_columns(SKU),
        *concrete_columns(Product, "product__"),
        *concrete_columns(Store, "product__store__"),
        on_sale=Exists(Product.objects.on_sale().filter(pk=OuterRef("product_id"))),
    )
)


def _address_snapshot(buyer: User, address_id: int | None) -> dict:
    """The copy of the chosen address (the default one when None) that an order keeps."""
    rows = _ADDRESS.rows(buyer.pk, address_id or None)
    if not rows:
        raise InvalidInput("Choose one of your shipping addresses.", fields={"address": ["Unknown address."]})
    return rows[0]


def _sku_from_row(row: dict) -> SKU:
    sku = instance_from_row(SKU, row)
    sku.product = instance_from_row(Product, row, "product__")
    sku.product.store = instance_from_row(Store, row, "product__store__")
    sku.on_sale = row["on_sale"]
    return sku


def _buyable_skus(items: list[CheckoutItem]) -> dict[int, SKU]:
    """The SKUs of ``items`` with their product and store, when every one may be bought."""
    ids = [item.sku_id for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("A SKU is listed twice.", fields={"items": ["Give each SKU once."]})
    skus = {sku.pk: sku for sku in map(_sku_from_row, _SKUS.rows(ids))}
    unknown = [pk for pk in ids if pk not in skus]
    if unknown:
        raise InvalidInput(
            "Some SKUs do not exist.", fields={"items": [f"Unknown SKU {pk}." for pk in unknown]}
        )
    if unavailable := [pk for pk in ids if not (skus[pk].is_active and skus[pk].on_sale)]:
        raise Conflict(
            "Some items are no longer on sale.",
            code="unavailable",
            fields={"items": [f"SKU {pk} is not on sale." for pk in unavailable]},
        )
    over = [item for item in items if item.quantity > skus[item.sku_id].per_order_limit]
    if over:
        raise InvalidInput(
            "Some quantities are above the per-order limit.",
            code="over_limit",
            fields={"items": [f"SKU {i.sku_id}: at most {skus[i.sku_id].per_order_limit}." for i in over]},
        )
    return skus


def _creditable_notes(buyer: User, note_ids: set[int]) -> set[int]:
    if not note_ids:  # the visibility rule's queryset costs more to build than the checkout's SQL
        return set()
    return set(
        Note.objects.visible_to(buyer)
        .filter(pk__in=note_ids)
        .exclude(author=buyer)
        .values_list("pk", flat=True)
    )


#: Take ``n`` units if there are: written out, as every checkout runs it for every SKU.
_TAKE = f"UPDATE {SKU._meta.db_table} SET stock = stock - %(n)s WHERE id = %(sku)s AND stock >= %(n)s"


def _reserve(items: list[CheckoutItem], skus: dict[int, SKU]) -> None:
    sold_out = [
        item.sku_id
        for item in sorted(items, key=lambda item: item.sku_id)
        if not execute_statement(_TAKE, {"n": item.quantity, "sku": item.sku_id})[0]
    ]
    if sold_out:  # the transaction rolls back what the others took
        raise Conflict(
            "Not enough stock left.",
            code="out_of_stock",
            fields={"items": [f"{skus[pk].name}: not enough stock." for pk in sold_out]},
        )


@transaction.atomic
def order_checkout(
    *,
    buyer: User,
    items: list[CheckoutItem] | None,
    address_id: int | None = None,
    buyer_note: str = "",
    expected_total: Decimal | None = None,
) -> CheckoutGroup:
    """Turn ``items`` (the whole cart when None) into one pending order per store.

    Each SKU is listed once (its quantity is what the per-order limit and the stock reservation
    check); a line's ``source_note`` is credited only when the buyer may see that note and did not
    write it. Prices are today's; a client that shows a total passes it as ``expected_total`` and
    gets a 409 ``price_changed`` if it moved. Bought cart items leave the cart.

    Returns the group; ``group.placed`` holds its orders as written (with ``store`` and ``buyer``),
    each with its lines in ``placed_lines``.
    """
    snapshot = _address_snapshot(buyer, address_id)
    from_cart = items is None
    if from_cart:
        items = [
            CheckoutItem(sku_id=sku_id, quantity=quantity, source_note_id=note_id)
            # Locked until the bought items are deleted: an add or a change of one of them
            # meanwhile waits, and then finds it gone, instead of being deleted unbought.
            for sku_id, quantity, note_id in CartItem.objects.select_for_update()
            .filter(user=buyer)
            .order_by("pk")
            .values_list("sku_id", "quantity", "source_note_id")
        ]
    if not items:
        raise InvalidInput("Your cart is empty.", code="empty_cart")
    skus = _buyable_skus(items)
    by_store: dict[int, list[CheckoutItem]] = defaultdict(list)
    for item in items:
        by_store[skus[item.sku_id].product.store_id].append(item)
    totals = {}
    for store_id, store_items in by_store.items():
        lines_total = sum((skus[i.sku_id].price * i.quantity for i in store_items), Decimal("0.00"))
        totals[store_id] = (lines_total, shipping_fee(lines_total))
    grand_total = sum((lines + shipping for lines, shipping in totals.values()), Decimal("0.00"))
    if expected_total is not None and expected_total != grand_total:
        raise Conflict(
            "Prices changed since you last looked.",
            code="price_changed",
            fields={"expected_total": [f"The total is now {grand_total}."]},
        )
    # Attribution never blocks a purchase: a note that is gone, or that the buyer may not see (any
    # more: made private, hidden, the author blocked them), is simply not credited; nor is the
    # buyer's own (buying through it is not a sale it drove, and would let authors inflate it).
    notes = _creditable_notes(buyer, {i.source_note_id for i in items} - {None})

    group = CheckoutGroup(buyer=buyer, total=grand_total)
    insert_instances([group])
    expires_at = timezone.now() + timedelta(minutes=settings.SHOP_PAYMENT_MINUTES)
    orders = [
        Order(
            group=group,
            buyer=buyer,
            store=skus[store_items[0].sku_id].product.store,
            lines_total=totals[store_id][0],
            shipping_total=totals[store_id][1],
            total=sum(totals[store_id]),
            shipping_address=snapshot,
            buyer_note=buyer_note,
            expires_at=expires_at,
        )
        for store_id, store_items in by_store.items()
    ]
    insert_instances(orders)
    for order in orders:
        order.placed_lines = [
            OrderLine(
                order=order,
                sku=skus[i.sku_id],
                product=skus[i.sku_id].product,
                title=skus[i.sku_id].product.title,
                sku_name=skus[i.sku_id].name,
                unit_price=skus[i.sku_id].price,
                quantity=i.quantity,
                line_total=skus[i.sku_id].price * i.quantity,
                source_note_id=i.source_note_id if i.source_note_id in notes else None,
            )
            for i in by_store[order.store_id]
        ]
    insert_instances([line for order in orders for line in order.placed_lines])
    insert_instances(
        [OrderEvent(order=order, actor=buyer, to_status=OrderStatus.PENDING_PAYMENT) for order in orders]
    )
    if from_cart:
        CartItem.objects.filter(user=buyer, sku_id__in=[i.sku_id for i in items]).delete()
    _reserve(items, skus)
    group.placed = orders
    return group
