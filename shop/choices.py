from django.db import models


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ON_SALE = "on_sale", "On sale"
    OFF_SALE = "off_sale", "Off sale"


class ProductSort(models.TextChoices):
    POPULAR = "popular", "Best sellers, then most talked about"
    NEWEST = "newest", "Newest first"
    PRICE_ASC = "price_asc", "Price, low to high"
    PRICE_DESC = "price_desc", "Price, high to low"
    RATING = "rating", "Best rated (verified reviews)"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REFUNDED = "refunded", "Refunded"


class PaymentStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    DECLINED = "declined", "Declined"
    REFUND_PENDING = "refund_pending", "Refund pending"
    REFUNDED = "refunded", "Refunded"


class AfterSaleStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
