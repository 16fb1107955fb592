"""The demo world behind ``manage.py seed_demo``: demo logins, people, avatars and a follow graph.

The world is a list of steps (``STEPS``), each a function of a :class:`DemoContext`. Later apps
(notes, shop, ads) append their own steps after these and find the people in ``ctx.users``.

Every step keeps two promises:

* **Deterministic**: all randomness comes from ``ctx.rng(label, ...)``, a ``random.Random`` seeded
  from ``--seed`` and a label, so a step's draws never depend on what is already in the database,
  nor on how many draws another step or another user made.
* **Idempotent**: running again converges on the same rows (``update_or_create``, idempotent
  services, "only if absent"), never duplicates them. Steps add or refresh and never delete: an
  unfollow made by hand is redone, but a block, a decided application or extra rows stay.

Writes go through ``accounts.services`` like the API's, so counters and notifications stay right.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management.base import CommandError
from django.db.models import Q
from PIL import Image, ImageDraw, ImageFont

from accounts import services
from accounts.choices import Audience, Category, Gender
from accounts.models import Brand, Follow, FollowRequest, KolCertification, User
from accounts.moderation import MODERATORS_GROUP
from config.errors import NotFound

DEMO_PASSWORD = "zhongcao-demo"
DEFAULT_USERS = 40
EMAIL_DOMAIN = "demo.zhongcao.local"
BRAND_SLUG = "glow-lab"
BRAND_NAME = "Glow Lab 光研"


# --- the context steps share ------------------------------------------------------------------
@dataclass
class DemoContext:
    """What the steps share: the seed, the wanted size, progress reporting and the people made.

    ``users`` maps username to ``User`` for every demo person (logins first). Their counters are
    those read when the user step ran; refresh a user before trusting its counters.
    """

    seed: int = 42
    user_count: int = DEFAULT_USERS
    notes_per_person: int = 5
    progress: Callable[[Iterable, str], Iterable] | None = None
    users: dict[str, User] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def rng(self, *labels: object) -> random.Random:
        """A generator for one purpose: ``random.Random`` seeded from the seed and ``labels``.

        String seeds are hashed with SHA-512 by ``random``, so this is stable across processes
        (unlike ``hash()``) and platforms.
        """
        return random.Random(":".join(str(part) for part in (self.seed, *labels)))

    def track(self, items: Iterable, desc: str) -> Iterable:
        """Iterate ``items``, with a progress bar when the command shows one."""
        return self.progress(items, desc) if self.progress else items


Step = Callable[[DemoContext], None]


# --- who the demo people are ------------------------------------------------------------------
@dataclass(frozen=True)
class PersonSpec:
    """Everything seed_demo sets on one person. ``profile`` holds only ``services.PROFILE_FIELDS``."""

    username: str
    profile: dict
    role: str = "ordinary user"
    is_staff: bool = False
    is_superuser: bool = False


LOGINS: tuple[PersonSpec, ...] = (
    PersonSpec(
        "admin",
        role="superuser: everything in the admin",
        is_staff=True,
        is_superuser=True,
        profile={
            "nickname": "种草管理员 Admin",
            "bio": "Zhongcao 运营团队 · Zhongcao operations",
            "gender": Gender.UNSPECIFIED,
            "birthday": None,
            "city": "上海",
            "interests": [],
            "is_private": False,
        },
    ),
    PersonSpec(
        "moderator",
        role="staff in the Moderators group",
        is_staff=True,
        profile={
            "nickname": "社区审核小助手",
            "bio": "社区审核 · 营造友善的种草氛围 🌱",
            "gender": Gender.UNSPECIFIED,
            "birthday": None,
            "city": "杭州",
            "interests": [],
            "is_private": False,
        },
    ),
    PersonSpec(
        "brand",
        role=f"owner of the approved brand {BRAND_NAME} ({BRAND_SLUG})",
        profile={
            "nickname": "Glow Lab 光研官方",
            "bio": "科学护肤，温和有效 ✨ Glow Lab official | 新品试用请关注",
            "gender": Gender.UNSPECIFIED,
            "birthday": None,
            "city": "上海",
            "interests": [Category.BEAUTY],
            "is_private": False,
        },
    ),
    PersonSpec(
        "kol",
        role="creator with a pending KOL certification",
        profile={
            "nickname": "Kiki美妆研究所",
            "bio": "成分党美妆博主 | 每周三更新测评 💄 合作请私信",
            "gender": Gender.FEMALE,
            "birthday": date(1995, 6, 18),
            "city": "杭州",
            "interests": [Category.BEAUTY, Category.FASHION, Category.TRAVEL],
            "is_private": False,
        },
    ),
    PersonSpec(
        "xiaohong",
        profile={
            "nickname": "小红同学",
            "bio": "爱吃爱玩爱分享 🌸 上海探店 | 周末旅行",
            "gender": Gender.FEMALE,
            "birthday": date(1999, 3, 8),
            "city": "上海",
            "interests": [Category.FOOD, Category.TRAVEL, Category.BEAUTY],
            "is_private": False,
        },
    ),
    PersonSpec(
        "alice",
        role="ordinary user, private account (follow requests to answer)",
        profile={
            "nickname": "Alice in Shanghai",
            "bio": "Expat in Shanghai. Coffee, yoga & weekend trips ☕🧘",
            "gender": Gender.FEMALE,
            "birthday": date(1993, 11, 2),
            "city": "Shanghai",
            "interests": [Category.FITNESS, Category.FOOD, Category.TRAVEL],
            "is_private": True,
        },
    ),
)
STAFF_LOGINS = frozenset(spec.username for spec in LOGINS if spec.is_staff)


class Persona(NamedTuple):
    """A generated person's fixed traits; what is left as ``None`` the seed decides."""

    username: str
    nickname: str
    gender: str | None = None
    category: str | None = None
    city: str | None = None


