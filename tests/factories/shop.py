from decimal import Decimal

import factory

from accounts.choices import Category, ReviewStatus
from shop.choices import ProductStatus
from shop.models import SKU, Product, ProductImage, Store
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


class ProductImageFactory(factory.django.DjangoModelFactory):
    """A ready image in a product's gallery, owned by the brand owner."""

    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    media = factory.SubFactory(
        "tests.factories.notes.MediaFactory", owner=factory.SelfAttribute("..product.store.brand.owner")
    )
    position = factory.Sequence(lambda n: n)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "shop.Address"

    user = factory.SubFactory("tests.factories.accounts.UserFactory")
    recipient = "王小红"
    phone = "13800138000"
    province = "上海市"
    city = "上海市"
    district = "静安区"
    line = factory.Sequence(lambda n: f"南京西路 {n} 号")
    is_default = True


def product_for_sale(*, price: str = "99.00", stock: int = 10, images: int = 1, **fields) -> Product:
    """A product with one SKU of ``price`` and ``stock`` and ``images`` gallery images, its
    ``min_price`` set as the catalogue services would (on sale unless ``status`` says otherwise)."""
    product = ProductFactory(min_price=Decimal(price), **fields)
    SKUFactory(product=product, price=Decimal(price), stock=stock)
    for _ in range(images):
        ProductImageFactory(product=product)
    return product
