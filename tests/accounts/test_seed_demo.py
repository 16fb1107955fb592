"""``manage.py seed_demo``: the documented demo logins, avatars, a consistent follow graph, and a
world that is deterministic given the seed and unchanged by running the command again."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image
from rest_framework.test import APIClient

from accounts import demo, services
from accounts.choices import NotificationVerb, ReviewStatus
from accounts.models import Brand, Follow, FollowRequest, KolCertification, Notification, User
from accounts.moderation import MODERATORS_GROUP
from tests.conftest import login

pytestmark = pytest.mark.django_db

LOGIN_NAMES = [spec.username for spec in demo.LOGINS]
PROFILE_FIELDS = sorted(services.PROFILE_FIELDS)


def seed(*args: str, verbosity: int = 1) -> str:
    """Run seed_demo; without notes unless asked (tests/notes/test_seed_notes.py covers those)."""
    out = StringIO()
    if "--notes" not in args:
        args = (*args, "--notes", "0")
    call_command("seed_demo", *args, stdout=out, verbosity=verbosity)
    return out.getvalue()


def follow_graph() -> list[tuple[str, str]]:
    return sorted(Follow.objects.values_list("follower__username", "followee__username"))


def world() -> dict:
    """Everything seed_demo writes, keyed by username (not pk) and listed with duplicates kept."""
    users = {
        user.username: {
            **{name: getattr(user, name) for name in PROFILE_FIELDS},
            "password": user.password,
            "email": user.email,
            "avatar": user.avatar.name,
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
            "is_kol_certified": user.is_kol_certified,
            "groups": sorted(group.name for group in user.groups.all()),
            "follower_count": user.follower_count,
            "following_count": user.following_count,
        }
        for user in User.objects.prefetch_related("groups")
    }
    return {
        "users": users,
        "user_rows": User.objects.count(),
        "follows": follow_graph(),
        "requests": sorted(FollowRequest.objects.values_list("requester__username", "target__username")),
        "brands": sorted(
            Brand.objects.values_list("slug", "name", "owner__username", "status", "reviewed_by__username")
        ),
        "certifications": sorted(
            KolCertification.objects.values_list("user__username", "status", "category")
        ),
        "emails": sorted(EmailAddress.objects.values_list("user__username", "email", "verified", "primary")),
    }


def test_demo_logins_have_their_roles_and_log_in_through_the_api():
    output = seed("--users", "5")

    users = User.objects.in_bulk(LOGIN_NAMES, field_name="username")
    assert users["admin"].is_superuser and users["admin"].is_staff
    moderator = users["moderator"]
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == [MODERATORS_GROUP]
    brand = Brand.objects.get(slug=demo.BRAND_SLUG)
    assert (brand.name, brand.owner, brand.status) == (demo.BRAND_NAME, users["brand"], ReviewStatus.APPROVED)
    assert brand.reviewed_by == users["admin"]
    certification = KolCertification.objects.get(user=users["kol"])
    assert certification.status == ReviewStatus.PENDING
    assert not users["kol"].is_kol_certified
    for name in ("brand", "kol", "xiaohong", "alice"):
        assert not users[name].is_staff and not users[name].is_superuser

    for name in LOGIN_NAMES:
        meta = login(APIClient(), name, demo.DEMO_PASSWORD)
        assert meta["access_token"]
        assert name in output
    assert demo.DEMO_PASSWORD in output


def test_every_person_gets_a_512_webp_avatar_and_a_profile():
    seed("--users", "8")

    people = list(User.objects.all())
    assert len(people) == len(LOGIN_NAMES) + 8
    for user in people:
        assert user.avatar, user.username
        with user.avatar.open("rb") as file:
            image = Image.open(file)
            image.load()
        assert (image.format, image.size) == ("WEBP", (512, 512)), user.username
        assert user.nickname and user.bio and user.city, user.username
        assert user.username.isascii()
    ordinary = [user for user in people if user.username not in LOGIN_NAMES]
    assert all(user.interests and user.birthday for user in ordinary)


def test_counters_equal_the_follow_rows_and_the_graph_is_skewed():
    seed()  # the default size

    people = list(User.objects.all())
    assert len(people) == len(LOGIN_NAMES) + demo.DEFAULT_USERS
    for user in people:
        assert user.follower_count == Follow.objects.filter(followee=user).count(), user.username
        assert user.following_count == Follow.objects.filter(follower=user).count(), user.username

    ranked = sorted(people, key=lambda user: user.follower_count, reverse=True)
    assert ranked[0].username == "kol"
    median = ranked[len(ranked) // 2].follower_count
    assert ranked[0].follower_count > 0.7 * (len(people) - 2)  # nearly everyone but the staff
    assert ranked[3].follower_count >= 2 * median  # a few popular people beside the kol
    # Private accounts got requests: some approved, some still waiting.
    private = [user for user in people if user.is_private]
    assert len(private) >= 3
    assert FollowRequest.objects.filter(target__in=private).exists()
    assert Follow.objects.filter(followee__in=private).exists()
    assert not Follow.objects.filter(follower__is_staff=True).exists()


def test_running_twice_leaves_the_same_world():
    seed("--users", "15", "--seed", "7")
    before = world()

    output = seed("--users", "15", "--seed", "7")

    assert world() == before
    assert "(0 new, 0 avatars drawn)" in output


def test_the_same_seed_rebuilds_the_same_world_from_scratch():
    seed("--users", "12", "--seed", "3")
    before = world()
    Brand.objects.all().delete()
    User.objects.all().delete()

    seed("--users", "12", "--seed", "3")

    after = world()
    for snapshot in (before, after):  # new rows, new pks: ids and file names differ, nothing else
        for values in snapshot["users"].values():
            values.pop("avatar"), values.pop("password")
    assert after == before


def test_a_different_seed_gives_a_different_follow_graph():
    seed("--users", "12", "--seed", "1")
    first = follow_graph()
    Brand.objects.all().delete()
    User.objects.all().delete()

    seed("--users", "12", "--seed", "2")

    assert follow_graph() != first


def test_users_option_controls_how_many_people_and_extends_the_same_cast():
    seed("--users", "3")
    assert User.objects.count() == len(LOGIN_NAMES) + 3
    first_three = set(User.objects.exclude(username__in=LOGIN_NAMES).values_list("username", flat=True))

    seed("--users", "7")

    ordinary = set(User.objects.exclude(username__in=LOGIN_NAMES).values_list("username", flat=True))
    assert len(ordinary) == 7
    assert first_three < ordinary


def test_zero_users_still_makes_the_logins_and_negative_is_refused():
    seed("--users", "0")
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(LOGIN_NAMES)
    with pytest.raises(CommandError):
        seed("--users", "-1")


def test_rerun_respects_a_block_made_by_hand():
    seed("--users", "5")
    xiaohong, kol = User.objects.get(username="xiaohong"), User.objects.get(username="kol")
    services.block_create(blocker=kol, blocked=xiaohong)

    seed("--users", "5")

    assert not Follow.objects.filter(follower=xiaohong, followee=kol).exists()
    kol.refresh_from_db()
    assert kol.follower_count == Follow.objects.filter(followee=kol).count()


def test_follows_notify_as_through_the_api(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed("--users", "6")

    kol = User.objects.get(username="kol")
    assert Notification.objects.filter(recipient=kol, verb=NotificationVerb.FOLLOW).count() == (
        kol.follower_count
    )
    brand_owner = User.objects.get(username="brand")
    assert Notification.objects.filter(recipient=brand_owner, verb=NotificationVerb.BRAND).exists()


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal_and_silence_at_verbosity_zero():
    terminal = _Terminal()
    call_command("seed_demo", "--users", "2", "--notes", "0", stdout=terminal)
    assert "people" in terminal.getvalue() and "100%" in terminal.getvalue()

    assert "100%" not in seed("--users", "2")
    assert seed("--users", "2", verbosity=0) == ""
