"""The notes part of the demo world: notes with generated photos, topics, likes, collects into
boards, comments and replies. Steps follow ``accounts.demo`` (same promises: deterministic from the
seed, idempotent, written through the services so counters and notifications are right).

Photos go through the real media pipeline (upload, then processing after the step commits), so a
newcomer's demo notes look exactly like ones posted through the API.
"""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts import services as account_services
from accounts.demo import STAFF_LOGINS, DemoContext, Step
from config.errors import DomainError
from notes.choices import NoteStatus
from notes.feeds import fanout, scoring
from notes.models import Board, Comment, Note, NoteScore
from notes.services import boards, comments, interactions
from notes.services import notes as note_services
from notes.services.media import media_process, media_upload

PHOTO_SIZE = (540, 720)

# (category, title, body, place): bodies carry #topics the way people write them.
TEMPLATES: list[tuple[str, str, str, tuple[str, str, float, float] | None]] = [
    (
        "fashion",
        "春日穿搭分享｜温柔奶油色",
        "今天的 #春日穿搭 来啦！奶油色针织+半身裙，通勤约会都可以 #OOTD",
        None,
    ),
    (
        "fashion",
        "Capsule wardrobe: 10 pieces, 30 outfits",
        "My #capsulewardrobe for spring. #OOTD #minimalism",
        None,
    ),
    ("fashion", "小个子显高穿搭公式", "155也能穿出大长腿 #小个子穿搭 #显高", None),
    ("beauty", "早八伪素颜妆容教程", "五分钟搞定 #伪素颜 #早八妆容，新手也能学会", None),
    (
        "beauty",
        "Skincare routine for dry skin",
        "Morning and night #skincare steps that saved my winter skin #dryskin",
        None,
    ),
    ("beauty", "平价口红试色合集", "十支百元内口红 #口红试色 黄皮友好 #平价好物", None),
    (
        "food",
        "上海宝藏咖啡店｜武康路",
        "藏在梧桐树下的小店 #上海咖啡 #探店 拿铁很顺滑",
        ("武康路", "上海", 31.2046, 121.4368),
    ),
    (
        "food",
        "10-minute sesame noodles",
        "Weeknight #recipe: sesame noodles with chili crisp #homecooking",
        None,
    ),
    ("food", "成都必吃火锅清单", "本地人推荐 #成都美食 #火锅 不踩雷", ("春熙路", "成都", 30.6570, 104.0810)),
    (
        "travel",
        "杭州西湖一日游路线",
        "断桥→苏堤→灵隐寺 #杭州旅行 #西湖 人少好拍",
        ("西湖", "杭州", 30.2590, 120.1300),
    ),
    (
        "travel",
        "Three days in Chengdu",
        "Pandas, teahouses and hotpot #travel #chengdu",
        ("Kuanzhai Alley", "Chengdu", 30.6680, 104.0560),
    ),
    ("travel", "大理洱海骑行攻略", "环洱海骑行 #大理 #骑行 日落太美了", ("洱海", "大理", 25.6930, 100.1650)),
    ("fitness", "居家30分钟燃脂训练", "不用器械 #居家健身 #燃脂 坚持一个月瘦了4斤", None),
    ("fitness", "Couch to 5K: week 6 check-in", "Slow progress is still progress #running #fitness", None),
    ("home", "出租屋改造｜500元焕新卧室", "#出租屋改造 #家居好物 氛围感拉满", None),
    ("home", "Small balcony garden ideas", "Herbs, fairy lights and a tiny table #balcony #homedecor", None),
    ("tech", "iPad 学习党必备App", "#学习方法 #数码好物 效率翻倍", None),
    ("tech", "My minimalist desk setup", "Cable management tips included #desksetup #tech", None),
    ("parenting", "宝宝辅食第一周记录", "#宝宝辅食 #育儿经验 从米粉开始", None),
    (
        "parenting",
        "Rainy day activities for toddlers",
        "Simple ideas that kept us sane #parenting #toddler",
        None,
    ),
]
COMMENTS = [
    "太好看了吧！求链接",
    "收藏了，周末就去",
    "Love this! Saving for later",
    "请问是在哪里买的？",
    "学到了，谢谢分享～",
    "This is so helpful, thank you!",
    "姐妹太会了",
    "Where is this place?",
]
REPLIES = ["同问！", "Same question!", "已经去过了，真的很棒", "谢谢～"]
BOARD_NAMES = ["穿搭灵感", "想去的地方", "Recipes to try", "好物清单"]
PALETTES = [
    ((255, 214, 165), (253, 164, 175)),
    ((186, 230, 253), (165, 180, 252)),
    ((187, 247, 208), (254, 240, 138)),
    ((253, 230, 138), (251, 146, 60)),
    ((233, 213, 255), (244, 114, 182)),
    ((204, 251, 241), (56, 189, 248)),
]


