"""seed_demo's order step: demo people buy from the demo stores, some after reading a note, and
their orders are left in every state of the life cycle; orders that reach their buyer mostly buy
what the buyer reviewed before, so delivery gives the demo verified reviews. Everything goes
through the services an API call would use (checkout under an ``Idempotency-Key``, the sandbox's
signed webhook, shipping, confirming, after-sales), deterministic from the seed.

Reruns add nothing: each planned order carries a marker in its buyer note (and its checkout a key
derived from it), so a plan already carried out is skipped, whatever became of its order since.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.demo import STAFF_LOGINS, DemoContext, Step
from accounts.models import User
from notes.models import Note, NoteProduct
from shop.models import SKU, Address, Order, Product, Store
from shop.payments.sandbox import signed_webhook
from shop.services import orders as order_services
from shop.services.cart import address_create
from shop.services.checkout import CheckoutItem, order_checkout
from shop.services.idempotency import idempotent, request_fingerprint
from shop.services.payments import payment_start, payment_webhook_receive

#: How many orders the demo places, going round ``PLANS`` and the buyers.
ORDER_COUNT = 24
#: Where each planned order ends, and the steps that take it there after checkout.
PLANS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pending payment", ()),
    ("delivered", ("pay", "ship", "confirm")),
    ("paid", ("pay",)),
    ("completed", ("pay", "ship", "confirm", "confirm")),
    ("shipped", ("pay", "ship")),
    ("cancelled unpaid", ("cancel",)),
    ("cancelled after paying (refunded)", ("pay", "cancel")),
    ("expired", ("expire",)),
    ("after-sale requested", ("pay", "ship", "confirm", "request")),
    ("after-sale approved (refunded)", ("pay", "ship", "confirm", "request", "approve")),
)
ADDRESS = {"recipient": "", "phone": "13800138000", "province": "上海市", "city": "上海市", "line": ""}
REVIEW_TITLES = (
    "收到啦，真实使用感受",
    "回购第二次了",
    "Honest review after two weeks",
    "物流很快，质量在线",
)


def _pay(order: Order, buyer: User) -> None:
    """Pay in the sandbox: a delayed intent settled by the provider's signed webhook."""
    payment = payment_start(order=order, buyer=buyer, provider="sandbox", token="tok_delayed")
    headers, body = signed_webhook(kind="payment.succeeded", intent_id=payment.intent_id)
    payment_webhook_receive(provider="sandbox", headers=headers, body=body)


def _request(order: Order, buyer: User) -> None:
    order_services.after_sale_request(order=order, buyer=buyer, reason="尺寸不合适，想退货 · Wrong size.")


def _approve(order: Order, buyer: User) -> None:
    order_services.after_sale_decide(
        after_sale=order.after_sales.get(), owner=order.store.brand.owner, approve=True, note="同意退货"
    )


ACTIONS: dict[str, Callable[[Order, User], object]] = {
    "pay": _pay,
    "ship": lambda order, buyer: order_services.order_ship(
        order=order, owner=order.store.brand.owner, carrier="顺丰速运", tracking_number=f"SF{order.pk:012d}"
    ),
    "confirm": lambda order, buyer: order_services.order_confirm(order=order, buyer=buyer),
    "cancel": lambda order, buyer: order_services.order_cancel(order=order, buyer=buyer, reason="不想要了"),
    "expire": lambda order, buyer: order_services.order_expire(order_id=order.pk, now=order.expires_at),
    "request": _request,
    "approve": _approve,
}


def _buyers(ctx: DemoContext) -> list[User]:
    """Demo people who run no store and are not staff, logins first."""
    sellers = set(Store.objects.values_list("brand__owner_id", flat=True))
    return [user for name, user in ctx.users.items() if name not in STAFF_LOGINS and user.pk not in sellers]


def _ensure_address(buyer: User) -> None:
    if not Address.objects.filter(user=buyer).exists():
        line = f"南京西路 {buyer.pk} 号"
        address_create(user=buyer, data={**ADDRESS, "recipient": buyer.username[:40], "line": line})


def _checkout(
    ctx: DemoContext, buyer: User, marker: str, sku: SKU, quantity: int, note_id: int | None
) -> int:
    """Check out like ``POST shop/orders`` does, under a key derived from the seed and the marker."""
    items = [CheckoutItem(sku_id=sku.pk, quantity=quantity, source_note_id=note_id)]

    def run() -> tuple[int, dict]:
        group = order_checkout(buyer=buyer, items=items, buyer_note=marker)
        return 201, {"id": group.pk}

    _, body = idempotent(
        user=buyer,
        key=f"seed-demo-{ctx.seed}-{marker}",
        fingerprint=request_fingerprint(method="POST", path="seed_demo", data=[marker, sku.pk, quantity]),
        run=run,
    )
    return Order.objects.filter(group_id=body["id"]).values_list("pk", flat=True).get()


def _reviewed(buyer: User, skus: list[SKU]) -> list[SKU]:
    """The SKUs among ``skus`` of products ``buyer`` reviewed without the badge yet."""
    products = set(
        Note.objects.filter(
            author=buyer, rating__isnull=False, deleted_at=None, is_verified_purchase=False
        ).values_list("product_id", flat=True)
    )
    return [sku for sku in skus if sku.product_id in products]


def seed_orders(ctx: DemoContext) -> None:
    """Place ``ORDER_COUNT`` orders, each taken to its plan's state; a plan already placed (its
    marker is on an order) is skipped."""
    buyers = _buyers(ctx)
    skus = list(
        SKU.objects.filter(is_active=True, stock__gte=5, product__in=Product.objects.on_sale()).order_by("pk")
    )
    if not (ctx.notes_per_person and buyers and skus):
        return
    verified_before = Note.objects.filter(is_verified_purchase=True).count()
    placed = 0
    for n in ctx.track(range(ORDER_COUNT), "orders"):
        name, steps = PLANS[n % len(PLANS)]
        buyer = buyers[n % len(buyers)]
        marker = f"demo order {n}: {name}"
        if Order.objects.filter(buyer_note=marker).exists():
            continue
        rng = ctx.rng("order", n)
        # Orders that reach the buyer mostly buy what they reviewed before: delivery verifies it.
        reviewed = _reviewed(buyer, skus) if "confirm" in steps else []
        sku = rng.choice(reviewed if reviewed and rng.random() < 0.8 else skus)
        planters = list(
            NoteProduct.objects.filter(product_id=sku.product_id)
            .order_by("note_id")
            .values_list("note_id", flat=True)
        )
        note_id = rng.choice(planters) if planters and rng.random() < 0.7 else None
        _ensure_address(buyer)
        order_id = _checkout(ctx, buyer, marker, sku, rng.randint(1, min(2, sku.per_order_limit)), note_id)
        for step in steps:
            ACTIONS[step](Order.objects.select_related("store__brand__owner").get(pk=order_id), buyer)
        placed += 1
    verified = Note.objects.filter(is_verified_purchase=True).count() - verified_before
    ctx.summary.append(f"{placed} new orders, {verified} reviews newly verified by them")


STEPS: list[tuple[str, Step]] = [("orders", seed_orders)]
