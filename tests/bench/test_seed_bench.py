"""seed_bench builds the benchmark world: deterministic, exact counters, reused when already there."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum

from accounts.models import Follow, User
from bench import world
from notes.choices import MediaStatus, NoteStatus, Visibility
from notes.models import Board, Comment, Media, Note, NoteCollect, NoteLike, NoteMedia, NoteTopic, Topic
from shop.choices import OrderStatus
from shop.models import (
    SKU,
    Address,
    CheckoutGroup,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
    Store,
)
from shop.services.checkout import ADDRESS_FIELDS
from tests.factories import UserFactory
from tests.helpers import assert_counters_match_rows

pytestmark = pytest.mark.django_db

XS = world.SCALES["XS"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_bench", "--scale", "XS", *args, stdout=out)
    return out.getvalue()


def fingerprint() -> dict:
    """The world by ids and content, leaving out absolute times (they follow the build's clock)."""
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "username", "nickname", "is_private")),
        "follows": list(Follow.objects.order_by("pk").values_list("follower", "followee")),
        "notes": list(
            Note.objects.order_by("pk").values_list(
                "pk", "author", "title", "body", "status", "visibility", "cover"
            )
        ),
        "note_media": list(NoteMedia.objects.order_by("pk").values_list("note", "media", "position")),
        "topics": list(NoteTopic.objects.order_by("pk").values_list("note", "topic__name")),
        "likes": list(NoteLike.objects.order_by("pk").values_list("user", "note")),
        "collects": list(NoteCollect.objects.order_by("pk").values_list("user", "note", "board__name")),
        "comments": list(Comment.objects.order_by("pk").values_list("note", "author", "parent", "body")),
        "skus": list(SKU.objects.order_by("pk").values_list("product__title", "name", "price", "stock")),
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "group", "buyer", "store", "status", "total")
        ),
        "order_lines": list(
            OrderLine.objects.order_by("pk").values_list(
                "order", "sku", "quantity", "line_total", "source_note"
            )
        ),
        "order_events": list(
            OrderEvent.objects.order_by("pk").values_list("order", "from_status", "to_status")
        ),
        "addresses": list(Address.objects.order_by("pk").values_list("user", "city", "line")),
    }


def test_xs_world_has_the_planned_rows_and_real_media():
    seed()
    assert User.objects.count() == XS.users
    assert User.objects.filter(is_kol_certified=True).count() == XS.kols
    assert Follow.objects.count() == XS.follows
    assert Note.objects.count() == XS.notes
    assert NoteLike.objects.count() == XS.likes
    assert NoteCollect.objects.count() == XS.collects
    assert Comment.objects.count() == XS.comments
    assert Product.objects.count() == XS.products
    assert SKU.objects.count() == XS.products * XS.skus_per_product
    assert Order.objects.count() == XS.orders
    # A small pool of processed photos, shared by every note.
    assert Media.objects.count() == XS.media_pool
    assert set(Media.objects.values_list("status", flat=True)) == {MediaStatus.READY}
    assert set(Note.objects.values_list("cover", flat=True)) <= set(
        Media.objects.values_list("pk", flat=True)
    )
    assert User.objects.exclude(avatar="").count() == XS.users
    # KOLs are the most followed, within the planned range.
    lo, hi = XS.kol_followers
    kol_followers = sorted(
        User.objects.filter(is_kol_certified=True).values_list("follower_count", flat=True)
    )
    assert kol_followers[0] >= lo and kol_followers[-1] == hi
    # Topics are what the app's parser finds in the text.
    assert NoteTopic.objects.exists() and Topic.objects.filter(note_count__gt=0).exists()


