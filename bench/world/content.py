"""What people post and do: the shop, topics, notes, likes, collects, comments, counters."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, IntegerField, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.choices import ReviewStatus
from accounts.models import Brand, Follow, User
from bench.world.context import WorldContext
from bench.world.loading import Cumulative, Loader, first_id, quotas, reset_sequences
from bench.world.people import CATEGORIES
from notes.choices import MediaKind, NoteStatus, Visibility
from notes.demo import BOARD_NAMES, COMMENTS, REPLIES, TEMPLATES
from notes.models import (
    Board,
    Comment,
    Note,
    NoteCollect,
    NoteLike,
    NoteMedia,
    NoteProduct,
    NoteTopic,
    Topic,
)
from notes.services.interactions import DEFAULT_BOARD_NAME
from notes.text import parse_topics
from shop.choices import ProductStatus
from shop.models import SKU, Order, OrderEvent, OrderLine, Product, ProductImage, Store
from shop.services.lifecycle import PAID_STATUSES


def step_shop(ctx: WorldContext, loader: Loader) -> None:
    """Approved brands with a store each, products on sale with SKUs and a pool image."""
    scale, rng = ctx.scale, ctx.rng("shop")
    owners = ctx.user_ids[scale.kols : scale.kols + scale.brands]
    brand_first, store_first = first_id(Brand), first_id(Store)
    brands = [
        (brand_first + i, owner, f"Bench Brand {i + 1:03d}", f"bench-brand-{i + 1:03d}", f"BL{i:08d}")
        for i, owner in enumerate(owners)
    ]
    loader.load(
        Brand,
        ["id", "owner_id", "name", "slug", "business_license", "status"],
        ((*b, ReviewStatus.APPROVED) for b in brands),
    )
    loader.load(
        Store,
        ["id", "brand_id", "name"],
        ((store_first + i, b[0], b[2]) for i, b in enumerate(brands)),
    )
    ctx.store_owners = {store_first + i: b[1] for i, b in enumerate(brands)}
    product_first, image_first, sku_first = first_id(Product), first_id(ProductImage), first_id(SKU)
    products, images, skus = [], [], []
    sku_names = ("01 标准装", "02 大容量", "03 旅行装", "04 礼盒装", "05 限定色", "06 补充装")
    for i in range(scale.products):
        pk = product_first + i
        status = ProductStatus.ON_SALE if rng.random() < 0.95 else ProductStatus.OFF_SALE
        category = rng.choice(CATEGORIES)
        products.append(
            (
                pk,
                store_first + i % len(brands),
                f"好物 {i + 1} · {category}",
                "Bench product.",
                category,
                status,
            )
        )
        images.append((image_first + i, pk, ctx.media_ids[i % len(ctx.media_ids)], 0))
        own = []
        for s in range(scale.skus_per_product):
            price = Decimal(rng.randint(990, 99_900)) / 100
            sku_id, name = sku_first + len(skus), sku_names[s % len(sku_names)]
            skus.append((sku_id, pk, name, price, rng.randint(50, 5_000)))
            own.append((sku_id, name, price))
        ctx.catalogue.append((pk, products[-1][1], products[-1][2], own))
        if status == ProductStatus.ON_SALE:
            ctx.product_ids.append(pk)
    loader.load(Product, ["id", "store_id", "title", "description", "category", "status"], products)
    loader.load(ProductImage, ["id", "product_id", "media_id", "position"], images)
    loader.load(SKU, ["id", "product_id", "name", "price", "stock"], skus)
    reset_sequences(Brand, Store, Product, ProductImage, SKU)
    cheapest = SKU.objects.filter(product=OuterRef("pk"), is_active=True).order_by().values("product")
    Product.objects.filter(pk__gte=product_first).update(
        min_price=Subquery(cheapest.annotate(m=Min("price")).values("m"))
    )
    ctx.counts.update(brands=len(brands), products=len(products), skus=len(skus))


TOPIC_WORDS = ("好物", "探店", "穿搭", "护肤", "旅行", "健身", "家居", "数码", "育儿", "美食", "咖啡", "露营")
TOPIC_SUFFIXES = ("分享", "推荐", "日记", "攻略", "合集", "测评", "打卡", "灵感")


def step_topics(ctx: WorldContext, loader: Loader) -> None:
    """The templates' topics and generated ones (``旅行攻略3``), Zipf-popular."""
    names = list(dict.fromkeys(t for _, title, body, _ in TEMPLATES for t in parse_topics(title, body)))
    combos = [w + s for w in TOPIC_WORDS for s in TOPIC_SUFFIXES]
    n = 0
    while len(names) < ctx.scale.topics:
        base = combos[n % len(combos)]
        names.append(base if n < len(combos) else f"{base}{n // len(combos)}")
        n += 1
    names = list(dict.fromkeys(names))  # at least the templates' own topics, whatever the scale
    first = first_id(Topic)
    loader.load(Topic, ["id", "name"], ((first + i, name) for i, name in enumerate(names)))
    reset_sequences(Topic)
    ctx.topic_ids = {name: first + i for i, name in enumerate(names)}
    ctx.counts["topics"] = len(names)


