"""Writing the catalogue: brand owners create and edit their products, SKUs and galleries; the
review figures on a product are recounted from its review notes.

Invariants: ``Product.min_price`` is the cheapest *active* SKU's price (null without one), set in
the transaction that changed the SKUs; a product on sale has an active SKU and an image.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Min, Q, Sum

from accounts.models import User
from config.errors import InvalidInput
from notes.choices import MediaKind, MediaStatus
from notes.models import Media
from shop.choices import ProductStatus
from shop.models import SKU, Product, ProductImage, Store
from shop.selectors import counted_reviews

#: What an edit may set on a product directly (SKUs and images have their own rules).
PRODUCT_FIELDS = frozenset({"title", "description", "category", "status"})
SKU_FIELDS = frozenset({"name", "attributes", "price", "stock", "per_order_limit", "is_active"})


def _gallery(*, owner: User, media_ids: list[int]) -> list[Media]:
    """``owner``'s ready images, in the order given."""
    if len(set(media_ids)) != len(media_ids):
        raise InvalidInput("The same image is listed twice.", fields={"images": ["Duplicates."]})
    found = Media.objects.filter(owner=owner, pk__in=media_ids).in_bulk()
    problems = []
    for pk in media_ids:
        media = found.get(pk)
        if media is None:
            problems.append(f"No medium {pk}.")
        elif media.kind != MediaKind.IMAGE:
            problems.append(f"Medium {pk} is not an image.")
        elif media.status != MediaStatus.READY:
            problems.append(f"Medium {pk} is {media.status}, not ready.")
    if problems:
        raise InvalidInput("Some images cannot be used.", fields={"images": problems})
    return [found[pk] for pk in media_ids]


def _set_images(product: Product, media: list[Media]) -> None:
    ProductImage.objects.filter(product=product).delete()
    ProductImage.objects.bulk_create(
        ProductImage(product=product, media=m, position=i) for i, m in enumerate(media)
    )


def _apply_skus(product: Product, changes: list[dict]) -> None:
    """Add the SKUs without an ``id``, change the fields sent of those with one (which must be
    the product's). Names stay unique per product."""
    ids = [change["id"] for change in changes if "id" in change]
    if len(set(ids)) != len(ids):
        raise InvalidInput("A SKU is listed twice.", fields={"skus": ["Duplicate ids."]})
    # FOR NO KEY UPDATE, in id order: a checkout in flight holds KEY SHARE on the SKUs and product
    # its lines point at (and takes the stock in id order), which FOR UPDATE would wait for or
    # deadlock with.
    skus = SKU.objects.select_for_update(no_key=True).filter(product=product).order_by("pk").in_bulk()
    unknown = [pk for pk in ids if pk not in skus]
    if unknown:
        raise InvalidInput(
            "Unknown SKUs.", fields={"skus": [f"No SKU {pk} on this product." for pk in unknown]}
        )
    names = {pk: sku.name for pk, sku in skus.items()}
    new = []
    for n, change in enumerate(changes):
        fields = {name: value for name, value in change.items() if name in SKU_FIELDS}
        if "id" in change:
            names[change["id"]] = fields.get("name", names[change["id"]])
        else:
            new.append(SKU(product=product, **fields))
            names[f"new{n}"] = fields["name"]
    if len(set(names.values())) != len(names):
        raise InvalidInput("Two SKUs share a name.", fields={"skus": ["Names must differ."]})
    # Renames go through a name of their own first: a swap (or a chain, one SKU taking the name
    # another gives up in the same edit) would meet the unique (product, name) constraint halfway,
    # which PostgreSQL and SQLite check row by row (a 500, found in the access audit).
    renamed = [pk for pk in ids if names[pk] != skus[pk].name]
    if renamed:
        token = secrets.token_hex(8)
        for pk in renamed:
            SKU.objects.filter(pk=pk).update(name=f"renaming {pk} {token}")
    for change in changes:
        if "id" in change:
            sku = skus[change["id"]]
            fields = [name for name in change if name in SKU_FIELDS]
            for name in fields:
                setattr(sku, name, change[name])
            sku.save(update_fields=fields)
    SKU.objects.bulk_create(new)


def _check_sellable(product: Product) -> None:
    """A product on sale must be one people can see and buy."""
    if product.status != ProductStatus.ON_SALE:
        return
    if not product.skus.filter(is_active=True).exists():
        raise InvalidInput("A product on sale needs an active SKU.", fields={"skus": ["Add a SKU."]})
    if not product.product_images.exists():
        raise InvalidInput("A product on sale needs an image.", fields={"images": ["Add an image."]})


def product_price_refresh(*, product: Product) -> None:
    """Set ``min_price`` from the active SKUs (after any change to them: the catalogue services
    call it, and so does the admin after saving SKU inlines)."""
    product.min_price = product.skus.filter(is_active=True).aggregate(low=Min("price"))["low"]
    Product.objects.filter(pk=product.pk).update(min_price=product.min_price)


@transaction.atomic
def product_create(
    *,
    store: Store,
    owner: User,
    title: str,
    category: str,
    description: str = "",
    status: str = ProductStatus.DRAFT,
    media_ids: Iterable[int] = (),
    skus: Iterable[dict] = (),
) -> Product:
    """A new product of ``store`` (which ``owner`` runs), with its gallery of ``owner``'s ready
    images and its SKUs (dicts of ``SKU`` fields)."""
    media = _gallery(owner=owner, media_ids=list(media_ids))
    product = Product.objects.create(
        store=store, title=title, category=category, description=description, status=status
    )
    _set_images(product, media)
    _apply_skus(product, list(skus))
    _check_sellable(product)
    product_price_refresh(product=product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    editor: User,
    data: dict,
    media_ids: list[int] | None = None,
    skus: list[dict] | None = None,
) -> Product:
    """Edit ``product`` (row locked for the whole edit, so concurrent edits recompute
    ``min_price`` one after the other): ``data`` holds ``PRODUCT_FIELDS``; ``media_ids`` replaces
    the gallery with ``editor``'s ready images; ``skus`` adds or changes SKUs (deactivate one
    with ``is_active: false``). ``None`` leaves either as it is."""
    unknown = set(data) - PRODUCT_FIELDS
    if unknown:
        raise InvalidInput("Unknown fields.", fields={name: ["Cannot be set."] for name in sorted(unknown)})
    product = Product.objects.select_for_update(no_key=True).get(pk=product.pk)
    if data:
        for name, value in data.items():
            setattr(product, name, value)
        product.save(update_fields=[*data, "updated_at"])
    if media_ids is not None:
        _set_images(product, _gallery(owner=editor, media_ids=media_ids))
    if skus is not None:
        _apply_skus(product, skus)
    _check_sellable(product)
    product_price_refresh(product=product)
    return product


def product_reviews_recount(*, product_id: int) -> None:
    """Set a product's ``review_count`` (counted reviews, ``shop.selectors.counted_reviews``) and
    ``rating_count``/``rating_sum`` (the verified purchases among them) from the notes. Call it
    after a review note is written, verified, hidden or deleted; safe to repeat."""
    verified = Q(is_verified_purchase=True)
    figures = counted_reviews(product_id=product_id).aggregate(
        reviews=Count("pk"), ratings=Count("pk", filter=verified), stars=Sum("rating", filter=verified)
    )
    Product.objects.filter(pk=product_id).update(
        review_count=figures["reviews"], rating_count=figures["ratings"], rating_sum=figures["stars"] or 0
    )
