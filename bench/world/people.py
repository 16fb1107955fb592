"""People and what they share: users, the media pool and avatars, the follow graph."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.db.models.functions import Mod

from accounts import services as account_services
from accounts.choices import Audience, Category, Gender
from accounts.demo import avatar_png
from accounts.models import Follow, User
from bench.world.context import BENCH_PASSWORD, EMAIL_DOMAIN, WorldContext
from bench.world.loading import Cumulative, Loader, first_id, reset_sequences
from notes.demo import photo_jpeg
from notes.services.media import media_process, media_upload

NICK_ZH = ("小鹿", "奶茶", "桃子", "懒猫", "林林", "阿虹", "萌萌", "西西", "豆子", "薄荷", "橘子", "棉花糖")
NICK_ZH_2 = ("爱旅行", "的日常", "穿搭日记", "吃不胖", "在健身", "的小窝", "种草机", "研究所")
NICK_EN = ("Amy", "Ben", "Cindy", "David", "Elena", "Frank", "Grace", "Leo", "Mia", "Noah", "Zoe", "Ivy")
NICK_EN_2 = ("Zhao", "Sun", "Huang", "Xu", "Lin", "Chen", "Wu", "Ma")
CITIES = (
    "上海",
    "北京",
    "杭州",
    "成都",
    "深圳",
    "广州",
    "南京",
    "武汉",
    "重庆",
    "西安",
    "Shanghai",
    "Beijing",
)
BIOS = (
    "爱吃爱玩爱分享 🌸",
    "成分党 | 平价好物挖掘机",
    "Coffee, film cameras and weekend trips",
    "健身第三年，分享干货 💪",
    "Minimalist home & small-space living",
    "",
)
CATEGORIES = list(Category.values)


def nickname(index: int) -> str:
    if index % 2:
        return f"{NICK_ZH[index % len(NICK_ZH)]}{NICK_ZH_2[(index // 7) % len(NICK_ZH_2)]}{index % 100}"
    return f"{NICK_EN[index % len(NICK_EN)]} {NICK_EN_2[(index // 5) % len(NICK_EN_2)]}"


def step_users(ctx: WorldContext, loader: Loader) -> None:
    """People: KOLs first (certified), then everyone else; a few private accounts."""
    scale, rng = ctx.scale, ctx.rng("users")
    first = first_id(User)
    password = make_password(BENCH_PASSWORD)
    ctx.user_ids = list(range(first, first + scale.users))
    ctx.kol_ids = ctx.user_ids[: scale.kols]
    others = ctx.user_ids[scale.kols :]
    ctx.private_ids = set(rng.sample(others, k=max(1, len(others) * 3 // 100)))

    def rows():
        for index, pk in enumerate(ctx.user_ids):
            kol = index < scale.kols
            username = f"kol_{index + 1:02d}" if kol else f"u{index + 1:06d}"
            primary = rng.choice(CATEGORIES)
            ctx.joined[pk] = ctx.now - timedelta(days=rng.randint(1, 700))
            yield (
                pk,
                password,
                username,
                f"{username}@{EMAIL_DOMAIN}",
                True,  # is_active
                ctx.joined[pk],
                nickname(index),
                rng.choice(BIOS),
                rng.choice((Gender.FEMALE, Gender.FEMALE, Gender.MALE, Gender.UNSPECIFIED)),
                rng.choice(CITIES),
                [primary, *rng.sample([c for c in CATEGORIES if c != primary], k=rng.randint(0, 2))],
                pk in ctx.private_ids,
                rng.random() < 0.1,  # hide_collects
                Audience.EVERYONE,
                kol,
            )

    fields = [
        "id",
        "password",
        "username",
        "email",
        "is_active",
        "date_joined",
        "nickname",
        "bio",
        "gender",
        "city",
        "interests",
        "is_private",
        "hide_collects",
        "comment_permission",
        "is_kol_certified",
    ]
    ctx.counts["users"] = loader.load(User, fields, ctx.track(rows(), "users", scale.users))
    reset_sequences(User)


def step_media(ctx: WorldContext, loader: Loader) -> None:
    """A pool of real photos and avatars, through the upload and processing services."""
    studio = User.objects.get(pk=ctx.user_ids[-1])
    for n in ctx.track(range(ctx.scale.media_pool), "media pool"):
        category = CATEGORIES[n % len(CATEGORIES)]
        upload = SimpleUploadedFile(
            "photo.jpg", photo_jpeg(seed=f"bench:{ctx.seed}:{n}", label=category.upper())
        )
        media = media_upload(owner=studio, upload=upload)
        media_process(media_id=media.pk)
        ctx.media_ids.append(media.pk)
    # Avatars: the first people upload one through the profile service, everyone shares them.
    pool = ctx.user_ids[: ctx.scale.media_pool]
    for pk in ctx.track(pool, "avatars"):
        user = User.objects.get(pk=pk)
        png = avatar_png(username=user.username, nickname=user.nickname)
        account_services.user_update_profile(user=user, data={}, avatar=ContentFile(png, name="a.png"))
    ctx.avatars = list(User.objects.filter(pk__in=pool).order_by("pk").values_list("avatar", flat=True))
    first, size = ctx.user_ids[0], len(ctx.avatars)
    for index, name in enumerate(ctx.avatars):
        User.objects.annotate(slot=Mod(F("pk") - first, size)).filter(
            slot=index, pk__gte=first, avatar=""
        ).update(avatar=name)
    ctx.counts["media"] = len(ctx.media_ids)


def step_follows(ctx: WorldContext, loader: Loader) -> None:
    """KOLs get ``kol_followers`` (spread evenly over the range); everyone else follows with a
    Pareto out-degree towards a Zipf-popular crowd."""
    scale, rng = ctx.scale, ctx.rng("follows")
    users = ctx.user_ids
    lo, hi = scale.kol_followers
    kols = len(ctx.kol_ids)
    pairs: set[tuple[int, int]] = set()
    for i, kol in enumerate(ctx.kol_ids):
        wanted = min(len(users) - 1, lo + (hi - lo) * i // max(1, kols - 1))
        candidates = [pk for pk in users if pk != kol]
        pairs.update((follower, kol) for follower in rng.sample(candidates, wanted))
    target = max(scale.follows, len(pairs))
    crowd = users[len(ctx.kol_ids) :]
    shuffled = crowd[:]
    rng.shuffle(shuffled)
    followees = Cumulative(shuffled, [1 / (rank + 10) ** 0.8 for rank in range(len(shuffled))])
    followers = Cumulative(users, [rng.paretovariate(1.5) for _ in users])
    stale = 0
    while len(pairs) < target and stale < 50:
        need = target - len(pairs)
        before = len(pairs)
        for a, b in zip(followers.draw(rng, need), followees.draw(rng, need), strict=True):
            if a != b:
                pairs.add((a, b))
        stale = stale + 1 if len(pairs) == before else 0
    ordered = sorted(pairs, key=lambda p: (rng_key(p), p))
    first = first_id(Follow)
    span = 365 * 86400

    def rows():
        for i, (a, b) in enumerate(ordered[:target]):
            yield (first + i, a, b, ctx.now - timedelta(seconds=span * (1 - i / target)))

    ctx.counts["follows"] = loader.load(
        Follow, ["id", "follower_id", "followee_id", "created_at"], ctx.track(rows(), "follows", target)
    )
    reset_sequences(Follow)
    counts: dict[int, int] = {}
    for _, b in ordered[:target]:
        counts[b] = counts.get(b, 0) + 1
    ctx.follower_counts = counts


def rng_key(pair: tuple[int, int]) -> int:
    """A fixed pseudo-random order of follow pairs (so ids don't cluster by followee)."""
    return int.from_bytes(hashlib.blake2b(f"{pair[0]}:{pair[1]}".encode(), digest_size=6).digest(), "big")
