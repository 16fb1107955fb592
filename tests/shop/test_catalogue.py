"""Reading the catalogue: the product list (filters, sorts, paging), a product's page (SKUs,
gallery, rating summary, grass planted by) and its reviews, with visibility and query budgets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.choices import Category, ReviewStatus
from notes.api.media import media_out
from notes.choices import NoteStatus, Visibility
from notes.models import NoteProduct
from notes.selectors import MEDIA_COLUMNS, notes_planting
from notes.services import notes as note_services
from shop import selectors
from shop.api.catalogue import ProductOut, product_page
from shop.api.serializers import ProductCardLeanOut, ProductCardOut
from shop.choices import ProductStatus
from shop.models import Product
from shop.selectors import products_for_cards
from tests.factories import BlockFactory, UserFactory
from tests.factories.accounts import BrandFactory
from tests.factories.notes import NoteFactory
from tests.factories.shop import ProductFactory, SKUFactory, StoreFactory, product_for_sale
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/shop/products"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def review(product, rating: int, *, verified: bool = False, **fields):
    return NoteFactory(product=product, rating=rating, is_verified_purchase=verified, **fields)


def tag(note, product):
    """``note`` tags ``product`` too, through the notes' service (which counts it on the product)."""
    tagged = list(note.product_tags.order_by("position").values_list("product_id", flat=True))
    note_services.note_update(note=note, editor=note.author, data={}, product_ids=[*tagged, product.pk])
    return note


def test_tagging_and_untagging_move_the_products_note_count():
    shown, other = product_for_sale(), product_for_sale()
    first, second = tag(NoteFactory(), shown), tag(NoteFactory(), shown)
    tag(first, other)
    assert note_counts(shown, other) == (2, 1)
    note_services.note_update(note=second, editor=second.author, data={}, product_ids=[other.pk])
    assert note_counts(shown, other) == (1, 2)
    note_services.note_update(note=first, editor=first.author, data={}, product_ids=[])
    assert (
        note_counts(shown, other)
        == (0, 1)
        == tuple(NoteProduct.objects.filter(product=p).count() for p in (shown, other))
    )


def note_counts(*products) -> tuple[int, ...]:
    return tuple(Product.objects.get(pk=p.pk).note_count for p in products)


def test_the_migration_counts_the_notes_tagging_each_product():
    """Migration 0005 added ``note_count``: it counts the tag rows of existing products."""
    from importlib import import_module

    from django.apps import apps

    product = product_for_sale()
    tag(NoteFactory(), product)
    tag(NoteFactory(), product)
    Product.objects.update(note_count=0)  # as products were before it
    import_module("shop.migrations.0005_product_note_count").count_tagging_notes(apps, None)
    assert note_counts(product) == (2,)


# --- the list ------------------------------------------------------------------------------------
def test_list_shows_cards_of_products_on_sale_in_approved_active_stores(anon_client):
    shown = product_for_sale(title="光研 修护精华", price="129.50", stock=3)
    product_for_sale(status=ProductStatus.DRAFT)
    product_for_sale(status=ProductStatus.OFF_SALE)
    product_for_sale(store=StoreFactory(is_active=False))
    product_for_sale(store=StoreFactory(brand=BrandFactory(status=ReviewStatus.PENDING)))
    response = anon_client.get(URL)
    assert ids(response) == [shown.pk]
    card = response.json()["results"][0]
    cover = shown.product_images.get().media
    assert card == {
        "id": shown.pk,
        "title": "光研 修护精华",
        "store": shown.store.name,
        "category": "beauty",
        "status": "on_sale",
        "min_price": "129.50",
        "rating": None,
        "rating_count": 0,
        "review_count": 0,
        "cover_url": f"http://testserver/media/{cover.variants['feed']}",
        "in_stock": True,
    }
    assert response.json()["next"] is None