def test_counters_equal_the_rows():
    seed()
    assert_counters_match_rows()
    live = Q(notes__status=NoteStatus.PUBLISHED, notes__deleted_at__isnull=True)
    users = User.objects.annotate(
        live=Count("notes", filter=live),
        public=Count("notes", filter=live & Q(notes__visibility=Visibility.PUBLIC)),
        followers=Count("notes", filter=live & Q(notes__visibility=Visibility.FOLLOWERS)),
    )
    for user in users:
        assert user.note_count == user.live, user
        assert (user.public_note_count, user.followers_note_count) == (user.public, user.followers), user
    assert User.objects.filter(followers_note_count__gt=0).exists()
    assert User.objects.filter(public_note_count__lt=F("note_count")).exists()
    notes = Note.objects.annotate(
        n_likes=Count("likes", distinct=True),
        n_collects=Count("collects", distinct=True),
        n_comments=Count("comments", filter=Q(comments__deleted_at__isnull=True), distinct=True),
    )
    for note in notes:
        assert (note.like_count, note.collect_count, note.comment_count) == (
            note.n_likes,
            note.n_collects,
            note.n_comments,
        ), note.pk
    received = dict(
        Note.objects.values_list("author").annotate(n=Sum(F("like_count") + F("collect_count"))).order_by()
    )
    for pk, count in User.objects.values_list("pk", "like_collect_count"):
        assert count == (received.get(pk) or 0)
    roots = Comment.objects.filter(parent__isnull=True).annotate(
        live=Count("replies", filter=Q(replies__deleted_at__isnull=True))
    )
    assert all(root.reply_count == root.live for root in roots)
    assert Comment.objects.filter(reply_count__gt=0).exists()
    for board in Board.objects.annotate(n=Count("collects")):
        assert board.note_count == board.n
    assert (
        Board.objects.filter(is_default=True).count() == NoteCollect.objects.values("user").distinct().count()
    )
    topics = Topic.objects.annotate(
        live=Count(
            "notetopic",
            filter=Q(
                notetopic__note__status=NoteStatus.PUBLISHED,
                notetopic__note__visibility=Visibility.PUBLIC,
            ),
        )
    )
    assert all(topic.note_count == topic.live for topic in topics)
    assert all(
        p.min_price == min(s.price for s in p.skus.all()) for p in Product.objects.prefetch_related("skus")
    )
    tagged = Product.objects.annotate(n=Count("tagged_in"))
    assert all(p.note_count == p.n for p in tagged) and any(p.n for p in tagged)
    # Sold: the quantities of the lines of orders paid for and not given back (cancelled, expired and
    # refunded orders are not sales), spelled out here rather than taken from the services.
    paid = ["paid", "shipped", "delivered", "completed"]
    sold = dict(
        OrderLine.objects.filter(order__status__in=paid)
        .values_list("product")
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    for pk, sales_count in Product.objects.values_list("pk", "sales_count"):
        assert sales_count == sold.get(pk, 0), pk
    assert any(sold.values())
    assert OrderLine.objects.exclude(order__status__in=paid).exists()  # some lines that must not count


def test_engagement_only_on_notes_others_may_see():
    seed()
    hidden = (
        Q(note__status=NoteStatus.DRAFT) | ~Q(note__visibility="public") | Q(note__author__is_private=True)
    )
    assert not NoteLike.objects.filter(hidden).exists()
    assert not NoteCollect.objects.filter(hidden).exists()
    assert not Comment.objects.filter(hidden).exists()
    assert not Comment.objects.exclude(parent=None).exclude(parent__note=F("note")).exists()
    assert not NoteCollect.objects.exclude(board__owner=F("user")).exists()


def test_same_world_is_reused_and_a_rebuild_is_identical():
    seed()
    marker = world.world_marker()
    before = fingerprint()
    output = seed()
    assert "reusing" in output
    assert world.world_marker() == marker
    assert fingerprint() == before
    seed("--force")
    assert world.world_marker()["built_at"] >= marker["built_at"]
    assert fingerprint() == before


def test_another_seed_replaces_the_world():
    seed()
    before = fingerprint()
    seed("--seed", "7")
    assert world.world_marker()["seed"] == 7
    assert User.objects.count() == XS.users
    assert fingerprint() != before


def test_refuses_a_database_with_other_data():
    UserFactory()
    with pytest.raises(CommandError, match="dedicated database"):
        seed()
    assert not Note.objects.exists()


def test_the_decay_benchmark_moves_every_note_of_the_window_and_leaves_the_world_as_it_was():
    """B9's measurement rescoring the whole window must leave no trace: its writes are rolled back."""
    from datetime import datetime

    from bench import decay
    from notes.models import NoteScore

    seed()
    before = list(NoteScore.objects.order_by("note_id").values_list("note_id", "rank", "likes", "scored_at"))
    result = decay.measure(datetime.fromisoformat(world.world_marker()["built_at"]), runs=1)
    assert result["window"] > 0 and result["all_moved"]["moved"] == result["window"]
    assert result["as_found"]["moved"] < result["window"]
    after = list(NoteScore.objects.order_by("note_id").values_list("note_id", "rank", "likes", "scored_at"))
    assert after == before


def test_orders_add_up_and_their_history_matches_their_status():
    """Every status of an order's life, each with the timestamps, events and payment that status
    implies; totals exact; the address copied; lines of the order's own store at the SKU's price."""
    seed()
    now = datetime.fromisoformat(world.world_marker()["built_at"])
    orders = list(
        Order.objects.select_related("group").prefetch_related("lines__sku__product", "events", "payments")
    )
    assert {o.status for o in orders} == set(OrderStatus.values)
    fee, free_from = Decimal(settings.SHOP_SHIPPING_FEE), Decimal(settings.SHOP_FREE_SHIPPING_FROM)
    addresses = {a.user_id: a for a in Address.objects.filter(is_default=True)}
    owners = dict(Store.objects.values_list("pk", "brand__owner"))
    for order in orders:
        lines = list(order.lines.all())
        assert 1 <= len(lines) <= 3 and len({line.sku_id for line in lines}) == len(lines)
        for line in lines:
            assert line.sku.product.store_id == order.store_id and line.product_id == line.sku.product_id
            assert (line.title, line.sku_name, line.unit_price) == (
                line.sku.product.title,
                line.sku.name,
                line.sku.price,
            )
            assert line.line_total == line.unit_price * line.quantity
        assert order.lines_total == sum(line.line_total for line in lines)
        assert order.shipping_total == (Decimal("0.00") if order.lines_total >= free_from else fee)
        assert order.total == order.lines_total + order.shipping_total - order.discount_total
        address = addresses[order.buyer_id]
        assert order.shipping_address == {f: getattr(address, f) for f in ADDRESS_FIELDS}
        assert address.created_at <= order.created_at
        assert owners[order.store_id] != order.buyer_id
        assert order.expires_at == order.created_at + timedelta(minutes=settings.SHOP_PAYMENT_MINUTES)

        stamps = {
            name: getattr(order, name) for name in ("paid_at", "shipped_at", "delivered_at", "closed_at")
        }
        reached = [name for name, at in stamps.items() if at is not None]
        expected = {
            "pending_payment": [],
            "paid": ["paid_at"],
            "shipped": ["paid_at", "shipped_at"],
            "delivered": ["paid_at", "shipped_at", "delivered_at"],
            "completed": ["paid_at", "shipped_at", "delivered_at", "closed_at"],
            "cancelled": ["closed_at"],
            "expired": ["closed_at"],
        }
        if order.status == "refunded":
            assert reached[0] == "paid_at" and reached[-1] == "closed_at"
        else:
            assert reached == expected[order.status], order
        times = [order.created_at, *(stamps[name] for name in reached)]
        assert times == sorted(times) and times[-1] <= now
        if order.status == "pending_payment":
            assert order.expires_at > now
        if order.status == "expired":
            assert order.closed_at >= order.expires_at
        if order.status in ("shipped", "completed"):
            assert order.carrier and order.tracking_number

        events = list(order.events.all())
        assert [(e.from_status, e.to_status) for e in events][0] == ("", "pending_payment")
        assert events[-1].to_status == order.status
        assert all(a.to_status == b.from_status for a, b in itertools.pairwise(events))
        assert [e.created_at for e in events] == [order.created_at, *(stamps[name] for name in reached)]
        payments = list(order.payments.all())
        if order.paid_at is None:
            assert payments == []
        else:
            (payment,) = payments
            assert payment.amount == order.total
            assert payment.status == ("refunded" if order.status == "refunded" else "succeeded")
    groups = CheckoutGroup.objects.annotate(n=Count("orders"), sum=Sum("orders__total"))
    assert all(g.total == g.sum and 1 <= g.n <= 2 for g in groups)
    assert OrderEvent.objects.count() > Order.objects.count()
    assert Payment.objects.count() == Order.objects.filter(paid_at__isnull=False).count()
    credited = OrderLine.objects.filter(source_note__isnull=False)
    assert not credited.filter(source_note__author=F("order__buyer")).exists()
