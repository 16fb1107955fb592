"""Reads of the shop app, shaped for the endpoints (and apps) that use them."""

from __future__ import annotations

from django.db.models import QuerySet

from config.errors import InvalidInput
from shop.choices import ProductStatus
from shop.models import Product

MAX_TAGGED_PRODUCTS = 5


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


def products_for_cards() -> QuerySet:
    return Product.objects.select_related("store")
