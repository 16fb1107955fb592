"""Keeping a product's review figures in step with its review notes and their authors (connected by
``ShopConfig.ready``). The notes and accounts services send these signals once their transaction
commits."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import profile_changed
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


@receiver(profile_changed, dispatch_uid="shop-reviewer-active-changed")
def reviewer_active_changed_recount(sender, user_id: int, fields=(), **kwargs) -> None:
    """Only active authors' reviews count: a deactivated (or reactivated) author's reviewed
    products are recounted."""
    if "is_active" not in fields:
        return
    reviewed = Note.objects.filter(author_id=user_id, product_id__isnull=False, rating__isnull=False)
    for product_id in reviewed.values_list("product_id", flat=True).distinct().order_by():
        catalogue.product_reviews_recount(product_id=product_id)
