"""The shop part of the demo world: brand stores, ~40 products with SKUs and generated photos, and
notes that tag products or review them. Steps follow ``accounts.demo`` (deterministic from the
seed, idempotent, written through the services).

The shop is content, like notes: with ``--notes 0`` (the people-only world) these steps add
nothing. Product photos go through the real media pipeline, as in ``notes.demo``. Verified
purchases come from orders, which the order steps seed; reviews here start unverified.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from accounts import services as account_services
from accounts.choices import Category
from accounts.demo import BRAND_SLUG, LOGINS, DemoContext, Step
from accounts.models import Brand, User
from notes.choices import NoteStatus
from notes.demo import photo_jpeg
from notes.models import Note
from notes.services import notes as note_services
from notes.services.media import media_process, media_upload
from shop.choices import ProductStatus
from shop.models import Product, Store
from shop.services import catalogue


@dataclass(frozen=True)
class StoreSpec:
    slug: str
    name: str
    description: str
    owner: str | None  # a demo login, or None: the next ordinary person not running a store yet
    license: str = ""


STORES: tuple[StoreSpec, ...] = (
    StoreSpec(
        BRAND_SLUG, "Glow Lab 光研旗舰店", "科学护肤，敏感肌友好 · Gentle skincare from Shanghai.", "brand"
    ),
    StoreSpec(
        "urban-thread",
        "Urban Thread 城市织物",
        "通勤与运动穿搭 · Everyday and active wear.",
        None,
        "91310000UT2024001X",
    ),
    StoreSpec(
        "hearth-home",
        "Hearth 暖居",
        "让出租屋也有家的感觉 · Small-space home goods.",
        None,
        "91330100HH2023007K",
    ),
    StoreSpec(
        "pixel-gear",
        "Pixel Gear 像素数码",
        "桌面与数码好物 · Desk and gadget picks.",
        None,
        "91440300PG2022015M",
    ),
)


@dataclass(frozen=True)
class ProductSpec:
    """A product: its variants are every combination of ``options`` (axis -> values); each value
    after an axis's first adds ``step`` to ``price``."""

    store: str
    title: str
    category: str
    label: str  # the photo's caption (Pillow's bundled font has no CJK glyphs)
    price: str
    options: dict[str, tuple[str, ...]]
    step: str = "0"
    description: str = ""
    status: str = ProductStatus.ON_SALE


