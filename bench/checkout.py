"""B6: checkout under load, and no overselling.

Eight buyers of the sample (viewers with a default address first; one is made for a buyer without,
and removed after), each on its own wrk thread and connection with their own token, check out one
unit at a time through ``POST /api/v1/shop/orders`` with explicit items and address, every request
under a fresh ``Idempotency-Key``:

* **hot**: all eight buy the same SKU; **spread**: each request another of 1,000 SKUs (all the
  world has on sale when fewer). Orders/s (201 answers) against F_hotrow(1) and F_hotrow(1000); the
  SKUs' stock is raised for these runs so that none sells out.
* **oversell**: the hot SKU's stock set to N (2,000) and 10,000 attempts: exactly N orders for it,
  its stock 0, every other answer a 409 ``out_of_stock`` (counted by wrk's response hook and, in
  the database, by the idempotency keys, which keep each attempt's answer).

What it changes is put back by :func:`restore`: the SKUs' stock and their products' sales counts are
saved first in a table of the database (``bench_checkout_saved``, so a run that died is undone by
the next one), and every order the benchmark made carries :data:`MARKER` as its buyer note and is
deleted with its lines, events and checkout group, as are the load generator's idempotency keys.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Sum

from accounts.models import User
from bench.gates import median
from bench.load import KEY_PREFIX, Result
from bench.registry import Request
from bench.sample import Sample
from bench.world.context import CHECKOUT_SAVED_TABLE
from shop.models import SKU, Address, CheckoutGroup, IdempotencyKey, Order, OrderEvent, OrderLine, Product
from shop.services.cart import address_create

BUYERS = 8  # BENCH B6: 8 buyers
SPREAD = 1_000  # BENCH B6: 1,000 SKUs
OVERSELL_STOCK = 2_000
OVERSELL_ATTEMPTS = 10_000
#: Stock of the bench's SKUs during the throughput runs: more than any run can buy.
PLENTY = 1_000_000_000
ORDERS = "/api/v1/shop/orders"
#: The buyer note of every order the benchmark makes (and the line of an address it had to make).
MARKER = "bench checkout"
SAVED_TABLE = CHECKOUT_SAVED_TABLE
ADDRESS = {"recipient": "Bench buyer", "phone": "13800138000", "province": "上海市", "city": "上海市"}

#: ``series(name, rotations)``: the timed wrk runs of one case (per-thread rotations).
Series = Callable[[str, list[list[Request]]], list[Result]]
#: ``attempts(rotations, limits)``: one wrk run in which thread ``i`` sends ``limits[i]`` requests.
Attempts = Callable[[list[list[Request]], list[int]], Result]
#: ``probe(request)``: SQL and Redis round trips of one request, in process (``bench.probe.count_one``).
Probe = Callable[[Request], dict]


@dataclass(frozen=True)
class Plan:
    buyers: list[int]  # indices into the sample's viewers (and tokens)
    addresses: list[int]  # each buyer's address
    hot_sku: int
    skus: list[int]  # the spread, in id order


def plan(sample: Sample, *, seed: int = 42, spread: int = SPREAD) -> Plan:
    """Who buys what: ``BUYERS`` viewers (those with a default address first) and SKUs on sale,
    chosen deterministically. A buyer without an address gets one (marked, removed by ``restore``)."""
    rng = random.Random(f"bench-checkout:{seed}")
    defaults = dict(
        Address.objects.filter(user_id__in=sample.viewers, is_default=True).values_list("user_id", "pk")
    )
    ranked = sorted(range(len(sample.viewers)), key=lambda i: (sample.viewers[i] not in defaults, i))
    buyers = ranked[:BUYERS]
    for i in buyers:
        user = sample.viewers[i]
        if user not in defaults:
            address = address_create(user=User.objects.get(pk=user), data={**ADDRESS, "line": MARKER})
            defaults[user] = address.pk
    on_sale = list(
        SKU.objects.filter(is_active=True, product__in=Product.objects.on_sale())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not on_sale:
        raise RuntimeError("the world has no SKU on sale")
    skus = sorted(rng.sample(on_sale, min(spread, len(on_sale))))
    return Plan(
        buyers=buyers,
        addresses=[defaults[sample.viewers[i]] for i in buyers],
        hot_sku=rng.choice(skus),
        skus=skus,
    )


def _body(sku: int, address: int) -> str:
    return json.dumps({"items": [{"sku": sku, "quantity": 1}], "address": address, "note": MARKER})


def hot_rotations(p: Plan) -> list[list[Request]]:
    """One request per buyer, all for the hot SKU."""
    return [
        [Request("POST", ORDERS, buyer, _body(p.hot_sku, address), idempotent=True)]
        for buyer, address in zip(p.buyers, p.addresses, strict=True)
    ]


def spread_rotations(p: Plan) -> list[list[Request]]:
    """Each buyer goes through every SKU, starting at their own offset: no two buyers on one SKU at
    a time."""
    step = max(1, len(p.skus) // len(p.buyers))
    rotations = []
    for n, (buyer, address) in enumerate(zip(p.buyers, p.addresses, strict=True)):
        order = p.skus[n * step :] + p.skus[: n * step]
        rotations.append(
            [Request("POST", ORDERS, buyer, _body(sku, address), idempotent=True) for sku in order]
        )
    return rotations


# --- saving and putting back ----------------------------------------------------------------------


def save(p: Plan) -> None:
    """Remember the stock of the plan's SKUs and the sales counts of their products (once: what a
    run that died saved is the world's, and is kept until ``restore``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SAVED_TABLE} (sku_id integer PRIMARY KEY, stock integer NOT NULL, "
            "product_id integer NOT NULL, sales_count integer NOT NULL)"
        )
        cursor.execute(f"SELECT sku_id FROM {SAVED_TABLE}")
        saved = {row[0] for row in cursor.fetchall()}
        rows = [
            row
            for row in SKU.objects.filter(pk__in=[p.hot_sku, *p.skus])
            .order_by("pk")
            .values_list("pk", "stock", "product_id", "product__sales_count")
            if row[0] not in saved
        ]
        cursor.executemany(f"INSERT INTO {SAVED_TABLE} VALUES (%s, %s, %s, %s)", rows)