F, M, U, X = Gender.FEMALE, Gender.MALE, Gender.UNSPECIFIED, Gender.OTHER  # short for the tables
C = Category
# Interleaved so that a small --users still gets both languages and every category.
PERSONAS: tuple[Persona, ...] = (
    Persona("xiaolu_travel", "小鹿爱旅行", F, C.TRAVEL),
    Persona("emma_chen", "Emma Chen", F, C.BEAUTY),
    Persona("naicha_nosugar", "奶茶不加糖", F, C.FOOD),
    Persona("lucas_w", "Lucas W.", M, C.FITNESS),
    Persona("taozi_oolong", "桃子乌龙", F, C.FOOD),
    Persona("sophia_li", "Sophia Li", F, C.FASHION),
    Persona("chengdu_foodie", "成都吃货小分队", U, C.FOOD, "成都"),
    Persona("vivi_daily", "Vivi的日常", F, C.FASHION),
    Persona("lazycat_zhou", "懒猫周周", M, C.HOME),
    Persona("jay_travels", "Jay Travels", M, C.TRAVEL),
    Persona("yoga_linlin", "林林练瑜伽", F, C.FITNESS),
    Persona("mia_eats_sh", "Mia Eats SH", F, C.FOOD, "Shanghai"),
    Persona("ahong_coffee", "阿虹的咖啡日记", F, C.FOOD),
    Persona("oliver_zhang", "Oliver Zhang", M, C.TECH),
    Persona("mengmeng_mama", "萌萌妈咪", F, C.PARENTING),
    Persona("kiki_wang", "Kiki王", F, C.BEAUTY),
    Persona("laowang_tech", "数码老王", M, C.TECH),
    Persona("chloe_wu", "Chloe Wu", F, C.HOME),
    Persona("westlake_cat", "西湖边的猫", F, C.TRAVEL, "杭州"),
    Persona("ethan_tech", "Ethan Tech", M, C.TECH),
    Persona("sz_runner_ajie", "深圳跑者阿杰", M, C.FITNESS, "深圳"),
    Persona("tommy_chef", "Tommy做饭", M, C.FOOD),
    Persona("hutong_coffee", "胡同里的咖啡", U, C.FOOD, "北京"),
    Persona("grace_home", "Grace at Home", F, C.HOME),
    Persona("douzi_outfit", "豆子穿搭笔记", F, C.FASHION),
    Persona("anna_pilates", "Anna普拉提", F, C.FITNESS),
    Persona("mint_greentea", "薄荷绿茶", U, C.HOME),
    Persona("leo_runs", "Leo Runs", M, C.FITNESS),
    Persona("sanshui_kitchen", "三水下厨房", M, C.FOOD),
    Persona("ava_lin", "Ava Lin", F, C.TRAVEL),
    Persona("lulu_skincare", "露露的护肤笔记", F, C.BEAUTY),
    Persona("jojo_vintage", "JoJo古着店", F, C.FASHION),
    Persona("xiaoyu_camping", "小雨去露营", F, C.TRAVEL),
    Persona("noah_liu", "Noah L.", M, C.TECH),
    Persona("paopao_jiang", "泡泡酱", F, C.BEAUTY),
    Persona("ivy_makeup", "Ivy Makeup", F, C.BEAUTY),
    Persona("ayuan_fitness", "阿远健身打卡", M, C.FITNESS),
    Persona("daniel_k", "Daniel K.", M, C.PARENTING),
    Persona("qingqing_reads", "青青读书", F, C.HOME),
    Persona("zoe_bakes", "Zoe Bakes", F, C.FOOD),
    Persona("orange_soda", "橘子汽水", X, C.FASHION),
    Persona("panda_mama", "熊猫宝宝妈", F, C.PARENTING, "成都"),
    Persona("summer_qiu", "秋天的夏天", U, C.TRAVEL),
    Persona("ruby_ootd", "Ruby OOTD", F, C.FASHION),
    Persona("mianhua_tang", "棉花糖不甜", F, C.FOOD),
    Persona("kevin_gz", "Kevin in GZ", M, C.TECH, "Guangzhou"),
)
# Beyond the hand-written people: pinyin + Chinese parts and English names, combined in order.
_ZH_FIRST = (
    ("xiaomi", "小米"),
    ("doudou", "豆豆"),
    ("yuanyuan", "圆圆"),
    ("xixi", "西西"),
    ("lele", "乐乐"),
    ("nuonuo", "糯糯"),
    ("tangtang", "糖糖"),
    ("ahuan", "阿欢"),
)
_ZH_SECOND = (
    ("travels", "爱旅行", C.TRAVEL),
    ("eats", "吃不胖", C.FOOD),
    ("home", "的小窝", C.HOME),
    ("style", "穿搭日记", C.FASHION),
    ("fit", "在健身", C.FITNESS),
    ("daily", "的日常", None),
)
_EN_FIRST = (("Amy", F), ("Ben", M), ("Cindy", F), ("David", M), ("Elena", F), ("Frank", M))
_EN_LAST = ("Zhao", "Sun", "Huang", "Xu", "Ma", "He", "Guo", "Lin")

