from django.contrib import admin, messages

from config.errors import DomainError
from shop.models import SKU, Order, OrderEvent, OrderLine, Payment, Product, ProductImage, Store
from shop.services import catalogue
from shop.services import orders as order_services


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    """Brand stores. A store that is not active hides all its products from buyers."""

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
    """Products with their SKUs and gallery. ``min_price`` follows the active SKUs on save; the
    review and sales figures are the services' to maintain."""

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
    list_filter = ("status", "category", ("store", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("=id", "title", "store__name", "store__brand__slug")
    autocomplete_fields = ("store",)
    list_select_related = ("store",)
    readonly_fields = ("min_price", "rating_count", "rating_sum", "review_count", "sales_count", "note_count")
    inlines = (SKUInline, ProductImageInline)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        catalogue.product_price_refresh(product=form.instance)  # SKU inlines may have changed it


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("name", "product", "price", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "product__title")
    autocomplete_fields = ("product",)
    list_select_related = ("product",)


# --- Orders ------------------------------------------------------------------------------------


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("title", "sku_name", "unit_price", "quantity", "line_total", "source_note", "review_note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ("provider", "intent_id", "amount", "status", "refund_id", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders with their lines, payments and history. Statuses change only through the services:
    every field is read-only here, and refunds go through the action."""

    list_display = ("id", "buyer", "store", "status", "total", "created_at", "paid_at")
    list_filter = ("status", "store", "created_at")
    search_fields = ("=id", "buyer__username", "store__name", "tracking_number")
    list_select_related = ("buyer", "store")
    date_hierarchy = "created_at"
    inlines = (OrderLineInline, PaymentInline, OrderEventInline)
    actions = ("refund",)
    readonly_fields = [field.name for field in Order._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Refund in full and restock")
    def refund(self, request, queryset):
        refunded = 0
        for order in queryset:
            try:
                order_services.order_refund(order=order, actor=request.user, note="refunded by staff")
            except DomainError as exc:
                self.message_user(request, f"Order {order.pk}: {exc.message}", messages.WARNING)
            else:
                refunded += 1
        self.message_user(request, f"{refunded} order(s) refunded.", messages.SUCCESS)
