"""seed_bench builds the benchmark world: deterministic, exact counters, reused when already there."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum

from accounts.models import Follow, User
from bench import world
from notes.choices import MediaStatus, NoteStatus
from notes.models import Board, Comment, Media, Note, NoteCollect, NoteLike, NoteMedia, NoteTopic, Topic
from shop.models import SKU, Product
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
    for user in User.objects.annotate(live=Count("notes", filter=live)):
        assert user.note_count == user.live, user
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
        live=Count("notetopic", filter=Q(notetopic__note__status=NoteStatus.PUBLISHED))
    )
    assert all(topic.note_count == topic.live for topic in topics)
    assert all(
        p.min_price == min(s.price for s in p.skus.all()) for p in Product.objects.prefetch_related("skus")
    )
    tagged = Product.objects.annotate(n=Count("tagged_in"))
    assert all(p.note_count == p.n for p in tagged) and any(p.n for p in tagged)


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