CITIES_ZH = ("上海", "北京", "杭州", "成都", "深圳", "广州", "南京", "武汉", "重庆", "西安", "苏州", "厦门")
CITIES_EN = ("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Hong Kong", "Singapore", "Chengdu")

BIOS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        C.BEAUTY: ("油皮的护肤笔记，不接广，真实分享", "成分党 | 平价彩妆挖掘机 💄"),
        C.FASHION: ("小个子穿搭 | 通勤也要好看", "古着爱好者，一衣多穿 👗"),
        C.FOOD: ("吃遍城市里的苍蝇馆子 🌶️", "下班后的厨房时光 🍳 一人食也要好好吃"),
        C.TRAVEL: ("一个爱拍照的旅行者，去过23个城市 🌍", "露营、徒步、看山看海 ⛰️"),
        C.FITNESS: ("健身第三年，分享增肌减脂干货 💪", "跑步 | 瑜伽 | 自律给我自由"),
        C.HOME: ("极简主义 | 租房改造 | 收纳控", "把小家过成喜欢的样子 🏡"),
        C.TECH: ("数码控，开箱测评 📱", "桌面改造 | 效率工具 | 键盘党 ⌨️"),
        C.PARENTING: ("育儿好物分享 | 带娃也要精致 👶", "绘本 | 亲子游 | 宝宝辅食"),
    },
    "en": {
        C.BEAUTY: ("Skincare nerd | honest reviews only", "Makeup on a budget 💄"),
        C.FASHION: ("Thrifting & vintage finds 👗", "Capsule wardrobe, everyday outfits"),
        C.FOOD: ("Will travel for dumplings 🥟", "Home cook. Meal prep Sundays."),
        C.TRAVEL: ("Exploring China one city at a time 🌏", "Coffee, film cameras and weekend trips 📷"),
        C.FITNESS: ("Runner, reader, occasional baker 🏃", "Gym 5x a week. Pilates on Sundays."),
        C.HOME: ("Minimalist home & small-space living", "Plants, candles and cosy corners 🪴"),
        C.TECH: ("Tech reviews in plain English", "Gadgets, desk setups and productivity"),
        C.PARENTING: ("Parent of two, sharing what actually works", "Kids' books, family trips, snacks"),
    },
}