def set_stock(skus: list[int], stock: int) -> None:
    SKU.objects.filter(pk__in=skus).update(stock=stock)


def settle(timeout: float = 30.0) -> float:
    """Wait until no other session of this database is in a transaction or a statement: when wrk
    ends a timed run, the requests it had in flight are still being served, and their orders would
    land in the next case. Returns the seconds waited (PostgreSQL; elsewhere nothing to wait for)."""
    if connection.vendor != "postgresql":
        return 0.0
    started, quiet = time.monotonic(), 0
    while quiet < 2 and time.monotonic() - started < timeout:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                "AND state IN ('active', 'idle in transaction')"
            )
            busy = cursor.fetchone()[0]
        quiet = 0 if busy else quiet + 1
        time.sleep(0.05)
    return time.monotonic() - started


def remove_orders() -> int:
    """Delete the benchmark's orders (with their lines, events and checkout groups) and the load
    generator's idempotency keys. Returns the orders deleted."""
    with transaction.atomic():
        orders = Order.objects.filter(buyer_note=MARKER)
        groups = list(orders.values_list("group_id", flat=True).distinct())
        OrderEvent.objects.filter(order__in=orders)._raw_delete(connection.alias)
        OrderLine.objects.filter(order__in=orders)._raw_delete(connection.alias)
        deleted = orders._raw_delete(connection.alias)
        for start in range(0, len(groups), 5_000):
            CheckoutGroup.objects.filter(pk__in=groups[start : start + 5_000], orders__isnull=True).delete()
        IdempotencyKey.objects.filter(key__startswith=KEY_PREFIX)._raw_delete(connection.alias)
    return deleted


