"""The verified-purchase badge on review notes.

Invariants: a review note has ``is_verified_purchase`` exactly when a delivered (or completed) order
line of its author for its product points at it (``OrderLine.review_note``); a line verifies at most
one review and a review is verified by at most one line (both ends unique). The badge is decided when
a review is written, moved to another product or deleted (``review_verify``, called by the notes
services) and when an order is delivered or refunded (``order_reviews_verify``, called by the order
state machine).

Lock order: the product's row, then the author's review notes of the product, then the order lines.
The order state machine locks the product (its sales count) before it calls in, and the notes
services lock a review's products (``reviews_lock_products``) before the note they edit or delete.
"""

from __future__ import annotations

from django.db.models import Q

from notes.models import Note
from shop.choices import OrderStatus
from shop.models import Order, OrderLine, Product
from shop.services.catalogue import product_reviews_recount

#: Statuses in which the buyer has received what the line sold.
RECEIVED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


def reviews_lock_products(*product_ids: int | None) -> None:
    """Lock these products' rows, in id order: the first step of this module's lock order. A
    review's edit or delete takes it before locking the note (an order's refund or delivery locks
    the product and then the buyer's review notes, and would otherwise wait on the note in a cycle)."""
    ids = sorted({pk for pk in product_ids if pk})
    if ids:
        list(
            Product.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk")
        )


def reviews_match(*, author_id: int, product_id: int) -> None:
    """Match the author's reviews of the product with their received lines of it, one line each:
    matches that still hold are kept, a line whose review went away (deleted, moved, no longer a
    review) or whose order no longer counts (refunded) is freed, and free lines go to unverified
    reviews, oldest first. Then the badges and the product's figures follow. Safe to repeat."""
    # The product's row first: matches of its reviews then run one after the other, and after any
    # order move that changed its sales, each reading what the one before committed. (Without it a
    # review written at the same moment as another, or as a refund, was matched against lines
    # listed before those committed; and a refund, which locks the product first, waited on a new
    # review's notes while the review waited on the product.)
    reviews_lock_products(product_id)
    reviews = list(
        Note.objects.select_for_update()
        .filter(author_id=author_id, product_id=product_id, rating__isnull=False, deleted_at__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    lines = list(
        OrderLine.objects.select_for_update(of=("self",))
        .filter(product_id=product_id, order__buyer_id=author_id, order__status__in=RECEIVED_STATUSES)
        .order_by("id")
    )
    kept = [line for line in lines if line.review_note_id in reviews]
    # Freed: this product's lines holding anything else, and other lines holding these reviews.
    OrderLine.objects.filter(
        Q(product_id=product_id, review_note__author_id=author_id) | Q(review_note_id__in=reviews)
    ).exclude(pk__in=[line.pk for line in kept]).update(review_note=None)
    verified = {line.review_note_id for line in kept}
    waiting = iter([pk for pk in reviews if pk not in verified])
    for line in lines:
        if line.review_note_id not in verified:
            line.review_note_id = next(waiting, None)
            if line.review_note_id is None:
                break
            line.save(update_fields=["review_note"])
            verified.add(line.review_note_id)
    mine = Note.objects.filter(author_id=author_id, product_id=product_id)
    mine.filter(pk__in=verified, is_verified_purchase=False).update(is_verified_purchase=True)
    mine.exclude(pk__in=verified).filter(is_verified_purchase=True).update(is_verified_purchase=False)
    product_reviews_recount(product_id=product_id)


def review_verify(*, note: Note, left_product_id: int | None = None) -> None:
    """Decide the badge of ``note`` (just written, moved to another product or deleted; in the
    caller's transaction, saved) and of the author's other reviews its change concerns. Every
    product it concerns is recounted here: the one it is on, the one whose line verified it and the
    one it was moved from (``left_product_id``), whose figures it leaves."""
    held = OrderLine.objects.filter(review_note=note).values_list("product_id", flat=True).first()
    for product_id in sorted({held, left_product_id, note.product_id} - {None}):
        reviews_match(author_id=note.author_id, product_id=product_id)
    # A note that stopped being a review of any product is no one's to badge but its own.
    note.is_verified_purchase = OrderLine.objects.filter(review_note=note).exists()
    Note.objects.filter(pk=note.pk).update(is_verified_purchase=note.is_verified_purchase)


def order_reviews_verify(*, order: Order) -> None:
    """The locked ``order`` was delivered (its lines now verify the buyer's reviews) or left the
    received statuses (refunded: they no longer do)."""
    product_ids = sorted(set(order.lines.values_list("product_id", flat=True)))
    for product_id in product_ids:
        reviews_match(author_id=order.buyer_id, product_id=product_id)
