"""What people buy: shipping addresses, checkouts, orders with their lines, payments and history.

Orders are generated as the app's services would have left them (``shop.services.checkout``,
``lifecycle``, ``orders``, ``payments``), without running them:

* one order per store, one or (sometimes) two orders per checkout group; 1-3 lines of SKUs of that
  store, with the product's title, the SKU's name and price copied; ``line_total`` and the order's
  totals exact in ``Decimal``, shipping from ``shipping_fee``;
* the status mix of a shop that has been selling for a while (:data:`STATUS_MIX`), and every
  timestamp consistent with it: an unpaid order is younger than its payment window (``expires_at``
  ahead), a shipped one is not older than the automatic confirmation, a delivered one is within its
  after-sales window, and so on;
* one ``OrderEvent`` per transition the order went through (creation included), with the actor and
  note the services record; a ``Payment`` for every order that was paid (refunded ones refunded);
* a default ``Address`` for every buyer, made before their first order, whose copy every order keeps.

Stock is not moved: the world's SKU stock is what is left after these orders. ``Product.sales_count``
is set from the lines by ``recount`` (in the counters step), as the services count it.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from bench.world.context import WorldContext
from bench.world.loading import Cumulative, Loader, first_id, reset_sequences
from bench.world.people import CITIES, nickname
from shop.choices import OrderStatus as S
from shop.choices import PaymentStatus
from shop.models import Address, CheckoutGroup, Order, OrderEvent, OrderLine, Payment
from shop.services.checkout import ADDRESS_FIELDS, shipping_fee

#: Where the world's orders are, as shares of all orders (the rest, if any, completed).
STATUS_MIX: tuple[tuple[str, float], ...] = (
    (S.COMPLETED, 0.55),
    (S.DELIVERED, 0.12),
    (S.SHIPPED, 0.10),
    (S.PAID, 0.06),
    (S.PENDING_PAYMENT, 0.03),
    (S.CANCELLED, 0.05),
    (S.EXPIRED, 0.06),
    (S.REFUNDED, 0.03),
)
TWO_STORE_SHARE = 0.08  # checkouts that bought from two stores at once
CARRIERS = (("顺丰速运", "SF"), ("中通快递", "ZT"), ("京东物流", "JD"), ("圆通速递", "YT"))
PROVINCES = {  # city -> (province, districts, postal code)
    "上海": ("上海市", ("静安区", "徐汇区", "浦东新区"), "200040"),
    "北京": ("北京市", ("朝阳区", "海淀区", "东城区"), "100020"),
    "杭州": ("浙江省", ("西湖区", "上城区", "滨江区"), "310012"),
    "成都": ("四川省", ("锦江区", "武侯区", "高新区"), "610041"),
    "深圳": ("广东省", ("南山区", "福田区", "宝安区"), "518057"),
    "广州": ("广东省", ("天河区", "越秀区", "海珠区"), "510620"),
    "南京": ("江苏省", ("鼓楼区", "玄武区", "建邺区"), "210008"),
    "武汉": ("湖北省", ("江汉区", "武昌区", "洪山区"), "430022"),
    "重庆": ("重庆市", ("渝中区", "江北区", "南岸区"), "400010"),
    "西安": ("陕西省", ("雁塔区", "碑林区", "未央区"), "710061"),
}
STREETS = ("南京西路", "淮海中路", "建国路", "文三路", "春熙路", "科技园路", "天河路", "中山路", "解放路")
CANCEL_REASONS = ("不想要了", "拍错了规格", "Found it cheaper elsewhere", "地址填错了", "")
#: The timestamp each status sets (``shop.services.lifecycle``): the rest close the order.
STAMPS = {S.PAID: "paid_at", S.SHIPPED: "shipped_at", S.DELIVERED: "delivered_at"}


@dataclass
class Checkout:
    """One planned checkout: its buyer, when, the status its orders reached and when each step was."""

    status: str
    created: datetime
    stamps: dict[str, datetime]  # paid_at, shipped_at, delivered_at, closed_at (those reached)
    steps: list[tuple[str, str]]  # (status, who): the transitions after creation, in order
    buyer: int = 0
    orders: list[list[tuple]] = field(default_factory=list)  # per store order, its lines (``_lines``)


def _quotas(total: int) -> dict[str, int]:
    """Orders per status: the mix's shares, at least one of each when there are enough orders,
    exactly ``total`` in all (the remainder completed)."""
    counts = {status: int(total * share) for status, share in STATUS_MIX}
    if total >= len(STATUS_MIX):
        counts = {status: max(1, n) for status, n in counts.items()}
    while sum(counts.values()) > total:
        counts[max(counts, key=counts.get)] -= 1
    counts[S.COMPLETED] += total - sum(counts.values())
    return counts


def _timeline(rng: random.Random, status: str, now: datetime, span: timedelta) -> Checkout:
    """When a checkout whose orders are now ``status`` was made and went through each step.

    The delays are the app's: payment minutes after checkout (or it expires after
    ``SHOP_PAYMENT_MINUTES``), shipping hours later, delivery days later, completion within the
    after-sales window (``SHOP_AFTER_SALES_DAYS``, the automatic step when the buyer does not
    confirm). The checkout's age is drawn so that ``now`` falls in the status's stage, older ones
    rarer (a shop growing).
    """
    window = timedelta(minutes=settings.SHOP_PAYMENT_MINUTES)
    pay = timedelta(minutes=rng.uniform(1, 15))
    ship = timedelta(hours=rng.uniform(4, 48))
    deliver = timedelta(days=rng.uniform(1, 5))
    after_sales = timedelta(days=settings.SHOP_AFTER_SALES_DAYS)
    confirms = rng.random() < 0.5  # the buyer closes the order; otherwise the automatic step does
    settle = after_sales * rng.uniform(0.05, 1) if confirms else after_sales
    paid_chain = [(S.PAID, "system", pay), (S.SHIPPED, "brand", ship), (S.DELIVERED, "buyer", deliver)]
    steps: list[tuple[str, str, timedelta]]
    if status == S.PENDING_PAYMENT:
        return Checkout(status, now - window * rng.uniform(0.02, 0.85), {}, [])
    if status == S.CANCELLED:
        steps = [(S.CANCELLED, "buyer", window * rng.uniform(0.05, 0.95))]
    elif status == S.EXPIRED:
        steps = [(S.EXPIRED, "system", window + timedelta(minutes=rng.uniform(0, 5)))]
    elif status == S.REFUNDED:  # refunded by support, before shipping or after
        reached = rng.randint(1, 3)
        steps = [*paid_chain[:reached], (S.REFUNDED, "system", timedelta(hours=rng.uniform(1, 72)))]
    else:
        steps = [*paid_chain, (S.COMPLETED, "buyer" if confirms else "system", settle)]
        steps = steps[: [S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED].index(status) + 1]
    # Old enough for the last step, young enough for the next one (none after a final status).
    done = sum((delay for *_, delay in steps), timedelta())
    following = {S.PAID: ship, S.SHIPPED: deliver, S.DELIVERED: settle}.get(status)
    if following is not None:
        age = done + following * rng.random()
    else:
        age = done + (span - done) * rng.random() ** 2
    created = now - age
    at, stamps = created, {}
    for to, _, delay in steps:
        at += delay
        stamps[STAMPS.get(to, "closed_at")] = at
    return Checkout(status, created, stamps, [(to, who) for to, who, _ in steps])


def step_orders(ctx: WorldContext, loader: Loader) -> None:
    """Checkouts of buyers (Pareto-active) in popular stores (Zipf), their orders, lines, payments
    and events; ids of each table in time order."""
    rng, now = ctx.rng("orders"), ctx.now
    if not ctx.catalogue or not ctx.scale.orders:
        return
    span = timedelta(days=ctx.scale.order_days)
    by_store: dict[int, list[tuple[int, str, list]]] = {}
    for product_id, store_id, title, skus in ctx.catalogue:
        by_store.setdefault(store_id, []).append((product_id, title, skus))
    stores = sorted(by_store)
    store_pick = Cumulative(stores, [1 / (rank + 1) ** 0.7 for rank in range(len(stores))])
    product_pick = {
        store: Cumulative(items, [rng.paretovariate(1.5) for _ in items]) for store, items in by_store.items()
    }
    buyer_pick = Cumulative(ctx.user_ids, [rng.paretovariate(1.2) for _ in ctx.user_ids])
    owned: dict[int, set[int]] = {}
    for store, owner in ctx.store_owners.items():
        owned.setdefault(owner, set()).add(store)
    notes_by_id = {pk: (author, created) for pk, author, created in ctx.open_notes}

    checkouts: list[Checkout] = []
    for status, quota in _quotas(ctx.scale.orders).items():
        while quota:
            size = 2 if quota >= 2 and rng.random() < TWO_STORE_SHARE else 1
            checkout = _timeline(rng, status, now, span)
            checkout.buyer = _buyer(rng, buyer_pick, ctx.joined, checkout.created)
            mine = owned.get(checkout.buyer, set())  # nobody buys from their own brand's store
            size = min(size, len(stores) - len(mine))
            chosen: list[int] = []
            while len(chosen) < size:
                (store,) = store_pick.draw(rng, 1)
                if store not in mine and store not in chosen:
                    chosen.append(store)
            for store in chosen:
                checkout.orders.append(
                    _lines(rng, product_pick[store], checkout, ctx.product_notes, notes_by_id, store)
                )
            checkouts.append(checkout)
            quota -= len(chosen)
    checkouts.sort(key=lambda c: (c.created, c.buyer))
    _load(ctx, loader, rng, checkouts)


def _buyer(rng: random.Random, pick: Cumulative, joined: dict[int, datetime], at: datetime) -> int:
    """A buyer who had joined by ``at``."""
    for _ in range(1000):
        (buyer,) = pick.draw(rng, 1)
        if joined.get(buyer, at) <= at:
            return buyer
    raise RuntimeError("no buyer had joined yet")


def _lines(
    rng: random.Random,
    pick: Cumulative,
    checkout: Checkout,
    product_notes: dict[int, list[int]],
    notes: dict[int, tuple[int, datetime]],
    store: int,
) -> list[tuple]:
    """1-3 lines of distinct SKUs of one store: ``(store, sku, product, title, sku name, price,
    quantity, source note)``."""
    wanted = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
    lines, seen = [], set()
    for _ in range(wanted * 3):
        if len(lines) == wanted:
            break
        (product_id, title, skus) = pick.draw(rng, 1)[0]
        sku_id, name, price = rng.choice(skus)
        if sku_id in seen:
            continue
        seen.add(sku_id)
        quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        source = None
        credited = [
            pk
            for pk in product_notes.get(product_id, ())
            if notes[pk][0] != checkout.buyer and notes[pk][1] < checkout.created
        ]
        if credited and rng.random() < 0.4:  # came from a note tagging it (attribution)
            source = rng.choice(credited)
        lines.append((store, sku_id, product_id, title, name, price, quantity, source))
    return lines


def _address(rng: random.Random, buyer: int, ctx: WorldContext) -> dict:
    city = rng.choice([c for c in CITIES if c in PROVINCES])
    province, districts, postal = PROVINCES[city]
    street, number = rng.choice(STREETS), rng.randint(1, 2000)
    room = rng.randint(1, 30) * 100 + rng.randint(1, 9)
    return {
        "recipient": nickname(buyer - ctx.user_ids[0])[:40],
        "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
        "province": province,
        "city": f"{city}市",
        "district": rng.choice(districts),
        "line": f"{street} {number} 号 {room} 室",
        "postal_code": postal,
    }


def _load(ctx: WorldContext, loader: Loader, rng: random.Random, checkouts: list[Checkout]) -> None:
    address_first, group_first, order_first = first_id(Address), first_id(CheckoutGroup), first_id(Order)
    line_first, event_first, payment_first = first_id(OrderLine), first_id(OrderEvent), first_id(Payment)
    addresses: dict[int, tuple] = {}  # buyer -> row, made just before their first checkout
    snapshots: dict[int, dict] = {}  # buyer -> the copy an order keeps (``order_checkout``'s)
    groups, orders, lines, events, payments = [], [], [], [], []
    order_ids = itertools.count(order_first)
    for checkout in checkouts:
        buyer, created, stamps = checkout.buyer, checkout.created, checkout.stamps
        if buyer not in addresses:
            snapshots[buyer] = _address(rng, buyer, ctx)
            made = max(ctx.joined.get(buyer, created), created - timedelta(minutes=rng.uniform(1, 60)))
            values = [snapshots[buyer][name] for name in ADDRESS_FIELDS]
            addresses[buyer] = (address_first + len(addresses), buyer, *values, True, made)
        snapshot = snapshots[buyer]
        group_id, group_total = group_first + len(groups), Decimal("0.00")
        for order_lines in checkout.orders:
            order_id = next(order_ids)
            store = order_lines[0][0]
            lines_total = sum((price * quantity for *_, price, quantity, _ in order_lines), Decimal("0.00"))
            shipping = shipping_fee(lines_total)
            total = lines_total + shipping
            group_total += total
            carrier, tracking = "", ""
            if "shipped_at" in stamps:
                carrier, prefix = CARRIERS[order_id % len(CARRIERS)]
                tracking = f"{prefix}{order_id:012d}"
            orders.append(
                (
                    order_id,
                    group_id,
                    buyer,
                    store,
                    checkout.status,
                    lines_total,
                    shipping,
                    total,
                    snapshot,
                    carrier,
                    tracking,
                    created + timedelta(minutes=settings.SHOP_PAYMENT_MINUTES),
                    stamps.get("paid_at"),
                    stamps.get("shipped_at"),
                    stamps.get("delivered_at"),
                    stamps.get("closed_at"),
                    created,
                )
            )
            for _, sku, product, title, name, price, quantity, source in order_lines:
                row = (line_first + len(lines), order_id, sku, product, title, name, price, quantity)
                lines.append((*row, price * quantity, source))
            intent = f"pi_bench_{order_id:010d}"
            if "paid_at" in stamps:
                refunded = checkout.status == S.REFUNDED
                payments.append(
                    (
                        payment_first + len(payments),
                        order_id,
                        "sandbox",
                        intent,
                        total,
                        PaymentStatus.REFUNDED if refunded else PaymentStatus.SUCCEEDED,
                        f"re_bench_{order_id:010d}" if refunded else "",
                        stamps["paid_at"] - timedelta(seconds=rng.uniform(5, 60)),
                        stamps["closed_at"] if refunded else stamps["paid_at"],
                    )
                )
            owner = ctx.store_owners[store]
            history = [("", S.PENDING_PAYMENT, buyer, "", created)]
            for to, who in checkout.steps:
                at = stamps[STAMPS.get(to, "closed_at")]
                actor = {"buyer": buyer, "brand": owner, "system": None}[who]
                note = {
                    S.PAID: f"sandbox {intent}",
                    S.SHIPPED: f"{carrier} {tracking}",
                    S.CANCELLED: rng.choice(CANCEL_REASONS),
                    S.REFUNDED: "退款 · refunded by support",
                }.get(to, "automatic" if who == "system" and to in (S.DELIVERED, S.COMPLETED) else "")
                history.append((history[-1][1], to, actor, note, at))
            events.extend((order_id, n, *event) for n, event in enumerate(history))
        groups.append((group_id, buyer, group_total, created))
    # Events get ids in time order, as the app's would (an order's own in the order they happened).
    events.sort(key=lambda e: (e[6], e[0], e[1]))
    event_rows = (
        (event_first + i, order_id, from_status, to_status, actor, note, at)
        for i, (order_id, _, from_status, to_status, actor, note, at) in enumerate(events)
    )
    address_rows = sorted(addresses.values())
    loader.load(
        Address,
        ["id", "user_id", *ADDRESS_FIELDS, "is_default", "created_at"],
        address_rows,
    )
    loader.load(CheckoutGroup, ["id", "buyer_id", "total", "created_at"], groups)
    order_fields = [
        "id",
        "group_id",
        "buyer_id",
        "store_id",
        "status",
        "lines_total",
        "shipping_total",
        "total",
        "shipping_address",
        "carrier",
        "tracking_number",
        "expires_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "closed_at",
        "created_at",
    ]
    ctx.counts["orders"] = loader.load(Order, order_fields, ctx.track(orders, "orders"))
    line_fields = ["id", "order_id", "sku_id", "product_id", "title", "sku_name", "unit_price", "quantity"]
    loader.load(OrderLine, [*line_fields, "line_total", "source_note_id"], ctx.track(lines, "order lines"))
    payment_fields = ["id", "order_id", "provider", "intent_id", "amount", "status", "refund_id"]
    loader.load(Payment, [*payment_fields, "created_at", "updated_at"], payments)
    loader.load(
        OrderEvent,
        ["id", "order_id", "from_status", "to_status", "actor_id", "note", "created_at"],
        ctx.track(event_rows, "order events", len(events)),
    )
    reset_sequences(Address, CheckoutGroup, Order, OrderLine, Payment, OrderEvent)
    ctx.counts.update(
        addresses=len(address_rows),
        checkout_groups=len(groups),
        order_lines=len(lines),
        order_events=len(events),
        payments=len(payments),
    )
