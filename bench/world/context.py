"""Sizes of the world and what its build steps share."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

#: Bump when the generator changes what it builds: a world built by another version is rebuilt.
WORLD_VERSION = 3
MARKER_TABLE = "bench_world"
#: Where the checkout benchmark saves the stock it changes (``bench.checkout``); ``wipe`` drops it.
CHECKOUT_SAVED_TABLE = "bench_checkout_saved"
#: Every bench user's password (hashed once: the hasher would dominate the build otherwise).
BENCH_PASSWORD = "zhongcao-bench"
EMAIL_DOMAIN = "bench.zhongcao.local"
DEFAULT_SEED = 42


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind a world has."""

    name: str
    users: int
    follows: int
    kols: int
    kol_followers: tuple[int, int]
    notes: int
    likes: int
    collects: int
    comments: int
    topics: int
    brands: int
    products: int
    skus_per_product: int
    media_pool: int
    orders: int
    days: int = 30  # notes are spread over this many days before the build
    order_days: int = 120  # orders, over this many days (more of them recent)


def _scaled(name: str, factor: float, *, media_pool: int = 20) -> Scale:
    def n(value: int) -> int:
        return max(1, round(value * factor))

    return Scale(
        name=name,
        users=n(10_000),
        follows=n(500_000),
        kols=20,
        kol_followers=(n(2_000), n(10_000)),
        notes=n(200_000),
        likes=n(2_000_000),
        collects=n(1_000_000),
        comments=n(300_000),
        topics=n(1_000),
        brands=n(50),
        products=n(5_000),
        skus_per_product=4,
        media_pool=media_pool,
        orders=n(100_000),
    )


SCALES: dict[str, Scale] = {
    "XS": Scale(
        name="XS",
        users=60,
        follows=600,
        kols=3,
        kol_followers=(20, 40),
        notes=300,
        likes=1_500,
        collects=600,
        comments=400,
        topics=30,
        brands=2,
        products=10,
        skus_per_product=4,
        media_pool=4,
        orders=40,
    ),
    "S": _scaled("S", 0.1),
    "M": _scaled("M", 1),
    "L": _scaled("L", 5),
}


# --- context and loading -----------------------------------------------------------------------


@dataclass
class WorldContext:
    """What the steps share. Steps after ``users``/``notes`` read ids from here, not the database."""

    scale: Scale
    seed: int = DEFAULT_SEED
    now: datetime = field(default_factory=lambda: timezone.now().replace(second=0, microsecond=0))
    log: Callable[[str], None] = print
    progress: Callable[..., Iterable] | None = None
    # Filled by the steps:
    user_ids: list[int] = field(default_factory=list)
    kol_ids: list[int] = field(default_factory=list)
    private_ids: set[int] = field(default_factory=set)
    joined: dict[int, datetime] = field(default_factory=dict)  # user -> date_joined
    follower_counts: dict[int, int] = field(default_factory=dict)
    media_ids: list[int] = field(default_factory=list)
    avatars: list[str] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    #: Every product (on sale or not), in id order: (id, store id, title, [(sku id, name, price)]).
    catalogue: list[tuple[int, int, str, list[tuple[int, str, Decimal]]]] = field(default_factory=list)
    store_owners: dict[int, int] = field(default_factory=dict)  # store -> its brand's owner
    #: Open notes tagging each product (what an order line may credit as its source note).
    product_notes: dict[int, list[int]] = field(default_factory=dict)
    topic_ids: dict[str, int] = field(default_factory=dict)
    #: Notes others may engage with: (id, author_id, published_at), in id order.
    open_notes: list[tuple[int, int, datetime]] = field(default_factory=list)
    open_note_weights: list[float] = field(default_factory=list)  # cumulative popularity
    counts: dict[str, int] = field(default_factory=dict)

    def rng(self, *labels: object) -> random.Random:
        """A generator for one purpose, seeded from the seed and ``labels`` (stable across runs)."""
        return random.Random(":".join(str(part) for part in (self.seed, "bench", *labels)))

    def track(self, items: Iterable, desc: str, total: int | None = None) -> Iterable:
        return self.progress(items, desc=desc, total=total) if self.progress else items