def step_notes(ctx: WorldContext, loader: Loader) -> None:
    """Notes with 1-4 pool photos, topics parsed from their text, some tagging products; ids follow
    publication time. Most are public; a few drafts, private and followers-only ones."""
    scale, rng = ctx.scale, ctx.rng("notes")
    users = ctx.user_ids
    weights = [
        (30.0 if pk in ctx.kol_ids else 1.0)
        * (1 + ctx.follower_counts.get(pk, 0)) ** 0.3
        * rng.paretovariate(2)
        for pk in users
    ]
    authors = Cumulative(users, weights).draw(rng, scale.notes)
    span = scale.days * 86400
    ages = sorted((span * rng.random() ** 2.2 for _ in range(scale.notes)), reverse=True)
    first, media_first = first_id(Note), first_id(NoteMedia)
    topic_first, product_first = first_id(NoteTopic), first_id(NoteProduct)
    topic_names = list(ctx.topic_ids)
    topic_pick = Cumulative(topic_names, [1 / (r + 1) for r in range(len(topic_names))])
    notes, note_media, note_topics, note_products = [], [], [], []
    open_notes = []
    for i, (author, age) in enumerate(zip(authors, ages, strict=True)):
        pk = first + i
        category, title, body, place = TEMPLATES[rng.randrange(len(TEMPLATES))]
        extra = topic_pick.distinct(rng, rng.randint(0, 3))
        body = " ".join([body, *(f"#{t}" for t in extra)])
        roll = rng.random()
        status, visibility = NoteStatus.PUBLISHED, Visibility.PUBLIC
        if roll < 0.015:
            status = NoteStatus.DRAFT
        elif roll < 0.025:
            visibility = Visibility.PRIVATE
        elif roll < 0.045:
            visibility = Visibility.FOLLOWERS
        created = ctx.now - timedelta(seconds=age)
        published = created if status == NoteStatus.PUBLISHED else None
        media = rng.sample(ctx.media_ids, k=min(len(ctx.media_ids), rng.choice((1, 1, 2, 3, 4))))
        lat = lng = None
        place_name = place_city = ""
        if place:
            place_name, place_city = place[0], place[1]
            lat, lng = Decimal(str(round(place[2], 3))), Decimal(str(round(place[3], 3)))
        notes.append(
            (
                pk,
                author,
                MediaKind.IMAGE,
                title,
                body,
                category,
                visibility,
                status,
                published,
                media[0],
                place_name,
                place_city,
                lat,
                lng,
                created,
                created,
            )
        )
        for position, media_id in enumerate(media):
            note_media.append((media_first + len(note_media), pk, media_id, position))
        for name in parse_topics(title, body):
            note_topics.append((topic_first + len(note_topics), pk, ctx.topic_ids[name]))
        if ctx.product_ids and rng.random() < 0.05:
            for position, product in enumerate(rng.sample(ctx.product_ids, k=rng.randint(1, 2))):
                note_products.append((product_first + len(note_products), pk, product, position))
                if (status, visibility) == (NoteStatus.PUBLISHED, Visibility.PUBLIC) and (
                    author not in ctx.private_ids
                ):
                    ctx.product_notes.setdefault(product, []).append(pk)
        if (
            status == NoteStatus.PUBLISHED
            and visibility == Visibility.PUBLIC
            and author not in ctx.private_ids
        ):
            open_notes.append((pk, author, created))
    fields = [
        "id",
        "author_id",
        "kind",
        "title",
        "body",
        "category",
        "visibility",
        "status",
        "published_at",
        "cover_id",
        "place_name",
        "place_city",
        "lat",
        "lng",
        "created_at",
        "updated_at",
    ]
    ctx.counts["notes"] = loader.load(Note, fields, ctx.track(notes, "notes"))
    loader.load(NoteMedia, ["id", "note_id", "media_id", "position"], note_media)
    loader.load(NoteTopic, ["id", "note_id", "topic_id"], note_topics)
    loader.load(NoteProduct, ["id", "note_id", "product_id", "position"], note_products)
    reset_sequences(Note, NoteMedia, NoteTopic, NoteProduct)
    ctx.open_notes = open_notes
    # Popularity: followed authors, recent notes, and luck (a long tail of viral notes).
    ctx.open_note_weights = [
        (1 + ctx.follower_counts.get(author, 0)) ** 0.5
        * (math.exp(-(ctx.now - created).total_seconds() / (10 * 86400)) + 0.05)
        * rng.lognormvariate(0, 1)
        for _, author, created in open_notes
    ]
    ctx.counts.update(
        note_media=len(note_media), note_topics=len(note_topics), note_products=len(note_products)
    )


