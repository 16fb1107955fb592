"""The benchmark world of BENCH.md, built in bulk and deterministically (``manage.py seed_bench``).

At **M**: 10k users, 500k follows (power law, 20 KOLs with 2k-10k followers), 200k notes, 2M likes,
1M collects into boards, 300k comments and replies, topics, 5k products with 20k SKUs, 100k orders
(with their checkout groups, lines, payments, status history and the buyers' addresses; mostly
completed or delivered, some paid, shipped, awaiting payment, cancelled, expired or refunded). S is
a tenth of M, L five times M, XS a few dozen rows of each for the tests.

How it is built, and what it promises:

* **Deterministic**: every draw comes from ``ctx.rng(label)``, a ``random.Random`` seeded from the
  seed and a label, and ids are assigned explicitly in generation order (a rebuild on an emptied
  database gives the same ids). Timestamps are relative to the build's start (``ctx.now``), so a
  world built today has notes from the last weeks like a live app would.
* **Bulk, no per-row signals**: rows are generated in Python and written with ``COPY`` on PostgreSQL
  (``executemany`` elsewhere), table by table, in one transaction each.
* **Exact counters**: rows go in with zero counters; :func:`step_counters` then sets every
  denormalised counter with one set-based ``UPDATE`` per counter from the rows themselves
  (``COUNT(*)``/``SUM`` subqueries), the same quantities the services keep with ``F()`` (a product's
  ``sales_count`` included: the quantities of its order lines in paid-for orders).
* **Real media**: a small pool of generated photos goes through the real upload and processing
  services once; notes and products reference those ``Media`` rows. Avatars likewise.
* **What the app derives, the app's code derives**: topics come from ``notes.text.parse_topics``
  over the generated text. Later features add their bulk builders to :data:`EXTRA_STEPS` (timelines,
  search documents, ranking scores), using the same services in bulk form as the app.
* **Reuse**: a marker table (``bench_world``) records scale, seed and a hash of the applied
  migrations; building the same world again is a no-op, and a different one replaces it.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterable

from django.db import connection, models, transaction

from accounts.models import Brand, Follow, User
from bench.world.content import (
    recount,
    step_analyze,
    step_collects,
    step_comments,
    step_counters,
    step_likes,
    step_notes,
    step_shop,
    step_topics,
)
from bench.world.context import (
    BENCH_PASSWORD,
    CHECKOUT_SAVED_TABLE,
    DEFAULT_SEED,
    MARKER_TABLE,
    SCALES,
    WORLD_VERSION,
    Scale,
    WorldContext,
)
from bench.world.loading import Loader
from bench.world.orders import step_orders
from bench.world.people import step_follows, step_media, step_users
from notes.models import (
    Board,
    Comment,
    Media,
    Note,
    NoteCollect,
    NoteLike,
    NoteMedia,
    NoteProduct,
    NoteTopic,
    Topic,
)
from shop.models import (
    SKU,
    Address,
    CheckoutGroup,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
    ProductImage,
    Store,
)

__all__ = [
    "BENCH_PASSWORD",
    "DEFAULT_SEED",
    "EXTRA_STEPS",
    "SCALES",
    "STEPS",
    "Scale",
    "WorldContext",
    "WorldExists",
    "build",
    "recount",
    "wipe",
    "world_marker",
]


Step = Callable[[WorldContext, Loader], None]

#: The world, in order. Each step loads what it makes and leaves what later steps need on ``ctx``.
STEPS: list[tuple[str, Step]] = [
    ("users", step_users),
    ("media", step_media),
    ("shop", step_shop),
    ("topics", step_topics),
    ("follows", step_follows),
    ("notes", step_notes),
    ("likes", step_likes),
    ("collects", step_collects),
    ("comments", step_comments),
    ("orders", step_orders),
    ("counters", step_counters),
]


def command_step(name: str, *args: str) -> Step:
    """A step that runs the app's own management command ``name`` (skipped while the app has none)."""

    def step(ctx: WorldContext, loader: Loader) -> None:
        from django.core.management import call_command, get_commands

        if name not in get_commands():
            ctx.log(f"  ({name}: no such command yet, skipped)")
            return
        call_command(name, *args, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())

    return step


#: Derived data, built after the counters by the app's own rebuild code (the services the app runs
#: on every write, in bulk form), never by a shortcut: search documents, following timelines and
#: discovery scores. Append to add one. When it lives in Redis (``REDIS_URL``), a reused world whose
#: Redis was emptied gets these steps again (see :func:`build`).
EXTRA_STEPS: list[tuple[str, Step]] = [
    ("search", command_step("search_reindex", "--no-progress")),
    ("feeds", command_step("rebuild_feeds")),
]

FINAL_STEPS: list[tuple[str, Step]] = [("analyze", step_analyze)]


# --- the marker and the whole build -------------------------------------------------------------


def schema_hash() -> str:
    """The applied migrations and the generator's version: a world built under others is stale."""
    from django.db.migrations.recorder import MigrationRecorder

    applied = sorted(MigrationRecorder(connection).applied_migrations())
    digest = hashlib.sha256(json.dumps([WORLD_VERSION, applied]).encode()).hexdigest()
    return digest[:16]