def test_lean_cards_are_what_the_model_serializer_writes():
    """Lists, search and notes write product cards as plain dicts: the same as ``ProductCardOut``."""
    products = [
        product_for_sale(price="129.5", rating_count=3, rating_sum=13, review_count=4),
        product_for_sale(price="0.99", stock=0, images=0),
        ProductFactory(min_price=None),  # no SKU: no price
    ]
    shaped = list(products_for_cards().filter(pk__in=[p.pk for p in products]).order_by("pk"))
    context = {"request": RequestFactory().get("/")}
    lean = ProductCardLeanOut(shaped, many=True, context=context).data
    assert lean == ProductCardOut(shaped, many=True, context=context).data
    assert [card["min_price"] for card in lean] == ["129.50", "0.99", None]


def test_card_without_a_ready_image_or_stock(anon_client):
    product = ProductFactory()
    SKUFactory(product=product, stock=0)
    SKUFactory(product=product, stock=5, is_active=False)  # stock off sale does not count
    card = anon_client.get(URL).json()["results"][0]
    assert (card["cover_url"], card["in_stock"]) == (None, False)


def test_filters(anon_client):
    lip = product_for_sale(category=Category.BEAUTY, price="59.00")
    dress = product_for_sale(category=Category.FASHION, price="399.00")
    sold_out = product_for_sale(category=Category.FASHION, price="199.00", stock=0)
    assert ids(anon_client.get(URL, {"category": "fashion", "sort": "price_asc"})) == [sold_out.pk, dress.pk]
    assert ids(anon_client.get(URL, {"brand": lip.store.brand.slug})) == [lip.pk]
    assert ids(anon_client.get(URL, {"min_price": "100", "max_price": "300"})) == [sold_out.pk]
    assert ids(anon_client.get(URL, {"max_price": "59.00"})) == [lip.pk]
    assert ids(anon_client.get(URL, {"in_stock": "true", "sort": "price_asc"})) == [lip.pk, dress.pk]
    assert ids(anon_client.get(URL, {"in_stock": "false"})) == [sold_out.pk]
    # An empty filter, as a form with nothing chosen sends it, filters nothing.
    empty = {"category": "", "brand": "", "min_price": "", "in_stock": "", "sort": "price_asc"}
    assert ids(anon_client.get(URL, empty)) == [lip.pk, sold_out.pk, dress.pk]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"category": "cars"}, "category"),
        ({"sort": "cheapest"}, "sort"),
        ({"min_price": "abc"}, "min_price"),
        ({"min_price": "-1"}, "min_price"),
        ({"min_price": "50", "max_price": "10"}, "max_price"),
    ],
)
def test_bad_filters_are_400(anon_client, params, field):
    assert field in assert_error(anon_client.get(URL, params), 400, "invalid")["fields"]


def test_sorts(anon_client):
    cheap = product_for_sale(price="19.90", sales_count=5, review_count=1)
    talked_about = product_for_sale(price="99.00", sales_count=5)
    best_seller = product_for_sale(price="299.00", sales_count=50)
    loved = product_for_sale(price="59.00", rating_count=2, rating_sum=10)
    liked = product_for_sale(price="69.00", rating_count=4, rating_sum=18)
    for _ in range(2):
        tag(NoteFactory(), talked_about)
    assert ids(anon_client.get(URL)) == [best_seller.pk, talked_about.pk, cheap.pk, liked.pk, loved.pk]
    assert ids(anon_client.get(URL, {"sort": "newest"})) == [
        liked.pk,
        loved.pk,
        best_seller.pk,
        talked_about.pk,
        cheap.pk,
    ]
    assert ids(anon_client.get(URL, {"sort": "price_asc"})) == [
        cheap.pk,
        loved.pk,
        liked.pk,
        talked_about.pk,
        best_seller.pk,
    ]
    assert ids(anon_client.get(URL, {"sort": "price_desc"})) == [
        best_seller.pk,
        talked_about.pk,
        liked.pk,
        loved.pk,
        cheap.pk,
    ]
    # 5.0 over 2 reviews, then 4.5; unrated products last, newest first
    assert ids(anon_client.get(URL, {"sort": "rating"})) == [
        loved.pk,
        liked.pk,
        best_seller.pk,
        talked_about.pk,
        cheap.pk,
    ]


