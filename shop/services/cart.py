"""The cart and shipping addresses of a buyer.

Cart items hold no price: the cart shows the live price and checkout re-checks everything. Every
service takes the row it changes from the caller's selector, so another user's row is a 404 before
it gets here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from config.errors import Conflict, InvalidInput, NotFound
from notes import selectors as note_selectors
from notes.models import Note
from shop.models import SKU, Address, CartItem, Product


def _source_note(note_id: int | None, user: User) -> Note | None:
    if note_id is None:
        return None
    try:
        return note_selectors.note_get_visible(note_id=note_id, viewer=user)
    except NotFound:
        raise InvalidInput("Unknown note.", fields={"source_note": ["No such note."]}) from None


def _check_quantity(sku: SKU, quantity: int) -> None:
    if quantity > sku.per_order_limit:
        raise InvalidInput(
            f"At most {sku.per_order_limit} of this item per order.",
            code="over_limit",
            fields={"quantity": [f"At most {sku.per_order_limit}."]},
        )


@transaction.atomic
def cart_item_add(*, user: User, sku_id: int, quantity: int, source_note_id: int | None = None) -> CartItem:
    """Put ``quantity`` of a SKU on sale in the cart (added to what is there already)."""
    sku = SKU.objects.filter(pk=sku_id, is_active=True, product__in=Product.objects.on_sale()).first()
    if sku is None:
        raise InvalidInput("This item is not on sale.", fields={"sku": ["Not on sale."]})
    note = _source_note(source_note_id, user)
    item = CartItem.objects.select_for_update().filter(user=user, sku=sku).first()
    if item is None:
        _lock_user(user.pk)  # two new SKUs added at once must not both fit the last place
        if CartItem.objects.filter(user=user).count() >= settings.SHOP_CART_MAX_ITEMS:
            raise Conflict(f"A cart holds at most {settings.SHOP_CART_MAX_ITEMS} items.", code="cart_full")
        _check_quantity(sku, quantity)
        try:
            with transaction.atomic():
                return CartItem.objects.create(user=user, sku=sku, quantity=quantity, source_note=note)
        except IntegrityError:  # the same SKU added at the same moment: add to that row instead
            item = CartItem.objects.select_for_update().get(user=user, sku=sku)
    _check_quantity(sku, item.quantity + quantity)
    item.quantity = F("quantity") + quantity
    item.source_note = note or item.source_note
    item.save(update_fields=["quantity", "source_note", "updated_at"])
    item.refresh_from_db()
    return item


@transaction.atomic
def cart_item_update(*, item: CartItem, data: dict) -> CartItem:
    """Change the quantity and/or the source note of one of the user's cart items. The row is
    locked first: removed (or bought) meanwhile, the item is a 404; only the fields sent are written,
    so a concurrent add's source note is not undone."""
    if not CartItem.objects.select_for_update().filter(pk=item.pk).values_list("pk"):
        raise NotFound("No such cart item.")
    if "quantity" in data:
        _check_quantity(item.sku, data["quantity"])
        item.quantity = data["quantity"]
    if "source_note" in data:
        item.source_note = _source_note(data["source_note"], item.user)
    item.save(update_fields=[*sorted(data), "updated_at"])
    return item


def cart_item_remove(*, item: CartItem) -> None:
    item.delete()


@transaction.atomic
def cart_clear(*, user: User) -> None:
    """Empty the cart. Its lines are locked in id order first, as a checkout of the cart locks
    them: a plain ``DELETE`` takes them in the order they lie in the table, and the two waited for
    each other."""
    lines = CartItem.objects.select_for_update().filter(user=user).order_by("pk").values_list("pk", flat=True)
    CartItem.objects.filter(pk__in=list(lines)).delete()


def _lock_user(user_id: int) -> None:
    """One address change (or new cart line) per user at a time, so the single default stays
    single (and the cart within its size)."""
    list(User.objects.select_for_update(no_key=True).filter(pk=user_id).values_list("pk"))


def _address_now(address: Address) -> Address | None:
    """The address as it is now, read under ``_lock_user``: the caller's copy was read before the
    lock, and saving it, or trusting its ``is_default``, would undo a concurrent change of the
    default (or bring back an address deleted meanwhile). None when it is gone."""
    return Address.objects.filter(pk=address.pk).first()


@transaction.atomic
def address_create(*, user: User, data: dict) -> Address:
    """Add an address; the first one, or one marked ``is_default``, becomes the default."""
    _lock_user(user.pk)
    existing = Address.objects.filter(user=user)
    if existing.count() >= settings.SHOP_MAX_ADDRESSES:
        raise Conflict(f"Keep at most {settings.SHOP_MAX_ADDRESSES} addresses.", code="too_many_addresses")
    make_default = data.pop("is_default", False) or not existing.exists()
    if make_default:
        existing.filter(is_default=True).update(is_default=False)
    return Address.objects.create(user=user, is_default=make_default, **data)


@transaction.atomic
def address_update(*, address: Address, data: dict) -> Address:
    """Edit an address. Marking it default unmarks the previous one; the default cannot be unmarked
    (mark another one instead)."""
    _lock_user(address.user_id)
    address = _address_now(address)
    if address is None:
        raise NotFound("No such address.")
    if data.pop("is_default", None):
        Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(
            is_default=False
        )
        address.is_default = True
    for name, value in data.items():
        setattr(address, name, value)
    address.save()
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Delete an address; if it was the default, the newest remaining one takes over."""
    _lock_user(address.user_id)
    address = _address_now(address)
    if address is None:
        return  # deleted meanwhile
    address.delete()
    if address.is_default:
        newest = Address.objects.filter(user_id=address.user_id).order_by("-id").first()
        if newest is not None:
            newest.is_default = True
            newest.save(update_fields=["is_default"])