def photo_jpeg(*, seed: str, label: str) -> bytes:
    """A generated 'photo': a diagonal gradient, soft shapes and a caption, as a JPEG."""
    rng = DemoContext(seed=0).rng("photo", seed)
    top, bottom = PALETTES[rng.randrange(len(PALETTES))]
    width, height = PHOTO_SIZE
    gradient = Image.linear_gradient("L").resize((width, height)).rotate(rng.choice([0, 30, -30]))
    image = Image.composite(Image.new("RGB", PHOTO_SIZE, bottom), Image.new("RGB", PHOTO_SIZE, top), gradient)
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(rng.randint(3, 6)):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(40, 200)
        colour = (*[rng.randint(90, 255) for _ in range(3)], rng.randint(70, 150))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=colour)
    font = ImageFont.load_default(size=44)
    draw.rounded_rectangle((40, height - 150, width - 40, height - 60), radius=24, fill=(255, 255, 255, 170))
    draw.text((width / 2, height - 105), label, font=font, fill=(40, 40, 40), anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _photo(author, *, seed: str, label: str) -> int:
    """Upload a generated photo and process it now (the queued task then finds it done), so the
    note publishes at its back-dated time instead of whenever processing finishes."""
    upload = SimpleUploadedFile("photo.jpg", photo_jpeg(seed=seed, label=label))
    media = media_upload(owner=author, upload=upload)
    media_process(media_id=media.pk)
    return media.pk


def _author_names(ctx: DemoContext) -> list[str]:
    return [name for name, user in ctx.users.items() if not user.is_staff]


def seed_notes(ctx: DemoContext) -> None:
    """``ctx.notes_per_person`` notes per non-staff person, made only when that (author, title) is
    missing, published at times spread over the last two weeks."""
    created = 0
    now = timezone.now()
    for username in ctx.track(_author_names(ctx), "notes"):
        author = ctx.users[username]
        rng = ctx.rng("notes", username)
        for index, (category, title, body, place) in enumerate(rng.sample(TEMPLATES, ctx.notes_per_person)):
            if Note.objects.filter(author=author, title=title).exists():
                continue
            photos = [
                _photo(author, seed=f"{ctx.seed}:{username}:{index}:{n}", label=category.upper())
                for n in range(rng.randint(1, 2))
            ]
            note_services.note_create(
                author=author,
                media_ids=photos,
                title=title,
                body=body,
                category=category,
                place=note_services.Place(*place) if place else None,
                now=now - timedelta(hours=rng.randint(1, 24 * 14)),
            )
            created += 1
    ctx.summary.append(f"{created} new notes with generated photos ({Note.objects.count()} in all)")


def seed_engagement(ctx: DemoContext) -> None:
    """Likes, boards with collects, comments and replies, spread with a long tail."""
    notes = list(Note.objects.filter(author__in=ctx.users.values()).order_by("pk"))
    readers = [ctx.users[name] for name in _author_names(ctx)]
    if not notes or not readers:
        return
    comment_count = 0
    for reader in ctx.track(readers, "engage"):
        rng = ctx.rng("engage", reader.username)
        own_boards = [_board(reader, name) for name in rng.sample(BOARD_NAMES, 2)]
        visible = set(Note.objects.visible_to(reader).exclude(author=reader).values_list("pk", flat=True))
        for note in rng.sample(notes, min(len(notes), rng.randint(5, 25))):
            if note.pk not in visible:
                continue
            interactions.note_like(note=note, user=reader)
            if rng.random() < 0.35:
                interactions.note_collect(note=note, user=reader, board=rng.choice(own_boards))
            if rng.random() < 0.2:
                # The author may take comments only from followers, or none.
                with contextlib.suppress(DomainError):
                    comment_count += _comment(note, reader, rng.choice(COMMENTS))
    for note in notes[:: max(1, len(notes) // 40)]:
        root = Comment.objects.filter(note=note, parent=None, deleted_at=None).first()
        if root and root.author_id != note.author_id:
            reply = ctx.rng("reply", note.pk).choice(REPLIES)
            comment_count += _comment(note, note.author, reply, reply_to=root)
    ctx.summary.append(f"likes, collects into boards and {comment_count} new comments")


def _board(owner, name: str) -> Board:
    board = Board.objects.filter(owner=owner, name=name).first()
    return board or boards.board_create(owner=owner, name=name)


def _comment(note: Note, author, body: str, reply_to: Comment | None = None) -> int:
    if Comment.objects.filter(note=note, author=author, body=body).exists():
        return 0
    comments.comment_create(note=note, author=author, body=body, reply_to=reply_to)
    return 1


#: Whom the staff logins follow once there are notes, so that their following feed is not empty
#: (the accounts step keeps them out of the follow graph; a feed to look at is worth the exception).
STAFF_FOLLOWS = ("kol", "xiaohong", "brand")


def seed_feeds(ctx: DemoContext) -> None:
    """Every demo login gets something in each feed: the staff logins follow a few creators, then
    the timelines of the demo people, and every discovery score, place and reader profile, are
    rebuilt from the rows the earlier steps wrote (a rerun rebuilds the same)."""
    people = [user.pk for user in ctx.users.values()]
    if Note.objects.filter(author_id__in=people, status=NoteStatus.PUBLISHED).exists():
        for staff in sorted(STAFF_LOGINS & set(ctx.users)):
            for name in STAFF_FOLLOWS:
                if name in ctx.users and not ctx.users[name].is_private:
                    account_services.follow_create(follower=ctx.users[staff], followee=ctx.users[name])
    timelines = fanout.timelines_rebuild(user_ids=people)
    scoring.scores_rebuild()
    ranked = NoteScore.objects.filter(rankable=True)
    ctx.summary.append(
        f"feeds: {timelines} timelines, {ranked.count()} notes ranked for discovery, "
        f"{ranked.exclude(lat=None).count()} on the map"
    )


STEPS: list[tuple[str, Step]] = [
    ("notes", seed_notes),
    ("engage", seed_engagement),
    ("feeds", seed_feeds),
]
