"""Keeping a product's review figures in step with its review notes (connected by
``ShopConfig.ready``). The notes services send these signals once their transaction commits."""

from __future__ import annotations

from django.dispatch import receiver

from notes.models import Note
from notes.signals import note_edited, note_live_changed
from shop.services import catalogue


@receiver(note_live_changed, dispatch_uid="shop-review-live-changed")
@receiver(note_edited, dispatch_uid="shop-review-edited")
def review_changed_recount(sender, note_id: int, **kwargs) -> None:
    """A review went live, stopped being live or was edited: recount its product. (A review moved
    to another product had both recounted by ``review_verify`` in the move's transaction.)"""
    product_id = Note.objects.filter(pk=note_id).values_list("product_id", flat=True).first()
    if product_id is not None:
        catalogue.product_reviews_recount(product_id=product_id)