B, F, H, T, FIT = Category.BEAUTY, Category.FASHION, Category.HOME, Category.TECH, Category.FITNESS
SIZES = ("S", "M", "L")
PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        BRAND_SLUG,
        "光研 B5 修护精华",
        B,
        "SERUM",
        "129.00",
        {"规格": ("30ml", "50ml")},
        "70",
        "敏感肌换季救星",
    ),
    ProductSpec(BRAND_SLUG, "Glow Lab Ceramide Cream", B, "CREAM", "159.00", {"size": ("50g", "100g")}, "90"),
    ProductSpec(BRAND_SLUG, "氨基酸温和洁面", B, "CLEANSER", "69.00", {"规格": ("120g",)}),
    ProductSpec(BRAND_SLUG, "Daily Mineral Sunscreen SPF50", B, "SPF50", "119.00", {"size": ("40ml",)}),
    ProductSpec(
        BRAND_SLUG,
        "丝绒雾面唇釉",
        B,
        "LIP",
        "89.00",
        {"色号": ("01 樱花粉", "02 豆沙", "03 正红", "04 焦糖")},
        description="黄皮友好",
    ),
    ProductSpec(BRAND_SLUG, "Hydrating Toner", B, "TONER", "99.00", {"size": ("150ml", "300ml")}, "60"),
    ProductSpec(BRAND_SLUG, "玻尿酸补水面膜 10片", B, "MASK", "79.00", {"规格": ("10片", "20片")}, "65"),
    ProductSpec(BRAND_SLUG, "Retinol Night Serum", B, "RETINOL", "189.00", {"size": ("30ml",)}),
    ProductSpec(BRAND_SLUG, "控油定妆散粉", B, "POWDER", "109.00", {"色号": ("透明色", "自然色")}),
    ProductSpec(
        BRAND_SLUG, "Vitamin C Brightening Drops", B, "VIT C", "149.00", {"size": ("15ml", "30ml")}, "80"
    ),
    ProductSpec(
        BRAND_SLUG, "眼部修护精华 (新品预告)", B, "EYE", "169.00", {"规格": ("15ml",)}, status="draft"
    ),
    ProductSpec(
        BRAND_SLUG, "Glow Lab 旅行套装 2023", B, "TRAVEL", "99.00", {"规格": ("套装",)}, status="off_sale"
    ),
    ProductSpec(
        "urban-thread", "奶油色针织开衫", F, "KNIT", "259.00", {"颜色": ("奶油白", "燕麦色"), "尺码": SIZES}
    ),
    ProductSpec(
        "urban-thread",
        "Wide-leg Linen Trousers",
        F,
        "LINEN",
        "299.00",
        {"colour": ("Sand", "Black"), "size": SIZES},
    ),
    ProductSpec(
        "urban-thread", "高腰A字半身裙", F, "SKIRT", "199.00", {"颜色": ("黑色", "卡其"), "尺码": SIZES}
    ),
    ProductSpec(
        "urban-thread",
        "Oversized Cotton Tee",
        F,
        "TEE",
        "99.00",
        {"colour": ("White", "Navy", "Sage"), "size": SIZES},
    ),
    ProductSpec(
        "urban-thread", "小个子显高西装外套", F, "BLAZER", "459.00", {"颜色": ("藏青",), "尺码": SIZES}
    ),
    ProductSpec(
        "urban-thread", "Everyday Canvas Tote", F, "TOTE", "129.00", {"colour": ("Natural", "Black")}
    ),
    ProductSpec("urban-thread", "真丝印花丝巾", F, "SCARF", "189.00", {"颜色": ("蓝调", "粉调")}),
    ProductSpec("urban-thread", "Chunky Loafers", F, "LOAFER", "399.00", {"size": ("36", "37", "38", "39")}),
    ProductSpec("urban-thread", "复古细框墨镜", F, "SHADES", "159.00", {"颜色": ("玳瑁", "黑框")}),
    ProductSpec(
        "urban-thread",
        "Pleated Midi Dress",
        F,
        "DRESS",
        "359.00",
        {"colour": ("Sage", "Rose"), "size": SIZES},
    ),
    ProductSpec(
        "urban-thread", "高弹瑜伽裤", FIT, "LEGGINGS", "179.00", {"颜色": ("黑色", "雾霾蓝"), "尺码": SIZES}
    ),
    ProductSpec(
        "urban-thread",
        "Seamless Sports Bra",
        FIT,
        "BRA",
        "129.00",
        {"colour": ("Black", "Lilac"), "size": SIZES},
    ),
    ProductSpec("urban-thread", "TPE 防滑瑜伽垫 6mm", FIT, "YOGA MAT", "149.00", {"颜色": ("紫色", "绿色")}),
    ProductSpec(
        "urban-thread", "Adjustable Dumbbells", FIT, "DUMBBELL", "499.00", {"weight": ("10kg", "20kg")}, "300"
    ),
    ProductSpec("hearth-home", "ins风 暖光氛围灯", H, "LAMP", "89.00", {"款式": ("圆球", "蘑菇")}),
    ProductSpec(
        "hearth-home", "Washed Cotton Duvet Set", H, "DUVET", "399.00", {"size": ("1.5m", "1.8m")}, "100"
    ),
    ProductSpec("hearth-home", "香薰蜡烛 小苍兰", H, "CANDLE", "69.00", {"规格": ("200g",)}),
    ProductSpec("hearth-home", "Foldable Balcony Table", H, "TABLE", "229.00", {"colour": ("Teak", "White")}),
    ProductSpec("hearth-home", "免打孔置物架", H, "SHELF", "59.00", {"规格": ("两层", "三层")}, "30"),
    ProductSpec(
        "hearth-home", "Ceramic Herb Planters (3)", H, "PLANTER", "79.00", {"colour": ("Cream", "Terracotta")}
    ),
    ProductSpec("hearth-home", "北欧羊毛地毯", H, "RUG", "299.00", {"尺寸": ("120x160", "160x230")}, "200"),
    ProductSpec(
        "hearth-home", "Linen Blackout Curtains", H, "CURTAIN", "259.00", {"colour": ("Grey", "Beige")}
    ),
    ProductSpec("pixel-gear", "磁吸无线充电支架", T, "CHARGER", "129.00", {"颜色": ("白色", "黑色")}),
    ProductSpec(
        "pixel-gear",
        "Minimal Desk Mat",
        T,
        "DESK MAT",
        "79.00",
        {"colour": ("Grey", "Green"), "size": ("M", "L")},
        "20",
    ),
    ProductSpec("pixel-gear", "机械键盘 75% 配列", T, "KEYBOARD", "399.00", {"轴体": ("红轴", "茶轴")}),
    ProductSpec(
        "pixel-gear", "Noise-cancelling Earbuds", T, "EARBUDS", "599.00", {"colour": ("White", "Black")}
    ),
    ProductSpec("pixel-gear", "iPad 类纸膜", T, "FILM", "49.00", {"尺寸": ("11寸", "12.9寸")}, "10"),
    ProductSpec("pixel-gear", "Cable Organiser Kit", T, "CABLES", "39.00", {"set": ("Basic", "Pro")}, "20"),
)
#: Star ratings of demo reviews, mostly happy as on any shop.
RATING_WEIGHTS = {1: 1, 2: 1, 3: 3, 4: 7, 5: 8}


def _owners(ctx: DemoContext) -> dict[str, User]:
    """Store slug -> owner: named logins, then ordinary people in cast order (none left: no store)."""
    logins = {spec.username for spec in LOGINS}
    people = iter([user for name, user in ctx.users.items() if name not in logins])
    owners = {}
    for spec in STORES:
        owner = ctx.users.get(spec.owner) if spec.owner else next(people, None)
        if owner is not None:
            owners[spec.slug] = owner
    return owners


