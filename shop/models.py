from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from accounts.choices import Category, ReviewStatus
from accounts.models import Brand
from shop.choices import AfterSaleStatus, OrderStatus, PaymentStatus, ProductStatus


class Store(models.Model):
    """A brand's shop front. Only an approved brand's store sells."""

    brand = models.OneToOneField(Brand, on_delete=models.PROTECT, related_name="store")
    name = models.CharField(max_length=80)
    description = models.TextField(max_length=2000, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def on_sale(self) -> ProductQuerySet:
        """What buyers may see and buy: on sale, in an active store of an approved brand."""
        return self.filter(
            status=ProductStatus.ON_SALE, store__is_active=True, store__brand__status=ReviewStatus.APPROVED
        )


class Product(models.Model):
    """A product (SPU) with its variants (``SKU``). Rating figures count verified reviews only and
    are maintained by the shop's services; ``min_price`` mirrors the cheapest active SKU for sorting;
    ``note_count`` is moved by the notes' services as they tag and untag it.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products", db_index=False)
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=10000, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    images = models.ManyToManyField("notes.Media", through="ProductImage", related_name="+")
    min_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    review_count = models.PositiveIntegerField(default=0)
    sales_count = models.PositiveIntegerField(default=0)
    note_count = models.PositiveIntegerField(
        default=0, help_text="Notes tagging it (its planted-by count, whatever their state)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "-id"], name="product_status_recent"),
            models.Index(fields=["store", "-id"], name="product_store_recent"),
            models.Index(fields=["category", "status"], name="product_category"),
            # The list's default order (``selectors.PRODUCT_ORDERINGS`` popular), read from here.
            models.Index(
                F("sales_count").desc(),
                (F("review_count") + F("note_count")).desc(),
                F("id").desc(),
                condition=Q(status=ProductStatus.ON_SALE),
                name="product_popular",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None


class ProductImage(models.Model):
    """One image of a product's gallery, in order (media from the notes pipeline)."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="product_images", db_index=False
    )
    media = models.ForeignKey("notes.Media", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["product", "position"], name="product_image_position")]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position}"


class SKU(models.Model):
    """A variant one can buy (colour, size...). Stock never goes below zero: the database refuses."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus", db_index=False)
    name = models.CharField(max_length=80, help_text="e.g. 01 樱花粉 / 30ml")
    attributes = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    stock = models.IntegerField(default=0)
    per_order_limit = models.PositiveSmallIntegerField(default=10)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "SKU"
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="sku_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gt=0), name="sku_price_positive"),
            models.UniqueConstraint(fields=["product", "name"], name="sku_name_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.name}"


# --- Cart, addresses, orders and payments ----------------------------------------------------

MONEY = {"max_digits": 12, "decimal_places": 2}


class CartItem(models.Model):
    """One SKU in a user's cart. Prices are never stored here: the cart shows the live price and
    checkout re-checks it. ``source_note`` remembers the note the buyer came from (attribution)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items", db_index=False
    )
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField()
    source_note = models.ForeignKey(
        "notes.Note", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "sku"], name="cart_item_sku_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.quantity} x {self.sku_id}"


class Address(models.Model):
    """A shipping address. A user with addresses has exactly one default (the database holds at most
    one; the services keep one)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    recipient = models.CharField(max_length=40)
    phone = models.CharField(max_length=20)
    province = models.CharField(max_length=40)
    city = models.CharField(max_length=40)
    district = models.CharField(max_length=40, blank=True)
    line = models.CharField(max_length=200)
    postal_code = models.CharField(max_length=12, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="address_one_default_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient}, {self.city}"


class CheckoutGroup(models.Model):
    """One checkout: the orders (one per store) made together from one request."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    total = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"checkout {self.pk}"


class Order(models.Model):
    """A buyer's order from one store. ``total = lines_total + shipping_total - discount_total``, all
    in ``currency``; the status only moves through ``shop.services.orders`` (each move is an
    ``OrderEvent``). Stock of its lines is reserved from creation until it is cancelled, expired or
    refunded."""

    group = models.ForeignKey(CheckoutGroup, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders", db_index=False)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    currency = models.CharField(max_length=3, default="CNY")
    lines_total = models.DecimalField(**MONEY)
    shipping_total = models.DecimalField(**MONEY)
    discount_total = models.DecimalField(**MONEY, default=Decimal("0.00"))
    total = models.DecimalField(**MONEY)
    shipping_address = models.JSONField(help_text="Copy of the address at checkout.")
    buyer_note = models.CharField(max_length=200, blank=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(help_text="Unpaid by then, the order expires and its stock returns.")
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="Completed, cancelled, expired or refunded."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["buyer", "-id"], name="order_buyer_recent"),
            models.Index(fields=["store", "-id"], name="order_store_recent"),
            models.Index(fields=["status", "expires_at"], name="order_status_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class OrderLine(models.Model):
    """What was bought, with the title, variant and unit price as they were at checkout. Once
    delivered, a line verifies at most one review of its product by the buyer (``review_note``);
    ``source_note`` is the note the buyer came from (attribution)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="order_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    title = models.CharField(max_length=120)
    sku_name = models.CharField(max_length=80)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveSmallIntegerField()
    line_total = models.DecimalField(**MONEY)
    source_note = models.ForeignKey(
        "notes.Note", on_delete=models.SET_NULL, null=True, blank=True, related_name="attributed_lines"
    )
    review_note = models.OneToOneField(
        "notes.Note",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifying_line",
        help_text="The buyer's review this delivered line verifies (``shop.services.reviews``).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_name}"


class OrderEvent(models.Model):
    """One status change of an order: who (none for the system), when, from and to."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} -> {self.to_status}"


class Payment(models.Model):
    """A payment intent with a provider for one order. At most one is processing or succeeded per
    order; a succeeded payment is refunded in full when its order is cancelled or refunded: it is
    ``refund_pending`` from that transaction until the provider confirms (``refund_id``), which
    happens after the commit (``shop.services.payments.payment_refund_send``)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    intent_id = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PROCESSING)
    refund_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [  # the refunds still owed, for the relay (``payments_refund_resend``)
            models.Index(
                fields=["updated_at"],
                condition=Q(status=PaymentStatus.REFUND_PENDING),
                name="payment_refund_owed",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["provider", "intent_id"], name="payment_intent_once"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=[PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED]),
                name="payment_one_live_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.intent_id} ({self.status})"


class WebhookEvent(models.Model):
    """A provider notification already processed: each event id is acted on once."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class AfterSale(models.Model):
    """A buyer's return-and-refund request on a delivered order; the store's brand decides."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="after_sales")
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=16, choices=AfterSaleStatus.choices, default=AfterSaleStatus.REQUESTED
    )
    decision_note = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status=AfterSaleStatus.REQUESTED), name="after_sale_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"after-sale {self.pk} of order {self.order_id}"


class IdempotencyKey(models.Model):
    """The first response to a user's ``Idempotency-Key``, replayed for repeats of the same request.

    The row is written in the same transaction as the work it guards, so a repeat waits on the
    unique index while the first is in flight and then sees its answer."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
