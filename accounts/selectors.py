"""Reads of the accounts app, shaped for the endpoints that use them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.choices import ReviewStatus
from accounts.models import Block, Brand, Follow, FollowRequest, KolCertification, Notification, User
from config.db import PreparedQuery, concrete_columns, instance_from_row
from config.errors import Forbidden, NotFound

_FLAGS = ("viewer_is_following", "viewer_is_followed_by", "viewer_has_requested")


def _relationship_annotations(viewer, ref: str = "pk") -> dict:
    """Whether ``viewer`` follows / is followed by / asked to follow the user at ``ref``."""
    if viewer is None or not viewer.is_authenticated:
        return {}
    return {
        "viewer_is_following": Exists(Follow.objects.filter(follower=viewer, followee=OuterRef(ref))),
        "viewer_is_followed_by": Exists(Follow.objects.filter(follower=OuterRef(ref), followee=viewer)),
        "viewer_has_requested": Exists(FollowRequest.objects.filter(requester=viewer, target=OuterRef(ref))),
    }


def viewer_id_of(viewer) -> int | None:
    """The id a compiled query (``config.db.PreparedQuery``) takes for ``viewer``: None when anonymous."""
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def viewer_from_id(viewer_id: int | None) -> User | None:
    """The viewer such a query is built for, back from :func:`viewer_id_of`: a ``User`` of which only
    the pk is used (the visibility rules compare ids), or None."""
    return User(pk=viewer_id) if viewer_id is not None else None


#: A user's columns as ``UserSummaryOut`` shows them (the author of a card or a comment).
USER_SUMMARY_COLUMNS = ("username", "nickname", "avatar", "is_kol_certified", "follower_count")
_USER_COLUMNS = concrete_columns(User)
_USER_BY_PK = PreparedQuery(lambda pk: User.objects.filter(pk=pk).values(*_USER_COLUMNS))


def user_from_row(row: dict) -> User:
    """A ``User`` from a row of its columns (and the relationship flags, when the row has them)."""
    user = instance_from_row(User, row)
    for flag in _FLAGS:
        if flag in row:
            setattr(user, flag, row[flag])
    return user


def user_row(pk: int) -> dict | None:
    """The row of the user with ``pk`` (its concrete columns), or None: one query, compiled once."""
    rows = _USER_BY_PK.rows(pk)
    return rows[0] if rows else None


def user_get_by_pk(pk: int) -> User | None:
    """The user with ``pk``, as every authenticated write loads it (reads: ``accounts.usercache``)."""
    row = user_row(pk)
    return user_from_row(row) if row is not None else None


def _visible_user(viewer_id: int | None, username: str) -> QuerySet:
    viewer = viewer_from_id(viewer_id)
    users = User.objects.visible_to(viewer).filter(username=username)
    if viewer is None:
        return users.values(*_USER_COLUMNS)
    return users.annotate(**_relationship_annotations(viewer)).values(*_USER_COLUMNS, *_FLAGS)


_VISIBLE_USER = PreparedQuery(_visible_user)


def user_get_visible(*, username: str, viewer) -> User:
    """The profile of ``username`` as ``viewer`` sees it (with the relationship flags); 404 when it
    does not exist for them. One query, compiled once: every profile page and tab starts here."""
    rows = _VISIBLE_USER.rows(viewer_id_of(viewer), username)
    if not rows:
        raise NotFound("No such user.")
    return user_from_row(rows[0])


def user_can_see_connections(*, user: User, viewer) -> bool:
    """A private account shows its lists only to itself and its approved followers."""
    if not user.is_private or (viewer.is_authenticated and viewer.pk == user.pk):
        return True
    if not viewer.is_authenticated:
        return False
    return Follow.objects.filter(follower=viewer, followee=user).exists()


def _require_connections_visible(*, user: User, viewer) -> None:
    if not user_can_see_connections(user=user, viewer=viewer):
        raise Forbidden("This account is private.", code="private_account")


def _relations_listing(relation_qs: QuerySet, *, user_field: str, viewer) -> QuerySet:
    """Follow/Block/FollowRequest rows whose ``user_field`` user is listed, newest first.

    Paginating the relation rows (by their id, on an index) keeps a page at one query however many
    followers a KOL has; the listed user rides along by ``select_related`` and carries the viewer's
    relationship flags. Use :func:`users_from_relations` on the page.
    """
    qs = relation_qs.filter(**{f"{user_field}__is_active": True}).select_related(user_field)
    if viewer is not None and viewer.is_authenticated:
        qs = qs.exclude(Exists(Block.objects.between(viewer, user_field)))
    return qs.annotate(**_relationship_annotations(viewer, ref=user_field))


def users_from_relations(rows, *, user_field: str) -> list[User]:
    """The users of a page of :func:`_relations_listing` rows, with their flags copied over."""
    users = []
    for row in rows:
        user = getattr(row, user_field)
        for flag in _FLAGS:
            setattr(user, flag, getattr(row, flag, False))
        users.append(user)
    return users


def user_followers(*, user: User, viewer) -> QuerySet:
    _require_connections_visible(user=user, viewer=viewer)
    return _relations_listing(Follow.objects.filter(followee=user), user_field="follower", viewer=viewer)


def user_following(*, user: User, viewer) -> QuerySet:
    _require_connections_visible(user=user, viewer=viewer)
    return _relations_listing(Follow.objects.filter(follower=user), user_field="followee", viewer=viewer)


def user_blocked_list(*, user: User) -> QuerySet:
    """Whom ``user`` blocked. Not filtered by visibility: they are hidden by the block itself."""
    return Block.objects.filter(blocker=user).select_related("blocked")


def follow_requests_received(*, user: User) -> QuerySet:
    return _relations_listing(FollowRequest.objects.filter(target=user), user_field="requester", viewer=user)


def _inbox(user: User) -> QuerySet:
    """``user``'s notifications from actors they may still see (``User.objects.visible_to``'s rule,
    on the inbox's own join): a block hides the other person's past notices too, from both sides,
    and a deactivated account's vanish with it. System notices (no actor) always show."""
    return (
        Notification.objects.filter(recipient=user)
        .filter(Q(actor__isnull=True) | Q(actor__is_active=True))
        .exclude(Exists(Block.objects.between(user, "actor")))
    )


def notifications_for(*, user: User) -> QuerySet:
    return _inbox(user).select_related("actor")


def notifications_unread_count(*, user: User) -> int:
    return _inbox(user).filter(read_at__isnull=True).count()


def certification_for(*, user: User) -> KolCertification:
    certification = KolCertification.objects.filter(user=user).first()
    if certification is None:
        raise NotFound("You have not applied for certification.")
    return certification


def brands_public() -> QuerySet:
    return Brand.objects.filter(status=ReviewStatus.APPROVED).select_related("owner")


def brand_get_visible(*, slug: str, viewer) -> Brand:
    """Approved brands are public; a pending or rejected one is visible to its owner and staff."""
    brand = Brand.objects.select_related("owner").filter(slug=slug).first()
    if brand is None:
        raise NotFound("No such brand.")
    if brand.status != ReviewStatus.APPROVED and not (
        viewer.is_authenticated and (viewer.pk == brand.owner_id or viewer.is_staff)
    ):
        raise NotFound("No such brand.")
    return brand


def brands_owned_by(*, user: User) -> QuerySet:
    return Brand.objects.filter(owner=user).select_related("owner")


def users_for_cards(*, viewer) -> QuerySet:
    """Users ``viewer`` may see, with the relationship flags their cards show (one query)."""
    return User.objects.visible_to(viewer).annotate(**_relationship_annotations(viewer))