@pytest.mark.parametrize("sort", ["newest", "popular", "price_asc", "rating"])
def test_pages_cover_every_product_once(anon_client, sort):
    products = [product_for_sale(price=f"{10 + n % 4}.00", images=0) for n in range(7)]
    seen, url, params = [], URL, {"sort": sort, "page_size": 3}
    while url:
        page = anon_client.get(url, params).json()
        seen += [item["id"] for item in page["results"]]
        url, params = page["next"], None
    assert sorted(seen) == sorted(p.pk for p in products) and len(seen) == 7


@pytest.mark.parametrize("sort", ["newest", "popular", "rating", "price_desc"])
def test_list_query_budget_does_not_grow_with_the_page(client_for, sort):
    for n in range(22):
        product = product_for_sale(images=2, sales_count=n)
        SKUFactory(product=product)
        tag(NoteFactory(), product)
    client = client_for(UserFactory())
    counts = []
    for size in (1, 20):
        with CaptureQueriesContext(connection) as captured:
            assert len(ids(client.get(URL, {"sort": sort, "page_size": size}))) == size
        counts.append(len(captured))
    assert counts[0] == counts[1] == 3  # the JWT's user, the page, then its stock


# --- a product's page ----------------------------------------------------------------------------
def test_detail_shows_skus_gallery_and_ratings(api):
    product = product_for_sale(title="Glow serum", price="129.00", stock=3, images=2, description="Gentle.")
    big = SKUFactory(product=product, name="50ml", price=Decimal("199.00"), stock=40, per_order_limit=2)
    SKUFactory(product=product, name="old", is_active=False)
    for rating, verified in [(5, True), (5, True), (4, True), (3, False), (1, False)]:
        review(product, rating, verified=verified)
    review(product, 2, visibility=Visibility.PRIVATE)  # only its author sees it: not counted
    review(product, 2, status=NoteStatus.DRAFT)
    body = api.get(f"{URL}/{product.pk}").json()
    assert (body["title"], body["description"], body["currency"], body["is_owner"]) == (
        "Glow serum",
        "Gentle.",
        "CNY",
        False,
    )
    assert (body["brand"], body["store_id"], body["min_price"]) == (
        product.store.brand.slug,
        product.store_id,
        "129.00",
    )
    small = product.skus.order_by("id").first()
    assert body["skus"] == [
        {
            "id": small.pk,
            "name": small.name,
            "attributes": {},
            "price": "129.00",
            "stock": None,  # exact stock is the brand's business
            "stock_state": "low_stock",
            "per_order_limit": 10,
            "is_active": True,
        },
        {
            "id": big.pk,
            "name": "50ml",
            "attributes": {},
            "price": "199.00",
            "stock": None,
            "stock_state": "in_stock",
            "per_order_limit": 2,
            "is_active": True,
        },
    ]
    gallery = [image.media for image in product.product_images.order_by("position")]
    assert [image["id"] for image in body["images"]] == [m.pk for m in gallery]
    assert body["images"][0]["variants"]["full"] == f"http://testserver/media/{gallery[0].variants['full']}"
    # Read as one JSON array with the product, the gallery renders as each medium does on its own.
    request = RequestFactory().get("/")
    assert body["images"] == [
        media_out(request, **{c: getattr(m, c) for c in MEDIA_COLUMNS}) for m in gallery
    ]
    assert body["ratings"] == {
        "all": {"count": 5, "average": 3.6, "distribution": {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}},
        "verified": {"count": 3, "average": 4.67, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 2}},
    }


