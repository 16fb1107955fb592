from django.db import models


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ON_SALE = "on_sale", "On sale"
    OFF_SALE = "off_sale", "Off sale"