def restore() -> None:
    """Put the world back as it was: saved stock and sales counts, no benchmark orders, keys or
    addresses. Safe to call at any time (it does nothing when nothing is left)."""
    remove_orders()
    Address.objects.filter(line=MARKER).delete()
    if SAVED_TABLE not in connection.introspection.table_names():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT sku_id, stock, product_id, sales_count FROM {SAVED_TABLE}")
        rows = cursor.fetchall()
        skus = [SKU(pk=sku, stock=stock) for sku, stock, _, _ in rows]
        SKU.objects.bulk_update(skus, ["stock"], batch_size=500)
        products = [Product(pk=pk, sales_count=sales) for pk, sales in {p: s for _, _, p, s in rows}.items()]
        Product.objects.bulk_update(products, ["sales_count"], batch_size=500)
        cursor.execute(f"DROP TABLE {SAVED_TABLE}")


# --- the measurement ----------------------------------------------------------------------------


def orders_per_second(results: list[Result]) -> float:
    return median(r.statuses.get(201, 0) / r.seconds if r.seconds else 0.0 for r in results)


def oversell(p: Plan, attempts: Attempts, *, stock: int, tries: int) -> dict:
    """``tries`` checkouts of the hot SKU, whose stock is set to ``stock`` first, by the 8 buyers
    at once; what the answers and the database say."""
    remove_orders()
    set_stock([p.hot_sku], stock)
    limits = [tries // len(p.buyers) + (n < tries % len(p.buyers)) for n in range(len(p.buyers))]
    result = attempts(hot_rotations(p), limits)
    lines = OrderLine.objects.filter(sku_id=p.hot_sku, order__buyer_note=MARKER)
    keys = IdempotencyKey.objects.filter(key__startswith=KEY_PREFIX)
    return {
        "stock": stock,
        "attempts": tries,
        "answered": result.requests,
        "statuses": result.statuses,
        "errors": result.errors,
        "orders": Order.objects.filter(buyer_note=MARKER).count(),
        "sold": lines.aggregate(n=Sum("quantity"))["n"] or 0,
        "stock_left": SKU.objects.values_list("stock", flat=True).get(pk=p.hot_sku),
        "keys_created": keys.filter(status_code=201).count(),
        "keys_out_of_stock": keys.filter(status_code=409, response__error__code="out_of_stock").count(),
        "seconds": round(result.seconds, 2),
    }


def measure(
    sample: Sample,
    *,
    series: Series,
    attempts: Attempts,
    probe: Probe | None = None,
    seed: int = 42,
    stock: int = OVERSELL_STOCK,
    tries: int = OVERSELL_ATTEMPTS,
) -> dict:
    """The three cases (and, given ``probe``, the queries of one checkout), the world put back
    afterwards whatever happens."""
    restore()  # what a run that died left
    p = plan(sample, seed=seed)
    save(p)
    queries = None
    try:
        set_stock([p.hot_sku, *p.skus], PLENTY)
        if probe is not None:
            queries = probe(hot_rotations(p)[0][0])
        hot = series("checkout, 1 SKU", hot_rotations(p))
        settle()
        remove_orders()
        spread = series(f"checkout, {len(p.skus)} SKUs", spread_rotations(p))
        settle()
        over = oversell(p, attempts, stock=stock, tries=tries)
    finally:
        restore()
    return {
        "buyers": [sample.viewers[i] for i in p.buyers],
        "hot_sku": p.hot_sku,
        "skus": len(p.skus),
        "hot_orders_per_s": orders_per_second(hot),
        "spread_orders_per_s": orders_per_second(spread),
        "hot_p50_ms": median(r.p50_ms for r in hot),
        "hot_p99_ms": median(r.p99_ms for r in hot),
        "oversell": over,
        "queries": queries,
    }


def unaccounted(over: dict) -> int:
    """Attempts the oversell run cannot account for: stock that is neither left nor sold, orders
    without a 201 (or the reverse), answers that are neither a 201 nor a 409 ``out_of_stock``."""
    created, refused = over["statuses"].get(201, 0), over["statuses"].get(409, 0)
    return (
        abs(over["stock"] - over["sold"] - over["stock_left"])
        + abs(created - over["orders"])
        + abs(over["keys_created"] - over["orders"])
        + abs(refused - over["keys_out_of_stock"])
        + (over["attempts"] - created - refused)
    )
