"""B6's measurement on the XS world: checkouts by 8 buyers through the real API, no overselling, and
the world exactly as it was afterwards, even after a run that died half-way."""

from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from rest_framework.throttling import SimpleRateThrottle

from bench import checkout, load, probe
from bench import sample as sample_mod
from bench.world.context import MARKER_TABLE
from shop.models import (
    SKU,
    Address,
    CheckoutGroup,
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
)
from tests.conftest import requires_postgres


def seed() -> None:
    call_command("seed_bench", "--scale", "XS", stdout=StringIO())


def world_state() -> dict:
    """What the checkout benchmark may touch, row by row."""
    return {
        "skus": list(SKU.objects.order_by("pk").values_list("pk", "stock", "per_order_limit", "is_active")),
        "sales": list(Product.objects.order_by("pk").values_list("pk", "sales_count")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "total", "buyer_note")),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "order", "sku", "quantity")),
        "events": list(OrderEvent.objects.order_by("pk").values_list("pk", "order", "to_status")),
        "groups": list(CheckoutGroup.objects.order_by("pk").values_list("pk", "total")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "order", "status")),
        "addresses": list(Address.objects.order_by("pk").values_list("pk", "user", "line", "is_default")),
        "keys": IdempotencyKey.objects.count(),
        "saved table": checkout.SAVED_TABLE in connection.introspection.table_names(),
    }


@pytest.fixture
def unthrottled(monkeypatch):
    """As in the harness's environment: throttles must not turn load into 429s."""
    rates = dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "100000000/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.mark.django_db
def test_restore_undoes_a_checkout_run_that_died_half_way(unthrottled):
    seed()
    full = sample_mod.build()
    # Half the buyers without an address: the plan makes them one, which must go again.
    with_address = set(Address.objects.values_list("user_id", flat=True))
    have = [i for i, pk in enumerate(full.viewers) if pk in with_address][:4]
    lack = [i for i, pk in enumerate(full.viewers) if pk not in with_address][:4]
    assert len(have) == len(lack) == 4
    sample = replace(
        full,
        viewers=[full.viewers[i] for i in have + lack],
        tokens=[full.tokens[i] for i in have + lack],
    )
    before = world_state()

    p = checkout.plan(sample)
    assert sorted(p.buyers) == list(range(8)) and len(set(p.addresses)) == 8
    assert Address.objects.filter(line=checkout.MARKER).count() == 4
    assert p.hot_sku in p.skus and len(p.skus) == SKU.objects.filter(product__status="on_sale").count()
    checkout.save(p)
    checkout.set_stock([p.hot_sku, *p.skus], checkout.PLENTY)
    answers = [probe.count_one(rotation[0], sample) for rotation in checkout.hot_rotations(p)]
    answers += [probe.count_one(rotation[3], sample) for rotation in checkout.spread_rotations(p)]
    assert {a["status"]["POST"] for a in answers} == {201}
    made = Order.objects.filter(buyer_note=checkout.MARKER)
    assert made.count() == 32  # each probe checks out twice (warm, then counted)
    assert set(made.values_list("buyer_id", flat=True)) == set(sample.viewers)
    assert IdempotencyKey.objects.filter(key__startswith=load.KEY_PREFIX).count() == 32
    assert SKU.objects.get(pk=p.hot_sku).stock == checkout.PLENTY - 16
    # A second save (a run after one that died) keeps what the first saved: the world's stock.
    checkout.save(p)

    # The harness died here; the next run (or the harness's restore_world) puts everything back.
    checkout.restore()
    assert world_state() == before
    checkout.restore()  # and again, with nothing left to do
    assert world_state() == before


@pytest.fixture
def bench_world_tables():
    """The tables seed_bench and the harness add outside the models (a transactional test's flush
    leaves them, and a marker without its world would be "reused" by the next test)."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}, {checkout.SAVED_TABLE}")


@requires_postgres()
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_checkout_benchmark_oversells_nothing_and_leaves_the_world_as_it_was(
    live_server, unthrottled, bench_world_tables
):
    """B6 end to end on the XS world: 8 buyers with their own tokens, through a real HTTP server
    and wrk, on the hot SKU, on every SKU on sale, then 400 attempts at a stock of 30."""
    seed()
    sample = sample_mod.build()
    before = world_state()
    wrk, base_url = load.ensure_wrk(), f"http://127.0.0.1:{live_server.thread.port}"
    seen = []

    def series(name, rotations):
        result = load.run(wrk, base_url, rotations, sample.tokens, connections=0, seconds=1, per_thread=True)
        checkout.settle()
        lines = OrderLine.objects.filter(order__buyer_note=checkout.MARKER)
        keys = IdempotencyKey.objects.filter(key__startswith=load.KEY_PREFIX).exclude(
            key__startswith=f"{load.KEY_PREFIX}probe-"
        )
        seen.append(
            {
                "result": result,
                "skus": lines.values("sku").distinct().count(),
                "buyers": set(lines.values_list("order__buyer", flat=True)),
                "keys": keys.count(),
                "orders per key": keys.filter(status_code=201).count(),
            }
        )
        return [result]

    def attempts(rotations, limits):
        run = {"connections": 0, "seconds": 300, "per_thread": True, "limits": limits}
        return load.run(wrk, base_url, rotations, sample.tokens, **run)

    result = checkout.measure(
        sample,
        series=series,
        attempts=attempts,
        probe=lambda request: probe.count_one(request, sample),
        stock=30,
        tries=400,
    )

    hot, spread = seen
    for case in seen:  # every answer a new order, every request under a key of its own
        assert case["result"].statuses == {201: case["result"].requests} and case["result"].requests > 0
        assert case["keys"] >= case["result"].requests  # (requests still in flight when wrk stopped)
        assert case["orders per key"] == case["keys"]
        assert case["buyers"] == set(result["buyers"])
    assert hot["skus"] == 1 and spread["skus"] >= 8  # each buyer starts on a SKU of their own
    assert len(set(result["buyers"])) == 8 and set(result["buyers"]) <= set(sample.viewers)
    assert result["hot_orders_per_s"] > 0 and result["spread_orders_per_s"] > 0
    assert result["queries"]["status"] == {"POST": 201}

    over = result["oversell"]
    assert over["statuses"] == {201: 30, 409: 370} and over["answered"] == 400
    assert over["orders"] == over["sold"] == over["keys_created"] == 30
    assert over["stock_left"] == 0 and over["keys_out_of_stock"] == 370
    assert checkout.unaccounted(over) == 0

    assert world_state() == before
    assert not Order.objects.values("buyer_note").annotate(n=Count("pk")).filter(buyer_note=checkout.MARKER)
