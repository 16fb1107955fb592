"""The shop's serializers that other apps use too (product cards on notes and in search) and the
catalogue's inputs. Serializers that embed notes live with the catalogue views, since the notes
serializers embed product cards."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import StrictSerializer
from accounts.choices import Category
from config.api.files import file_url
from shop.choices import ProductSort, ProductStatus
from shop.models import SKU, Product

MAX_PRODUCT_IMAGES = 9
MAX_SKUS = 50
PRICE = {"max_digits": 10, "decimal_places": 2}
CURRENCY = "CNY"


class ProductCardOut(serializers.ModelSerializer):
    """A product as shown on a note or in a list (shape the queryset with
    ``shop.selectors.products_for_cards``). ``rating`` averages verified reviews only; prices
    are in CNY."""

    store = serializers.CharField(source="store.name", read_only=True)
    rating = serializers.FloatField(allow_null=True, read_only=True)
    cover_url = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True, help_text="Some active SKU has stock.")

    class Meta:
        model = Product
        fields = [
            "id",
            "title",
            "store",
            "category",
            "status",
            "min_price",
            "rating",
            "rating_count",
            "review_count",
            "cover_url",
            "in_stock",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="The cover's card-sized image."))
    def get_cover_url(self, product) -> str | None:
        if not product.cover_name:
            return None
        url = default_storage.url(product.cover_name)
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ProductCardLeanOut(ProductCardOut):
    """``ProductCardOut`` written as one dict, without DRF's per-field machinery: the card of the
    product list, product search and a note's tagged products. Its declared fields are still
    ``ProductCardOut``'s, so the OpenAPI schema stays the contract."""

    def to_representation(self, product) -> dict:
        return product_card(self.context.get("request"), product)


def product_card(request, product: Product) -> dict:
    """``ProductCardOut``'s dict of a product from ``shop.selectors.products_for_cards``."""
    price = product.min_price
    return {
        "id": product.pk,
        "title": product.title,
        "store": product.store.name,
        "category": product.category,
        "status": product.status,
        "min_price": None if price is None else f"{price:.2f}",  # as DRF's DecimalField writes it
        "rating": product.rating,
        "rating_count": product.rating_count,
        "review_count": product.review_count,
        "cover_url": file_url(product.cover_name, request) if product.cover_name else None,
        "in_stock": bool(product.in_stock),
    }


class SKUOut(serializers.ModelSerializer):
    """A variant one can buy. ``stock_state``: in_stock, low_stock (a few left) or sold_out.
    ``stock`` is exact for the product's brand owner and staff (context ``shows_stock``), null for
    everyone else."""

    stock = serializers.SerializerMethodField()
    stock_state = serializers.SerializerMethodField()

    class Meta:
        model = SKU
        fields = ["id", "name", "attributes", "price", "stock", "stock_state", "per_order_limit", "is_active"]
        read_only_fields = fields

    LOW_STOCK = 5

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="Units left; null unless you run the store.")
    )
    def get_stock(self, sku) -> int | None:
        return sku.stock if self.context.get("shows_stock") else None

    @extend_schema_field(serializers.ChoiceField(choices=["in_stock", "low_stock", "sold_out"]))
    def get_stock_state(self, sku) -> str:
        return self.stock_state_of(sku.stock)

    @classmethod
    def stock_state_of(cls, stock: int) -> str:
        if stock <= 0:
            return "sold_out"
        return "low_stock" if stock <= cls.LOW_STOCK else "in_stock"


def sku_out(sku: SKU, shows_stock: bool) -> dict:
    """``SKUOut``'s dict of ``sku`` (exact stock only when ``shows_stock``)."""
    return {
        "id": sku.pk,
        "name": sku.name,
        "attributes": sku.attributes,
        "price": f"{sku.price:.2f}",  # as DRF's DecimalField writes it
        "stock": sku.stock if shows_stock else None,
        "stock_state": SKUOut.stock_state_of(sku.stock),
        "per_order_limit": sku.per_order_limit,
        "is_active": sku.is_active,
    }


class ProductListIn(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    brand = serializers.SlugField(required=False, help_text="A brand's slug.")
    min_price = serializers.DecimalField(**PRICE, min_value=Decimal("0"), required=False)
    max_price = serializers.DecimalField(**PRICE, min_value=Decimal("0"), required=False)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    sort = serializers.ChoiceField(choices=ProductSort.choices, default=ProductSort.POPULAR)

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": ["Below min_price."]})
        return attrs


_ATTRIBUTE_NAME = serializers.CharField(max_length=40)


class SKUIn(StrictSerializer):
    """A SKU to add (no ``id``) or to change (its ``id``; the fields sent are changed)."""

    id = serializers.IntegerField(min_value=1, required=False)
    name = serializers.CharField(max_length=80, required=False)
    attributes = serializers.DictField(child=serializers.CharField(max_length=40), required=False)
    price = serializers.DecimalField(**PRICE, min_value=Decimal("0.01"), required=False)
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    per_order_limit = serializers.IntegerField(min_value=1, max_value=999, required=False)
    is_active = serializers.BooleanField(required=False, help_text="false takes the SKU off sale.")

    def validate_attributes(self, attributes: dict) -> dict:
        """Names held to the values' rules: DRF checks a dict's values, not its keys, and a name with
        a NUL reached PostgreSQL's ``jsonb`` (a 500, found in review)."""
        for name in attributes:
            try:
                _ATTRIBUTE_NAME.run_validation(name)
            except serializers.ValidationError as error:
                raise serializers.ValidationError(f"An attribute's name: {error.detail[0]}") from error
        return attributes

    def validate(self, attrs):
        if "id" not in attrs:
            missing = [name for name in ("name", "price") if name not in attrs]
            if missing:
                raise serializers.ValidationError({name: ["Required for a new SKU."] for name in missing})
        return attrs


class ProductUpdateIn(StrictSerializer):
    """Edit a product: every field is optional. ``skus`` adds or changes the SKUs listed (the
    others stay as they are); ``images`` replaces the gallery."""

    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=10000, allow_blank=True, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False)
    images = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=MAX_PRODUCT_IMAGES,
        required=False,
        help_text="Your ready image media ids (POST /media), in gallery order.",
    )
    skus = SKUIn(many=True, required=False, max_length=MAX_SKUS)


class ProductIn(ProductUpdateIn):
    """A new product of your store (``store`` only when you run several)."""

    store = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    title = serializers.CharField(max_length=120)
    category = serializers.ChoiceField(choices=Category.choices)
    status = serializers.ChoiceField(choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    description = serializers.CharField(max_length=10000, allow_blank=True, required=False, default="")
    images = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=MAX_PRODUCT_IMAGES,
        required=False,
        default=list,
    )
    skus = SKUIn(many=True, required=False, default=list, max_length=MAX_SKUS)