@pytest.mark.parametrize("as_owner", [False, True])
def test_the_page_is_what_the_model_serializer_writes(as_owner):
    """The product's page is written as a plain dict: the same as ``ProductOut`` (the schema)."""
    product = product_for_sale(price="129.5", stock=3, images=2, description="Gentle.")
    SKUFactory(product=product, stock=0, is_active=False, attributes={"颜色": "红"})
    review(product, 4, verified=True)
    tag(NoteFactory(like_count=3), product)
    viewer = product.store.brand.owner if as_owner else UserFactory()
    request = RequestFactory().get("/")
    shown = selectors.product_get_for_viewer(product_id=product.pk, viewer=viewer)
    shown.planted_by = notes_planting(product=shown, viewer=viewer)
    page = product_page(request, shown)
    assert page == ProductOut(shown, context={"request": request}).data
    assert len(page["skus"]) == (2 if as_owner else 1) and page["planted_by"] and page["images"]


def test_sold_out_sku_and_a_product_without_reviews(anon_client):
    product = product_for_sale(stock=0)
    body = anon_client.get(f"{URL}/{product.pk}").json()
    assert [sku["stock_state"] for sku in body["skus"]] == ["sold_out"]
    assert body["in_stock"] is False
    empty = {"count": 0, "average": None, "distribution": {str(n): 0 for n in range(1, 6)}}
    assert body["ratings"] == {"all": empty, "verified": empty}
    assert body["planted_by"] == []


def test_exact_stock_is_for_the_brand_owner_and_staff_only(client_for, anon_client):
    product = product_for_sale(stock=3)
    SKUFactory(product=product, name="50ml", stock=40)

    def skus(client) -> list[tuple[int | None, str]]:
        response = client.get(f"{URL}/{product.pk}")
        assert response.status_code == 200, response.content
        return [(sku["stock"], sku["stock_state"]) for sku in response.json()["skus"]]

    hidden, exact = [(None, "low_stock"), (None, "in_stock")], [(3, "low_stock"), (40, "in_stock")]
    assert skus(anon_client) == hidden
    assert skus(client_for(UserFactory())) == hidden
    assert skus(client_for(StoreFactory().brand.owner)) == hidden  # another brand: a competitor
    assert skus(client_for(product.store.brand.owner)) == exact
    assert skus(client_for(UserFactory(is_staff=True))) == exact
    card = anon_client.get(URL).json()["results"][0]  # lists carry a flag, never numbers
    assert (card["id"], card["in_stock"], "stock" in card, "skus" in card) == (product.pk, True, False, False)


