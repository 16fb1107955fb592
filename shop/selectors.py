"""Reads of the shop app, shaped for the endpoints (and apps) that use them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.db.models import Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, JSONObject, NullIf
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware

from accounts.choices import ReviewStatus
from accounts.models import Brand
from accounts.selectors import viewer_from_id
from config.db import JSONList, PreparedQuery, concrete_columns, instance_from_row
from config.errors import Forbidden, InvalidInput, NotFound
from notes.choices import MediaStatus, Visibility
from notes.models import Note
from shop.choices import ProductSort, ProductStatus
from shop.models import SKU, Product, ProductImage, Store

MAX_TAGGED_PRODUCTS = 5
#: The media variant a product card shows (the one note cards use in a two-column feed).
CARD_VARIANT = "feed"
RATINGS = range(1, 6)


def product_get_reviewable(*, product_id: int) -> Product:
    """A product one may review: any product that was ever on sale (bought items get reviewed
    after they sell out or go off sale), never a draft."""
    product = Product.objects.exclude(status=ProductStatus.DRAFT).filter(pk=product_id).first()
    if product is None:
        raise InvalidInput("No such product.", fields={"product": ["Unknown product."]})
    return product


def products_taggable(*, product_ids: list[int]) -> list[Product]:
    """Products a note may tag, in the order given: on sale now, at most ``MAX_TAGGED_PRODUCTS``."""
    if len(product_ids) > MAX_TAGGED_PRODUCTS:
        raise InvalidInput(f"Tag at most {MAX_TAGGED_PRODUCTS} products.", fields={"products": ["Too many."]})
    if len(set(product_ids)) != len(product_ids):
        raise InvalidInput("A product is tagged twice.", fields={"products": ["Duplicates."]})
    found = Product.objects.on_sale().in_bulk(product_ids)
    missing = [pk for pk in product_ids if pk not in found]
    if missing:
        raise InvalidInput(
            "Some products cannot be tagged.",
            fields={"products": [f"Product {pk} is not on sale." for pk in missing]},
        )
    return [found[pk] for pk in product_ids]


def _in_stock() -> Exists:
    return Exists(SKU.objects.filter(product=OuterRef("pk"), is_active=True, stock__gt=0))


def products_for_cards(*, stock: bool = True) -> QuerySet:
    """Products shaped for ``ProductCardOut`` in one query: the store, the storage name of the
    cover's card variant (``cover_name``, null without a ready image) and ``in_stock`` (unless
    ``stock`` is False: then :func:`products_attach_stock` sets it on a page)."""
    cover = ProductImage.objects.filter(product=OuterRef("pk"), media__status=MediaStatus.READY).order_by(
        "position"
    )
    qs = Product.objects.select_related("store").annotate(
        cover_name=Subquery(cover.values(name=KeyTextTransform(CARD_VARIANT, "media__variants"))[:1])
    )
    return qs.annotate(in_stock=_in_stock()) if stock else qs


def products_attach_stock(products: list[Product]) -> list[Product]:
    """Set ``in_stock`` on a page of products read without it, in one query. A list's page reads
    it here rather than in its own query: there PostgreSQL, expecting to test every product on sale,
    hashes all the SKUs in stock (9 ms at M) for the twenty it shows."""
    stocked = set(
        SKU.objects.filter(product__in=products, is_active=True, stock__gt=0).values_list(
            "product_id", flat=True
        )
    )
    for product in products:
        product.in_stock = product.pk in stocked
    return products


PRODUCT_ORDERINGS: dict[str, tuple] = {
    ProductSort.POPULAR: ("-sales_count", "-engagement", "-id"),
    ProductSort.NEWEST: ("-id",),
    ProductSort.PRICE_ASC: (F("min_price").asc(nulls_last=True), "id"),
    ProductSort.PRICE_DESC: (F("min_price").desc(nulls_last=True), "-id"),
    ProductSort.RATING: (F("average_rating").desc(nulls_last=True), "-rating_count", "-id"),
}


def products_list(
    *,
    sort: str,
    category: str | None = None,
    brand: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool | None = None,
) -> QuerySet:
    """The shop's product list: on sale in active stores of approved brands, filtered, in the
    order ``sort`` names (popular: sales, then reviews plus notes tagging it). ``brand`` is a
    brand slug; the price range applies to the cheapest active SKU."""
    qs = products_for_cards(stock=False).on_sale()
    if category:
        qs = qs.filter(category=category)
    if brand:
        qs = qs.filter(store__brand__slug=brand)
    if min_price is not None:
        qs = qs.filter(min_price__gte=min_price)
    if max_price is not None:
        qs = qs.filter(min_price__lte=max_price)
    if in_stock is not None:
        qs = qs.filter(_in_stock() if in_stock else ~_in_stock())
    if sort == ProductSort.POPULAR:
        qs = qs.annotate(engagement=F("review_count") + F("note_count"))
    elif sort == ProductSort.RATING:
        qs = qs.annotate(average_rating=Cast("rating_sum", FloatField()) / NullIf("rating_count", 0))
    return qs.order_by(*PRODUCT_ORDERINGS[sort])


def _viewer_id(viewer) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _visible(qs: QuerySet, viewer) -> QuerySet:
    """``qs`` narrowed to what ``viewer`` may open: on sale (``ProductQuerySet.on_sale``) or,
    whatever its state, a product of their own brand."""
    viewer_id = _viewer_id(viewer)
    visible = qs.on_sale()
    return visible if viewer_id is None else visible | qs.filter(store__brand__owner_id=viewer_id)


def product_get_for_viewer(*, product_id: int, viewer) -> Product:
    """A product's detail page; 404 unless ``viewer`` may open it (``_visible``). With its store
    and brand, ``cover_name`` and ``in_stock`` (``products_for_cards``), its gallery (``gallery``:
    rows of ``MEDIA_COLUMNS`` in order), its SKUs (``sku_list``: the active ones, and for its brand
    owner the inactive ones too) and its rating summary (``ratings``); ``is_owner`` says whether
    the viewer runs its store; ``shows_stock`` whether they may read exact stock (its owner and
    staff: to everyone else a competitor's inventory is ``stock_state`` only).

    Two queries, compiled once (the product with its gallery and review counts, the SKUs): built by
    the ORM, with the summary and the gallery apart, it was four and ~10 ms of Python a page."""
    rows = _PRODUCT_PAGE.rows(_viewer_id(viewer), product_id)
    if not rows:
        raise NotFound("No such product.")
    row = rows[0]
    product = instance_from_row(Product, row)
    product.store = instance_from_row(Store, row, "store__")
    product.store.brand = instance_from_row(Brand, row, "store__brand__")
    product.cover_name, product.in_stock = row["cover_name"], row["in_stock"]
    product.gallery = gallery_rows(row["gallery"])
    product.is_owner = product.store.brand.owner_id == _viewer_id(viewer)
    product.shows_stock = product.is_owner or bool(getattr(viewer, "is_staff", False))
    skus = [instance_from_row(SKU, sku) for sku in _SKUS.rows(product_id)]
    product.sku_list = skus if product.is_owner else [sku for sku in skus if sku.is_active]
    counts = row["review_counts"] or {}
    product.ratings = RatingSummary(
        all=RatingFigures.of({r: counts.get(f"all_{r}", 0) for r in RATINGS}),
        verified=RatingFigures.of({r: counts.get(f"verified_{r}", 0) for r in RATINGS}),
    )
    return product


def _review_counts() -> Subquery:
    """Star counts 1-5 of the counted reviews (``counted_reviews``), all and verified, as one JSON
    object (``all_1``... ``verified_5``; null without reviews) of one sub-select of a product query:
    a single pass over the product's reviews instead of one per figure."""
    verified = Q(is_verified_purchase=True)
    counts = {
        f"{kind}_{r}": Count("pk", filter=Q(rating=r) & extra)
        for kind, extra in (("all", Q()), ("verified", verified))
        for r in RATINGS
    }
    counted = counted_reviews(product_id=OuterRef("pk")).order_by().values("product_id")
    return Subquery(counted.annotate(counts=JSONObject(**counts)).values("counts"))


def _gallery() -> Subquery:
    """The product's images (every one, ready or not) as one JSON array of ``MEDIA_COLUMNS`` and
    their ``position``."""
    from notes.selectors import MEDIA_COLUMNS  # notes.selectors reads this module's product cards

    media = {name: f"media__{name}" for name in MEDIA_COLUMNS}
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by().values("product_id")
    return Subquery(images.annotate(g=JSONList(JSONObject(position="position", **media))).values("g"))


def gallery_rows(items: list[dict] | None) -> list[dict]:
    """The rows of :func:`_gallery` in order, as ``MEDIA_COLUMNS`` with their values as the ORM
    gives them (SQLite's JSON holds the variants as text and the times without a zone)."""
    rows = []
    for item in sorted(items or (), key=lambda i: i.pop("position")):
        variants = item["variants"]
        created = parse_datetime(item["created_at"])
        rows.append(
            {
                **item,
                "variants": json.loads(variants) if isinstance(variants, str) else variants,
                "created_at": created if is_aware(created) else make_aware(created, UTC),
            }
        )
    return rows


def _product_page(viewer_id: int | None, product_id: int) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    qs = _visible(products_for_cards().filter(pk=product_id), viewer)
    return qs.annotate(gallery=_gallery(), review_counts=_review_counts()).values(
        *concrete_columns(Product),
        *concrete_columns(Store, "store__"),
        *concrete_columns(Brand, "store__brand__"),
        "cover_name",
        "in_stock",
        "gallery",
        "review_counts",
    )


_PRODUCT_PAGE = PreparedQuery(_product_page)
_SKUS = PreparedQuery(
    lambda product_id: SKU.objects.filter(product_id=product_id).order_by("id").values(*concrete_columns(SKU))
)


def product_get_visible(*, product_id: int, viewer) -> Product:
    """The product row alone, when ``viewer`` may open its page; 404 otherwise."""
    product = _visible(Product.objects.filter(pk=product_id), viewer).first()
    if product is None:
        raise NotFound("No such product.")
    return product


def counted_reviews(*, product_id: int) -> QuerySet:
    """The reviews a product's figures count: live review notes of active authors, except notes
    only their author sees. (Whether a reader may open one is ``Note.visible_to``'s business.)"""
    return (
        Note.objects.live()
        .filter(product_id=product_id, rating__isnull=False, author__is_active=True)
        .exclude(visibility=Visibility.PRIVATE)
    )


@dataclass(frozen=True)
class RatingFigures:
    count: int
    average: float | None
    distribution: dict[str, int]

    @classmethod
    def of(cls, counts: dict[int, int]) -> RatingFigures:
        total = sum(counts.values())
        average = round(sum(r * n for r, n in counts.items()) / total, 2) if total else None
        return cls(count=total, average=average, distribution={str(r): counts[r] for r in RATINGS})


@dataclass(frozen=True)
class RatingSummary:
    """Every counted review, and the verified purchases among them (what ``Product.rating`` uses)."""

    all: RatingFigures
    verified: RatingFigures


def stores_managed_by(*, user) -> QuerySet:
    """The stores ``user`` may sell through: active, of a brand they own that is approved."""
    if _viewer_id(user) is None:
        return Store.objects.none()
    return Store.objects.filter(brand__owner=user, brand__status=ReviewStatus.APPROVED, is_active=True)


def store_get_for_seller(*, user, store_id: int | None = None) -> Store:
    """The store a brand owner manages products in: ``store_id``, or their only store. Someone
    running no store gets 403; another brand's store is 404."""
    stores = stores_managed_by(user=user)
    if store_id is not None:
        store = stores.filter(pk=store_id).first()
        if store is None:
            if not stores.exists():
                raise Forbidden("Only the owner of an approved brand with a store sells products.")
            raise NotFound("No such store.")
        return store
    found = list(stores[:2])
    if not found:
        raise Forbidden("Only the owner of an approved brand with a store sells products.")
    if len(found) > 1:
        raise InvalidInput("You run several stores: say which.", fields={"store": ["Required."]})
    return found[0]


def product_get_for_seller(*, product_id: int, user) -> Product:
    """A product of a store ``user`` manages, for an edit; 403 if they run no store, 404 if it is
    another brand's."""
    stores = stores_managed_by(user=user)
    product = Product.objects.filter(pk=product_id, store__in=stores).first()
    if product is None:
        if not stores.exists():
            raise Forbidden("Only the owner of an approved brand with a store sells products.")
        raise NotFound("No such product.")
    return product
