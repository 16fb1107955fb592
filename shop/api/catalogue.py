"""Catalogue API: ``shop/products`` (list, create), ``shop/products/{id}`` (detail, edit) and
``shop/products/{id}/reviews``.

Paging: ``sort=newest`` is keyset (cursor) pagination like every other list; the other sorts rank
on live counters (sales, price, rating), so their opaque ``cursor`` carries an offset.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination, RankedPagination
from config.api.params import query_params
from config.api.renderers import datetime_out
from notes import selectors as note_selectors
from notes.api.media import MediaOut, media_out
from notes.api.serializers import NoteCardLeanOut, NoteCardOut, note_card
from shop import selectors
from shop.api.serializers import (
    CURRENCY,
    ProductCardLeanOut,
    ProductCardOut,
    ProductIn,
    ProductListIn,
    ProductUpdateIn,
    SKUOut,
    product_card,
    sku_out,
)
from shop.choices import ProductSort
from shop.services import catalogue as services


class RatingFiguresOut(serializers.Serializer):
    count = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True, help_text="1-5, two decimals; null without reviews.")
    distribution = serializers.DictField(
        child=serializers.IntegerField(), help_text='Reviews per star, "1" to "5".'
    )


class RatingSummaryOut(serializers.Serializer):
    """Live reviews that others may read (``all``), and the verified purchases among them."""

    all = RatingFiguresOut()
    verified = RatingFiguresOut()


class ProductOut(ProductCardOut):
    """A product's page: gallery, SKUs (inactive ones and exact stock only for its brand owner;
    staff see exact stock too), rating summary and the notes that planted the grass, most engaging
    first."""

    store_id = serializers.IntegerField(read_only=True)
    brand = serializers.CharField(source="store.brand.slug", read_only=True, help_text="The brand's slug.")
    currency = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    skus = serializers.SerializerMethodField()
    ratings = RatingSummaryOut(read_only=True)
    planted_by = NoteCardLeanOut(many=True, read_only=True)
    is_owner = serializers.BooleanField(read_only=True, help_text="You run this product's store.")

    class Meta(ProductCardOut.Meta):
        fields = [
            *ProductCardOut.Meta.fields,
            "store_id",
            "brand",
            "description",
            "currency",
            "images",
            "skus",
            "sales_count",
            "ratings",
            "planted_by",
            "is_owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=[CURRENCY]))
    def get_currency(self, product) -> str:
        return CURRENCY

    @extend_schema_field(MediaOut(many=True))
    def get_images(self, product):
        request = self.context.get("request")
        return [media_out(request, **row) for row in product.gallery]

    @extend_schema_field(SKUOut(many=True))
    def get_skus(self, product):
        return SKUOut(
            product.sku_list,
            many=True,
            context={"shows_stock": getattr(product, "shows_stock", False)},
        ).data


def product_page(request, product) -> dict:
    """``ProductOut``'s dict of a product from ``selectors.product_get_for_viewer`` (with its
    ``planted_by`` card rows), written without DRF's per-field machinery; ``ProductOut`` stays the
    schema (and the test's reference)."""
    return {
        **product_card(request, product),
        "store_id": product.store_id,
        "brand": product.store.brand.slug,
        "description": product.description,
        "currency": CURRENCY,
        "images": [media_out(request, **row) for row in product.gallery],
        "skus": [sku_out(sku, product.shows_stock) for sku in product.sku_list],
        "sales_count": product.sales_count,
        "ratings": {"all": vars(product.ratings.all), "verified": vars(product.ratings.verified)},
        "planted_by": [note_card(request, row) for row in product.planted_by],
        "is_owner": product.is_owner,
        "created_at": datetime_out(product.created_at),
        "updated_at": datetime_out(product.updated_at),
    }


class ReviewOut(NoteCardOut):
    """A review note: the card, its text, the stars and whether the author bought the product."""

    class Meta(NoteCardOut.Meta):
        fields = [*NoteCardOut.Meta.fields, "body", "rating", "is_verified_purchase"]
        read_only_fields = fields


def _detail(request, product_id: int, status: int = 200) -> Response:
    product = selectors.product_get_for_viewer(product_id=product_id, viewer=request.user)
    product.planted_by = note_selectors.notes_planting(product=product, viewer=request.user)
    return Response(product_page(request, product), status=status)


class ProductListCreateView(generics.ListAPIView):
    """Products on sale, filtered and sorted; brand owners add products to their store."""

    serializer_class = ProductCardLeanOut

    def get_queryset(self):
        filters = dict(query_params(ProductListIn, self.request))
        # GenericAPIView.paginator keeps the first paginator it is given: choose it by the sort.
        self._paginator = CursorPagination() if filters["sort"] == ProductSort.NEWEST else RankedPagination()
        return selectors.products_list(**filters)

    @extend_schema(parameters=[ProductListIn])
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        page = selectors.products_attach_stock(page)  # the list reads no stock of its own
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ProductIn, responses={201: ProductOut})
    def post(self, request):
        data = ProductIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = selectors.store_get_for_seller(user=request.user, store_id=v["store"])
        product = services.product_create(
            store=store,
            owner=request.user,
            title=v["title"],
            category=v["category"],
            description=v["description"],
            status=v["status"],
            media_ids=v["images"],
            skus=v["skus"],
        )
        return _detail(request, product.pk, status=201)


class ProductDetailView(APIView):
    """A product: on sale for everyone; drafts and off-sale products only for their brand owner
    (404 for everyone else, as is another brand's product on edit)."""

    @extend_schema(responses=ProductOut)
    def get(self, request, product_id):
        return _detail(request, product_id)

    @extend_schema(request=ProductUpdateIn, responses=ProductOut)
    def patch(self, request, product_id):
        product = selectors.product_get_for_seller(product_id=product_id, user=request.user)
        data = ProductUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        services.product_update(
            product=product,
            editor=request.user,
            media_ids=v.pop("images", None),
            skus=v.pop("skus", None),
            data=v,
        )
        return _detail(request, product_id)


class ProductReviewsView(generics.ListAPIView):
    """A product's reviews you may read: verified purchases first, then newest."""

    serializer_class = ReviewOut
    pagination_class = RankedPagination

    def get_queryset(self):
        product = selectors.product_get_visible(
            product_id=self.kwargs["product_id"], viewer=self.request.user
        )
        return note_selectors.reviews_of_product(product=product, viewer=self.request.user)
