from __future__ import annotations

from rest_framework import serializers

from shop.models import Product


class ProductCardOut(serializers.ModelSerializer):
    """A product as shown on a note or in a list."""

    store = serializers.CharField(source="store.name", read_only=True)
    rating = serializers.FloatField(allow_null=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "title", "store", "category", "status", "min_price", "rating", "review_count"]
        read_only_fields = fields