def _persona_pool() -> list[Persona]:
    """The hand-written people, then generated combinations, with unique usernames, in a fixed order.

    A username depends only on its position, never on the seed: ``--seed`` reshapes the world,
    it does not invent a second cast of people.
    """
    zh = [
        Persona(f"{first}_{second}", f"{first_zh}{second_zh}", category=category)
        for second, second_zh, category in _ZH_SECOND
        for first, first_zh in _ZH_FIRST
    ]
    en = [
        Persona(f"{first}_{last}".lower(), f"{first} {last}", gender)
        for last in _EN_LAST
        for first, gender in _EN_FIRST
    ]
    # A fixed shuffle (not --seed's) so that consecutive people don't all share a name part.
    random.Random("personas").shuffle(zh)
    random.Random("personas").shuffle(en)
    generated = [person for pair in zip(zh, en, strict=True) for person in pair]
    pool, seen = [], {spec.username for spec in LOGINS}
    for persona in (*PERSONAS, *generated):
        if persona.username not in seen:
            seen.add(persona.username)
            pool.append(persona)
    return pool


PERSONA_POOL = _persona_pool()


def _persona(index: int) -> Persona:
    if index < len(PERSONA_POOL):
        return PERSONA_POOL[index]
    number = index - len(PERSONA_POOL) + 1
    return Persona(f"demo_user{number}", f"种草er {number}")


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def ordinary_specs(ctx: DemoContext) -> list[PersonSpec]:
    """The first ``ctx.user_count`` people of the pool, with the rest of their profile from the seed."""
    count = max(ctx.user_count, 0)
    private = set(ctx.rng("private").sample(range(count), k=max(1, count // 15))) if count else set()
    categories = list(Category.values)
    specs = []
    for index in range(count):
        persona = _persona(index)
        rng = ctx.rng("profile", persona.username)
        lang = "zh" if _is_chinese(persona.nickname) else "en"
        primary = persona.category or rng.choice(categories)
        others = rng.sample([c for c in categories if c != primary], k=rng.choice((0, 1, 1, 2, 2, 3)))
        gender = persona.gender or rng.choices([F, M, U, X], weights=[55, 35, 7, 3])[0]
        cities = CITIES_ZH if lang == "zh" or rng.random() < 0.3 else CITIES_EN
        specs.append(
            PersonSpec(
                persona.username,
                profile={
                    "nickname": persona.nickname,
                    "bio": rng.choice(BIOS[lang][primary]),
                    "gender": gender,
                    "birthday": date(1980, 1, 1) + timedelta(days=rng.randrange(26 * 365)),
                    "city": persona.city or rng.choice(cities),
                    "interests": [primary, *others],
                    "is_private": index in private,
                    "hide_collects": rng.random() < 0.15,
                    "comment_permission": Audience.FOLLOWERS if rng.random() < 0.1 else Audience.EVERYONE,
                },
            )
        )
    return specs


# --- avatars ------------------------------------------------------------------------------------
AVATAR_SOURCE_SIZE = 512


def _initials(username: str, nickname: str) -> str:
    """Latin initials ("Emma Chen" -> "EC"): Pillow's bundled font has no CJK glyphs."""
    words = re.findall(r"[A-Za-z]+", nickname)
    if words:
        return "".join(word[0] for word in words[:2]).upper()
    letters = re.findall(r"[A-Za-z0-9]", username)
    return letters[0].upper() if letters else ""


def _rgb(hue: float, lightness: float, saturation: float) -> tuple[int, int, int]:
    return tuple(round(channel * 255) for channel in colorsys.hls_to_rgb(hue % 1.0, lightness, saturation))


@functools.cache
def _glow_mask() -> Image.Image:
    """A radial gradient (black centre, white rim) twice the avatar size, to crop off-centre."""
    return Image.radial_gradient("L").resize(
        (AVATAR_SOURCE_SIZE * 2, AVATAR_SOURCE_SIZE * 2), Image.Resampling.BILINEAR
    )


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def avatar_png(*, username: str, nickname: str = "") -> bytes:
    """A 512x512 PNG: an off-centre radial gradient in colours derived from ``username``, a few
    translucent circles and the Latin initials. Same username, same picture."""
    digest = hashlib.sha256(username.encode()).digest()
    size = AVATAR_SOURCE_SIZE
    hue = digest[0] / 255
    light = _rgb(hue, 0.78, 0.85)
    deep = _rgb(hue + 0.04 + digest[1] / 255 * 0.12, 0.50, 0.70)

    # Cropping the big gradient off-centre puts the glow somewhere different for each user.
    dx, dy = (digest[i] % (size // 2) - size // 4 for i in (2, 3))
    mask = _glow_mask().crop((size // 2 + dx, size // 2 + dy, size // 2 + dx + size, size // 2 + dy + size))
    image = Image.composite(Image.new("RGB", (size, size), deep), Image.new("RGB", (size, size), light), mask)

    # Translucent shapes go on their own layer: ImageDraw ignores ink alpha for text on RGB images.
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i in range(3):
        x, y = digest[4 + i] * 2, digest[7 + i] * 2
        radius = 40 + digest[10 + i] % 120
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, 38 + 12 * i))
    initials = _initials(username, nickname)
    font = _font(230 if len(initials) == 1 else 190)
    if initials and isinstance(font, ImageFont.FreeTypeFont):
        draw.text((size / 2 + 5, size / 2 + 7), initials, font=font, fill=(0, 0, 0, 45), anchor="mm")
        draw.text((size / 2, size / 2), initials, font=font, fill=(255, 255, 255, 245), anchor="mm")
    image = Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")

    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # a throwaway upload: speed over size
    return out.getvalue()


def _has_avatar(user: User) -> bool:
    return bool(user.avatar) and user.avatar.storage.exists(user.avatar.name)


# --- steps ---------------------------------------------------------------------------------------
def seed_people(ctx: DemoContext) -> None:
    """The demo logins and ``ctx.user_count`` ordinary people, with profiles and avatars.

    Passwords (and emails) are set only when a person is created; roles and profile fields are
    re-applied every run; an avatar is drawn only for a person who has none.
    """
    hashed = make_password(DEMO_PASSWORD)  # once: the slow hasher would dominate the run otherwise
    created_count = avatar_count = 0
    for spec in ctx.track([*LOGINS, *ordinary_specs(ctx)], "people"):
        roles = {"is_staff": spec.is_staff, "is_superuser": spec.is_superuser}
        user, created = User.objects.update_or_create(
            username=spec.username,
            defaults=roles,
            create_defaults={**roles, "email": f"{spec.username}@{EMAIL_DOMAIN}", "password": hashed},
        )
        if created:
            created_count += 1
            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        avatar = None
        if not _has_avatar(user):
            png = avatar_png(username=user.username, nickname=spec.profile.get("nickname", ""))
            avatar = ContentFile(png, name="avatar.png")
            avatar_count += 1
        ctx.users[spec.username] = services.user_update_profile(user=user, data=spec.profile, avatar=avatar)
    ctx.summary.append(f"{len(ctx.users)} people ({created_count} new, {avatar_count} avatars drawn)")


def seed_roles(ctx: DemoContext) -> None:
    """The moderator joins the Moderators group; ``brand`` owns the approved brand; ``kol`` has
    applied for certification. Applications are made only when absent, so a decision a moderator
    took by hand in the admin survives a rerun."""
    users = ctx.users
    try:
        moderators = Group.objects.get(name=MODERATORS_GROUP)
    except Group.DoesNotExist as exc:
        raise CommandError(f"The {MODERATORS_GROUP} group is missing: run `manage.py migrate`.") from exc
    users["moderator"].groups.add(moderators)

    if not Brand.objects.filter(Q(slug=BRAND_SLUG) | Q(name__iexact=BRAND_NAME)).exists():
        brand = services.brand_apply(
            owner=users["brand"],
            name=BRAND_NAME,
            slug=BRAND_SLUG,
            business_license="91310115MA1K4GLW2X",
            description=(
                "Glow Lab 光研：来自上海的科学护肤品牌，专注敏感肌的温和修护。"
                " Gentle, science-backed skincare from Shanghai."
            ),
            website="https://glowlab.example.com",
        )
        services.brand_review(brand=brand, reviewer=users["admin"], approve=True)

    kol = users["kol"]
    if not kol.is_kol_certified and not KolCertification.objects.filter(user=kol).exists():
        services.certification_apply(
            user=kol,
            real_name="王琪琪",
            category=Category.BEAUTY,
            statement=(
                "三年美妆内容创作，专注成分测评和敏感肌护理，全平台粉丝 12 万。"
                " Three years of ingredient-first beauty reviews, 120k followers across platforms."
            ),
            portfolio_url="https://kiki-beauty.example.com",
        )
    brand = Brand.objects.filter(slug=BRAND_SLUG).first()
    certification = KolCertification.objects.filter(user=kol).first()
    ctx.summary.append(
        f"brand {BRAND_SLUG}: {brand.status if brand else 'absent'}; "
        f"kol certification: {certification.status if certification else 'none'}"
    )


# Pairs every seed has, so the demo logins have something to look at.
FIXED_FOLLOWS: tuple[tuple[str, str], ...] = (
    ("xiaohong", "kol"),
    ("xiaohong", "brand"),
    ("xiaohong", "alice"),
    ("alice", "kol"),
    ("alice", "xiaohong"),
    ("kol", "brand"),
)


def plan_follows(ctx: DemoContext) -> list[tuple[str, str, bool]]:
    """``(follower, followee, approve)`` triples: who follows whom, and whether a private followee
    approves the request. Power-law-ish: ``kol`` and a few people the seed picks draw most follows.

    Staff logins stay out of the graph. Weighted sampling without replacement uses the
    Efraimidis-Spirakis keys ``u ** (1 / weight)``.
    """
    rng = ctx.rng("follows")
    people = [name for name in ctx.users if name not in STAFF_LOGINS]
    rest = [name for name in people if name != "kol"]
    rng.shuffle(rest)  # the seed picks who is popular: Zipf-like weights down a shuffled list
    weight = {name: 1.0 / rank**1.2 for rank, name in enumerate(rest, start=2)}
    if "kol" in people:
        weight["kol"] = 4.0  # several times the most popular person: nearly everyone follows the kol

    plan: dict[tuple[str, str], bool] = {pair: True for pair in FIXED_FOLLOWS if set(pair) <= set(people)}
    for follower in people:
        out_degree = min(len(people) - 1, 2 + int(rng.paretovariate(1.6) * 3))
        keys = sorted(
            ((rng.random() ** (1.0 / weight[name]), name) for name in people if name != follower),
            reverse=True,
        )
        for _, followee in keys[:out_degree]:
            approve = rng.random() < 0.6
            plan.setdefault((follower, followee), approve)
    return [(follower, followee, approve) for (follower, followee), approve in plan.items()]


def seed_follows(ctx: DemoContext) -> None:
    """Follow through ``services.follow_create`` (counters, requests, notifications all as in the
    API); approve the planned share of requests to private accounts, leave the rest pending."""
    users = ctx.users
    for follower, followee, approve in ctx.track(plan_follows(ctx), "follows"):
        try:
            result = services.follow_create(follower=users[follower], followee=users[followee])
        except NotFound:  # one blocked the other by hand since the last run: respect it
            continue
        if result.state == services.FollowState.REQUESTED and approve:
            services.follow_request_approve(target=users[followee], requester=users[follower])
    ids = [user.pk for user in users.values()]
    follows = Follow.objects.filter(follower__in=ids, followee__in=ids).count()
    pending = FollowRequest.objects.filter(requester__in=ids, target__in=ids).count()
    ctx.summary.append(f"{follows} follows and {pending} pending follow requests among them")


STEPS: list[tuple[str, Step]] = [
    ("people", seed_people),
    ("roles", seed_roles),
    ("follows", seed_follows),
]