def test_the_schema_says_stock_may_be_null(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    stock = schema["components"]["schemas"]["SKUOut"]["properties"]["stock"]
    assert (stock["type"], stock.get("nullable")) == ("integer", True)


def test_grass_planted_by_the_most_engaging_visible_notes(client_for):
    product = product_for_sale()
    viewer = UserFactory()
    quiet = tag(NoteFactory(like_count=1), product)
    loud = tag(NoteFactory(like_count=5, collect_count=5), product)
    chatty = tag(NoteFactory(comment_count=7), product)
    tag(NoteFactory(like_count=99, visibility=Visibility.PRIVATE), product)
    blocker = UserFactory()
    BlockFactory(blocker=blocker, blocked=viewer)
    tag(NoteFactory(author=blocker, like_count=99), product)
    NoteFactory(like_count=50)  # tags nothing
    body = client_for(viewer).get(f"{URL}/{product.pk}").json()
    assert [note["id"] for note in body["planted_by"]] == [loud.pk, chatty.pk, quiet.pk]
    assert body["planted_by"][0]["author"]["username"] == loud.author.username
    for n in range(8):
        tag(NoteFactory(like_count=100 + n), product)
    assert len(client_for(viewer).get(f"{URL}/{product.pk}").json()["planted_by"]) == 6


def test_drafts_and_off_sale_products_are_only_for_their_brand_owner(client_for, anon_client):
    draft = product_for_sale(status=ProductStatus.DRAFT)
    SKUFactory(product=draft, name="retired", is_active=False)
    off_sale = product_for_sale(status=ProductStatus.OFF_SALE, store=draft.store)
    owner = client_for(draft.store.brand.owner)
    for product in (draft, off_sale):
        assert_error(anon_client.get(f"{URL}/{product.pk}"), 404, "not_found")
        assert_error(client_for(UserFactory()).get(f"{URL}/{product.pk}"), 404, "not_found")
        assert_error(anon_client.get(f"{URL}/{product.pk}/reviews"), 404, "not_found")
    body = owner.get(f"{URL}/{draft.pk}").json()
    assert (body["status"], body["is_owner"]) == ("draft", True)
    assert [sku["is_active"] for sku in body["skus"]] == [True, False]  # the owner sees retired SKUs
    assert owner.get(f"{URL}/{off_sale.pk}").json()["status"] == "off_sale"
    assert owner.get(f"{URL}/{off_sale.pk}/reviews").json()["results"] == []
    assert_error(anon_client.get(f"{URL}/999999"), 404, "not_found")


def test_detail_query_budget_is_constant(client_for):
    product = product_for_sale(images=9)
    for n in range(20):
        SKUFactory(product=product)
        tag(NoteFactory(like_count=n), product)
        review(product, 1 + n % 5, verified=n % 2 == 0)
    client = client_for(UserFactory())
    with CaptureQueriesContext(connection) as captured:
        body = client.get(f"{URL}/{product.pk}").json()
    assert (len(body["skus"]), len(body["images"]), len(body["planted_by"])) == (21, 9, 6)
    # the user, the product (with its gallery and review counts), the SKUs, the notes
    assert len(captured) == 4, [q["sql"][:80] for q in captured]


# --- reviews -------------------------------------------------------------------------------------
def test_reviews_put_verified_purchases_first_then_newest(client_for):
    product = product_for_sale()
    viewer = UserFactory()
    old_verified = review(product, 5, verified=True, body="Worth it.")
    plain = review(product, 3)
    new_verified = review(product, 4, verified=True)
    newest = review(product, 2)
    review(product, 1, visibility=Visibility.PRIVATE)
    review(product_for_sale(), 5)  # another product's
    response = client_for(viewer).get(f"{URL}/{product.pk}/reviews")
    assert ids(response) == [new_verified.pk, old_verified.pk, newest.pk, plain.pk]
    first = response.json()["results"][1]
    assert (first["rating"], first["is_verified_purchase"], first["body"]) == (5, True, "Worth it.")
    assert first["author"]["username"] == old_verified.author.username


def test_reviews_page_and_budget(client_for):
    product = product_for_sale()
    made = [review(product, 4, verified=n % 3 == 0) for n in range(23)]
    client = client_for(UserFactory())
    counts, seen, url, params = [], [], f"{URL}/{product.pk}/reviews", {"page_size": 10}
    while url:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url, params).json()
        counts.append(len(captured))
        seen += [item["id"] for item in page["results"]]
        url, params = page["next"], None
    assert sorted(seen) == sorted(note.pk for note in made) and len(seen) == 23
    assert len(set(counts)) == 1 and counts[0] <= 3  # user, product, page


def test_notes_show_tagged_and_reviewed_products_as_cards(api):
    reviewed = product_for_sale(title="Glow serum")
    tagged = product_for_sale(title="Linen trousers", stock=0)
    note = tag(review(reviewed, 5, author=api.user), tagged)
    body = api.get(f"/api/v1/notes/{note.pk}").json()
    cover = reviewed.product_images.get().media.variants["feed"]
    assert (body["product"]["title"], body["product"]["in_stock"]) == ("Glow serum", True)
    assert body["product"]["cover_url"] == f"http://testserver/media/{cover}"
    assert [(card["title"], card["in_stock"]) for card in body["products"]] == [("Linen trousers", False)]
    assert body["products"][0]["cover_url"].startswith("http://testserver/media/")
