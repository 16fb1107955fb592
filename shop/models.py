from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.choices import Category, ReviewStatus
from accounts.models import Brand
from shop.choices import ProductStatus


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
    are maintained by the shop's services; ``min_price`` mirrors the cheapest active SKU for sorting.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="products")
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "-id"], name="product_status_recent"),
            models.Index(fields=["store", "-id"], name="product_store_recent"),
            models.Index(fields=["category", "status"], name="product_category"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None


class ProductImage(models.Model):
    """One image of a product's gallery, in order (media from the notes pipeline)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="product_images")
    media = models.ForeignKey("notes.Media", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["product", "position"], name="product_image_position")]

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position}"


class SKU(models.Model):
    """A variant one can buy (colour, size...). Stock never goes below zero: the database refuses."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
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