def _marker_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (id integer PRIMARY KEY, scale varchar(8) NOT NULL, "
            "seed integer NOT NULL, schema_hash varchar(64) NOT NULL, built_at varchar(40) NOT NULL, "
            "seconds double precision NOT NULL, counts text NOT NULL)"
        )


def world_marker() -> dict | None:
    """The world this database holds (scale, seed, schema hash, when, counts), or None."""
    if MARKER_TABLE not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT scale, seed, schema_hash, built_at, seconds, counts FROM {MARKER_TABLE} WHERE id = 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    scale, seed, digest, built_at, seconds, counts = row
    return {
        "scale": scale,
        "seed": seed,
        "schema_hash": digest,
        "built_at": built_at,
        "seconds": seconds,
        "counts": json.loads(counts),
    }


def _write_marker(ctx: WorldContext, seconds: float, *, building: bool = False) -> None:
    _marker_table()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (id, scale, seed, schema_hash, built_at, seconds, counts) "
            "VALUES (1, %s, %s, %s, %s, %s, %s)",
            [
                ctx.scale.name,
                ctx.seed,
                "building" if building else schema_hash(),
                ctx.now.isoformat(),
                seconds,
                json.dumps(ctx.counts),
            ],
        )


#: Tables a world fills, children first (what ``wipe`` empties).
WORLD_MODELS: list[type[models.Model]] = [
    OrderEvent,
    Payment,
    OrderLine,
    Order,
    CheckoutGroup,
    Address,
    Comment,
    NoteCollect,
    Board,
    NoteLike,
    NoteProduct,
    NoteTopic,
    NoteMedia,
    Note,
    Topic,
    Follow,
    SKU,
    ProductImage,
    Product,
    Store,
    Brand,
    Media,
]


def wipe() -> None:
    """Empty the world's tables (and everything that points at users), restarting ids."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in [*WORLD_MODELS, User])
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        with transaction.atomic():
            Note.objects.update(pinned_comment=None)
            for model in WORLD_MODELS:
                model.objects.all()._raw_delete(connection.alias)
            User.objects.all().delete()
            if connection.vendor == "sqlite":  # AUTOINCREMENT keeps counting past deleted rows
                names = [m._meta.db_table for m in [*WORLD_MODELS, User]]
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"DELETE FROM sqlite_sequence WHERE name IN ({', '.join(['%s'] * len(names))})", names
                    )
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        if MARKER_TABLE in tables:
            cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        if CHECKOUT_SAVED_TABLE in tables:  # what a dead checkout benchmark saved is of the old world
            cursor.execute(f"DROP TABLE {CHECKOUT_SAVED_TABLE}")


class WorldExists(Exception):
    """The database holds data that is not a bench world: refuse to wipe it."""


def build(
    *,
    scale: Scale,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[..., Iterable] | None = None,
) -> dict:
    """Build the world (or keep the one there). Returns the marker of the world now in place.

    A database holding the same world (scale, seed, schema hash) is left alone unless ``force``.
    A database holding another bench world is wiped first; one with other data (no marker but
    users) is refused unless ``force``: this empties tables.
    """
    marker = world_marker()
    wanted = {"scale": scale.name, "seed": seed, "schema_hash": schema_hash()}
    if marker and not force and all(marker[k] == v for k, v in wanted.items()):
        log(f"world {scale.name} (seed {seed}) already built at {marker['built_at']}: reusing it")
        if not _derived_present(marker):
            log("its derived data is gone from Redis: rebuilding it")
            ctx = WorldContext(scale=scale, seed=seed, log=log, progress=progress)
            _run(ctx, Loader(ctx.now), EXTRA_STEPS)
            _mark_derived(marker)
        return marker
    if marker is None and User.objects.exists() and not force:
        raise WorldExists(
            "This database has users but no bench world: use a dedicated database (or --force to empty it)."
        )
    if marker is not None or User.objects.exists():
        log("emptying the previous world")
    wipe()  # also restarts the id sequences: the same ids every build
    ctx = WorldContext(scale=scale, seed=seed, log=log, progress=progress)
    loader = Loader(ctx.now)
    started = time.monotonic()
    _write_marker(ctx, -1, building=True)  # a build that dies half-way is replaced by the next one
    _run(ctx, loader, [*STEPS, *EXTRA_STEPS, *FINAL_STEPS])
    seconds = round(time.monotonic() - started, 1)
    _write_marker(ctx, seconds)
    log(f"world {scale.name} built in {seconds} s: " + ", ".join(f"{k} {v}" for k, v in ctx.counts.items()))
    marker = world_marker() or {}
    _mark_derived(marker)
    return marker


def _run(ctx: WorldContext, loader: Loader, steps: list[tuple[str, Step]]) -> None:
    for name, step in steps:
        started = time.monotonic()
        step(ctx, loader)
        ctx.log(f"  {name:<10} {time.monotonic() - started:7.1f} s")


def _derived_key() -> str:
    return f"bench-world:{connection.settings_dict['NAME']}"


def _derived_present(marker: dict) -> bool:
    """Is the derived data of this world still there? In the database it is, with the world; in
    Redis (which keeps nothing on disk here) a key written with it says so."""
    from django.conf import settings
    from django.core.cache import cache

    return not settings.REDIS_URL or cache.get(_derived_key()) == marker["built_at"]


def _mark_derived(marker: dict) -> None:
    from django.core.cache import cache

    cache.set(_derived_key(), marker.get("built_at"), timeout=None)
