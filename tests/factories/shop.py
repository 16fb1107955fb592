from decimal import Decimal

import factory

from accounts.choices import Category, ReviewStatus
from shop.choices import ProductStatus
from shop.models import SKU, Product, Store
from tests.factories.accounts import BrandFactory


class StoreFactory(factory.django.DjangoModelFactory):
    """The store of an approved brand."""

    class Meta:
        model = Store

    brand = factory.SubFactory(BrandFactory, status=ReviewStatus.APPROVED)
    name = factory.LazyAttribute(lambda o: o.brand.name)


class ProductFactory(factory.django.DjangoModelFactory):
    """A product on sale (its SKUs are made separately)."""

    class Meta:
        model = Product

    store = factory.SubFactory(StoreFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    category = Category.BEAUTY
    status = ProductStatus.ON_SALE
    min_price = Decimal("99.00")


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU

    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"Variant {n}")
    price = Decimal("99.00")
    stock = 10
