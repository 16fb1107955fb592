"""Keeping search documents and topic counts up to date (connected by ``NotesConfig.ready``).

Notes: the notes services send ``note_live_changed``/``note_edited`` after their transaction commits,
so these receivers only enqueue tasks. Users and products have no such service signal for every
change: their ``post_save`` (sign-up, admin edits) and ``accounts.signals.profile_changed`` (the
profile endpoint, which updates in bulk) enqueue the task once the transaction commits.
``manage.py search_reindex`` rebuilds everything, for whatever was written around these (bulk
loads, raw SQL).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import profile_changed
from notes import tasks
from notes.signals import note_edited, note_live_changed
from shop.models import Product, Store

USER_FIELDS = frozenset({"username", "nickname", "bio"})
PRODUCT_FIELDS = frozenset({"title", "description", "store", "store_id"})


@receiver(note_live_changed, dispatch_uid="search-note-live")
def note_live_changed_reindex(sender, note_id: int, live: bool, **kwargs) -> None:
    tasks.search_index_note.delay(note_id)
    if live:
        tasks.trending_count_note.delay(note_id)


@receiver(note_edited, dispatch_uid="search-note-edited")
def note_edited_reindex(sender, note_id: int, **kwargs) -> None:
    tasks.search_index_note.delay(note_id)


def _touches(update_fields, fields: frozenset) -> bool:
    return update_fields is None or bool(fields & set(update_fields))


@receiver(post_save, sender=User, dispatch_uid="search-user-saved")
def user_saved_reindex(sender, instance: User, update_fields=None, raw=False, **kwargs) -> None:
    if not raw and _touches(update_fields, USER_FIELDS):
        user_id = instance.pk
        transaction.on_commit(lambda: tasks.search_index_user.delay(user_id))


@receiver(profile_changed, dispatch_uid="search-profile-changed")
def profile_changed_reindex(sender, user_id: int, fields=None, **kwargs) -> None:
    if _touches(fields, USER_FIELDS):
        tasks.search_index_user.delay(user_id)


@receiver(post_save, sender=Product, dispatch_uid="search-product-saved")
def product_saved_reindex(sender, instance: Product, update_fields=None, raw=False, **kwargs) -> None:
    if not raw and _touches(update_fields, PRODUCT_FIELDS):
        product_id = instance.pk
        transaction.on_commit(lambda: tasks.search_index_products.delay([product_id]))


@receiver(post_save, sender=Store, dispatch_uid="search-store-saved")
def store_saved_reindex(
    sender, instance: Store, created=False, update_fields=None, raw=False, **kwargs
) -> None:
    if not raw and not created and _touches(update_fields, frozenset({"name"})):
        store_id = instance.pk
        transaction.on_commit(lambda: tasks.search_index_store.delay(store_id))