def _store(spec: StoreSpec, owner: User, admin: User) -> Store | None:
    """The store of ``spec``'s brand, applying and approving the brand when it is absent. A brand
    someone else holds, or one a moderator decided otherwise by hand, is left alone."""
    brand = Brand.objects.filter(Q(slug=spec.slug) | Q(name__iexact=spec.name)).first()
    if brand is None:
        brand = account_services.brand_apply(
            owner=owner,
            name=spec.name,
            slug=spec.slug,
            business_license=spec.license,
            description=spec.description,
        )
        account_services.brand_review(brand=brand, reviewer=admin, approve=True)
    if brand.owner_id != owner.pk:
        return None
    store, _ = Store.objects.get_or_create(
        brand=brand, defaults={"name": spec.name, "description": spec.description}
    )
    return store


def _photo(owner: User, *, seed: str, label: str) -> int:
    media = media_upload(
        owner=owner, upload=SimpleUploadedFile("product.jpg", photo_jpeg(seed=seed, label=label))
    )
    media_process(media_id=media.pk)
    return media.pk


def _skus(ctx: DemoContext, spec: ProductSpec) -> list[dict]:
    rng = ctx.rng("skus", spec.title)
    axes = list(spec.options)
    skus = []
    for values in itertools.product(*spec.options.values()):
        tier = spec.options[axes[0]].index(values[0])
        skus.append(
            {
                "name": " / ".join(values),
                "attributes": dict(zip(axes, values, strict=True)),
                "price": Decimal(spec.price) + Decimal(spec.step) * tier,
                "stock": 0 if rng.random() < 0.1 else rng.randint(3, 300),
                "per_order_limit": rng.choice([2, 5, 10, 10]),
            }
        )
    return skus


def seed_stores(ctx: DemoContext) -> None:
    """The brand stores and their products, each made only when absent (by store and title), so
    stock sold or prices changed since are kept."""
    if not ctx.notes_per_person:
        return
    owners = _owners(ctx)
    stores = {}
    for spec in STORES:
        if spec.slug in owners:
            stores[spec.slug] = _store(spec, owners[spec.slug], ctx.users["admin"])
    created = 0
    for spec in ctx.track(PRODUCTS, "products"):
        store = stores.get(spec.store)
        if store is None or Product.objects.filter(store=store, title=spec.title).exists():
            continue
        owner = owners[spec.store]
        photos = ctx.rng("product photos", spec.title).randint(1, 2)
        catalogue.product_create(
            store=store,
            owner=owner,
            title=spec.title,
            category=spec.category,
            description=spec.description or spec.title,
            status=spec.status,
            media_ids=[
                _photo(owner, seed=f"{ctx.seed}:{spec.title}:{n}", label=spec.label) for n in range(photos)
            ],
            skus=_skus(ctx, spec),
        )
        created += 1
    live = sum(1 for store in stores.values() if store is not None)
    ctx.summary.append(f"{live} brand stores, {created} new products ({Product.objects.count()} in all)")


def seed_product_notes(ctx: DemoContext) -> None:
    """Some demo notes tag products of their category ("grass planting"), some review one; a note
    already tagging or reviewing is left as it is."""
    if not ctx.notes_per_person:
        return
    by_category: dict[str, list[int]] = {}
    for pk, category in Product.objects.on_sale().order_by("pk").values_list("pk", "category"):
        by_category.setdefault(category, []).append(pk)
    notes = Note.objects.filter(
        author__in=ctx.users.values(), status=NoteStatus.PUBLISHED, category__in=by_category
    ).select_related("author")
    sellers = set(Store.objects.values_list("brand__owner_id", flat=True))
    tagged = reviewed = 0
    for note in ctx.track(sorted(notes, key=lambda n: (n.author.username, n.title)), "tags"):
        rng = ctx.rng("product notes", note.author.username, note.title)
        choices = by_category[note.category]
        review = rng.random() < 0.3 and note.product_id is None and note.author_id not in sellers
        tags = rng.random() < 0.45 and not note.product_tags.exists()
        if not (review or tags):
            continue
        rating = rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]
        note_services.note_update(
            note=note,
            editor=note.author,
            data={},
            review=(rng.choice(choices), rating) if review else None,
            product_ids=rng.sample(choices, min(len(choices), rng.randint(1, 2))) if tags else None,
        )
        reviewed, tagged = reviewed + review, tagged + tags
    # The receivers recount as the step commits; counting here too keeps the figures right when
    # seed_demo runs inside an outer transaction (tests), where nothing commits.
    for pk in Product.objects.filter(reviews__isnull=False).values_list("pk", flat=True).distinct():
        catalogue.product_reviews_recount(product_id=pk)
    ctx.summary.append(f"{tagged} notes newly tag products, {reviewed} newly review one")


STEPS: list[tuple[str, Step]] = [
    ("stores", seed_stores),
    ("product notes", seed_product_notes),
]