def _engagement(
    ctx: WorldContext, label: str, total: int
) -> Iterator[tuple[int, list[tuple[int, datetime]]]]:
    """For each user with a quota: ``(user, [(note, at), ...])``, distinct notes, times ascending."""
    rng = ctx.rng(label)
    notes = Cumulative(ctx.open_notes, ctx.open_note_weights)
    per_user = quotas(rng, len(ctx.user_ids), total, alpha=1.3, cap=max(1, len(ctx.open_notes) * 3 // 10))
    for user, quota in zip(ctx.user_ids, per_user, strict=True):
        if not quota:
            continue
        picked = notes.distinct(rng, quota)
        events = []
        for note_id, _, created in picked:
            age = (ctx.now - created).total_seconds()
            events.append((note_id, created + timedelta(seconds=age * rng.random())))
        events.sort(key=lambda e: (e[1], e[0]))
        yield user, events


def step_likes(ctx: WorldContext, loader: Loader) -> None:
    first = first_id(NoteLike)
    ids = itertools.count(first)

    def rows():
        for user, events in _engagement(ctx, "likes", ctx.scale.likes):
            for note_id, at in events:
                yield (next(ids), note_id, user, at)

    ctx.counts["likes"] = loader.load(
        NoteLike, ["id", "note_id", "user_id", "created_at"], ctx.track(rows(), "likes", ctx.scale.likes)
    )
    reset_sequences(NoteLike)


def step_collects(ctx: WorldContext, loader: Loader) -> None:
    """Collectors get their default board and 0-3 named ones; half the collects go to the default."""
    rng = ctx.rng("boards")
    board_first, collect_first = first_id(Board), first_id(NoteCollect)
    engagement = list(_engagement(ctx, "collects", ctx.scale.collects))
    boards, collects = [], []
    names = [*BOARD_NAMES, "周末去哪儿", "护肤清单", "Outfit ideas", "想买的", "Travel 2026", "家居灵感"]
    for user, events in engagement:
        own = [board_first + len(boards)]
        boards.append((own[0], user, DEFAULT_BOARD_NAME, True, False, events[0][1]))
        for name in rng.sample(names, k=rng.randint(0, 3)):
            own.append(board_first + len(boards))
            boards.append((own[-1], user, name, False, rng.random() < 0.1, events[0][1]))
        for note_id, at in events:
            board = own[0] if len(own) == 1 or rng.random() < 0.5 else rng.choice(own[1:])
            collects.append((collect_first + len(collects), note_id, user, board, at))
    loader.load(Board, ["id", "owner_id", "name", "is_default", "is_private", "created_at"], boards)
    ctx.counts["boards"] = len(boards)
    ctx.counts["collects"] = loader.load(
        NoteCollect,
        ["id", "note_id", "user_id", "board_id", "created_at"],
        ctx.track(collects, "collects"),
    )
    reset_sequences(Board, NoteCollect)


def step_comments(ctx: WorldContext, loader: Loader) -> None:
    """Root comments (70%) and replies under them (30%), ids in time order; 1% soft-deleted."""
    rng = ctx.rng("comments")
    total = ctx.scale.comments
    notes = Cumulative(ctx.open_notes, ctx.open_note_weights)
    people = Cumulative(ctx.user_ids, [rng.paretovariate(1.5) for _ in ctx.user_ids])
    roots = []  # (at, note_id, author, body)
    n_roots = max(1, total * 7 // 10)
    for (note_id, _, created), author in zip(
        notes.draw(rng, n_roots), people.draw(rng, n_roots), strict=True
    ):
        age = (ctx.now - created).total_seconds()
        at = created + timedelta(seconds=age * rng.random() ** 0.5)
        body = f"{rng.choice(COMMENTS)} {rng.choice(('', '👍', '🌸', '!'))}".strip()
        roots.append((at, note_id, author, body))
    replies = []  # (at, root index, author, body)
    for author in people.draw(rng, total - n_roots):
        r = rng.randrange(len(roots))
        root_at = roots[r][0]
        at = root_at + timedelta(seconds=(ctx.now - root_at).total_seconds() * rng.random())
        replies.append((at, r, author, rng.choice(REPLIES)))
    first = first_id(Comment)
    root_ids = {}
    ordered = sorted(
        [(at, 0, i) for i, (at, *_rest) in enumerate(roots)]
        + [(at, 1, i) for i, (at, *_rest) in enumerate(replies)]
    )
    rows = []
    for n, (at, is_reply, i) in enumerate(ordered):
        pk = first + n
        deleted = at + timedelta(minutes=5) if rng.random() < 0.01 else None
        if is_reply:
            _, r, author, body = replies[i]
            root = roots[r]
            rows.append((pk, root[1], author, root_ids[r], root[2], body, at, deleted))
        else:
            _, note_id, author, body = roots[i]
            root_ids[i] = pk
            rows.append((pk, note_id, author, None, None, body, at, deleted))
    fields = ["id", "note_id", "author_id", "parent_id", "reply_to_id", "body", "created_at", "deleted_at"]
    ctx.counts["comments"] = loader.load(Comment, fields, ctx.track(rows, "comments"))
    reset_sequences(Comment)


def _count_of(model, key: str, **filters) -> Coalesce:
    """``COUNT(*)`` of ``model`` rows whose ``key`` is the outer row, as a correlated subquery."""
    rows = model.objects.filter(**{key: OuterRef("pk")}, **filters).order_by().values(key)
    return Coalesce(Subquery(rows.annotate(n=Count("*")).values("n")), Value(0), output_field=IntegerField())


def recount() -> None:
    """Set every denormalised counter from the rows, set-based (one UPDATE per counter).

    The same definitions the services keep with ``F()``: ``note_count`` counts live notes (and
    ``public_note_count``/``followers_note_count`` those of each audience), a topic's the public
    ones among them; comment counts count live comments; ``like_collect_count``
    counts the likes and collects on all of a person's notes; a board counts its collects of notes
    not deleted; a product the notes tagging it, and as sold the quantities of its order lines in
    orders paid for and not given back (``shop.services.lifecycle``: paying adds them, cancelling
    or refunding a paid order takes them off, so what counts is an order now in ``PAID_STATUSES``).
    """
    live = {"status": NoteStatus.PUBLISHED, "deleted_at__isnull": True}
    User.objects.update(
        follower_count=_count_of(Follow, "followee"),
        following_count=_count_of(Follow, "follower"),
        note_count=_count_of(Note, "author", **live),
        public_note_count=_count_of(Note, "author", **live, visibility=Visibility.PUBLIC),
        followers_note_count=_count_of(Note, "author", **live, visibility=Visibility.FOLLOWERS),
    )
    Note.objects.update(
        like_count=_count_of(NoteLike, "note"),
        collect_count=_count_of(NoteCollect, "note"),
        comment_count=_count_of(Comment, "note", deleted_at__isnull=True),
    )
    engagement = (
        Note.objects.filter(author=OuterRef("pk"))
        .order_by()
        .values("author")
        .annotate(n=Sum(F("like_count") + F("collect_count")))
        .values("n")
    )
    User.objects.update(
        like_collect_count=Coalesce(Subquery(engagement), Value(0), output_field=IntegerField())
    )
    Comment.objects.filter(parent__isnull=True).update(
        reply_count=_count_of(Comment, "parent", deleted_at__isnull=True)
    )
    Topic.objects.update(
        note_count=_count_of(
            NoteTopic,
            "topic",
            note__status=NoteStatus.PUBLISHED,
            note__deleted_at__isnull=True,
            note__visibility=Visibility.PUBLIC,
        )
    )
    Board.objects.update(note_count=_count_of(NoteCollect, "board", note__deleted_at__isnull=True))
    sold = (
        OrderLine.objects.filter(product=OuterRef("pk"), order__status__in=PAID_STATUSES)
        .order_by()
        .values("product")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    Product.objects.update(
        note_count=_count_of(NoteProduct, "product"),
        sales_count=Coalesce(Subquery(sold), Value(0), output_field=IntegerField()),
    )


def step_counters(ctx: WorldContext, loader: Loader) -> None:
    if connection.vendor == "postgresql":  # the correlated counts need row estimates to plan well
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    recount()


def step_analyze(ctx: WorldContext, loader: Loader) -> None:
    """Fresh planner statistics and visibility maps, as a long-running database would have."""
    if connection.vendor != "postgresql":
        return
    # VACUUM cannot run in a transaction (the test suite's): plain ANALYZE there.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    tables = [
        m._meta.db_table
        for m in (User, Follow, Note, NoteLike, NoteCollect, Comment, Board, NoteMedia, NoteTopic)
        + (Order, OrderLine, OrderEvent)
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
