from django.contrib import admin

from shop.models import SKU, Product, ProductImage, Store


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "brand__name", "brand__slug")
    autocomplete_fields = ("brand",)
    list_select_related = ("brand",)


class SKUInline(admin.TabularInline):
    model = SKU
    extra = 0
    fields = ("name", "price", "stock", "per_order_limit", "is_active", "attributes")


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    autocomplete_fields = ("media",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "store",
        "category",
        "status",
        "min_price",
        "rating_count",
        "sales_count",
        "created_at",
    )
    list_filter = ("status", "category", "created_at")
    search_fields = ("title", "store__name")
    autocomplete_fields = ("store",)
    list_select_related = ("store",)
    readonly_fields = ("min_price", "rating_count", "rating_sum", "review_count", "sales_count")
    inlines = (SKUInline, ProductImageInline)


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("name", "product", "price", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "product__title")
    autocomplete_fields = ("product",)
    list_select_related = ("product",)
