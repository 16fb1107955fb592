"""Every state change of the accounts app. Each function is one transaction.

Counters on ``User`` change only here, with ``F()`` updates, in the same transaction as the row
that justifies them. When two users' counters change together we update them in primary-key order
so that concurrent follows between the same two people cannot deadlock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from accounts import signals
from accounts.choices import Category, NotificationVerb, ReviewStatus
from accounts.models import Block, Brand, Follow, FollowRequest, KolCertification, Notification, User
from config.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from config.imaging import decode_image, square_webp

PROFILE_FIELDS = frozenset(
    {
        "nickname",
        "bio",
        "gender",
        "birthday",
        "city",
        "interests",
        "is_private",
        "hide_collects",
        "comment_permission",
        "mention_permission",
    }
)
AVATAR_SIZE = 512


class FollowState(enum.StrEnum):
    NONE = "none"
    FOLLOWING = "following"
    REQUESTED = "requested"


@dataclass(frozen=True)
class FollowResult:
    state: FollowState
    changed: bool


def _bump(counters: dict[int, dict[str, int]]) -> None:
    """Apply counter deltas ``{user_id: {field: delta}}`` in primary-key order."""
    for user_id in sorted(counters):
        deltas = {field: F(field) + delta for field, delta in counters[user_id].items() if delta}
        if deltas:
            User.objects.filter(pk=user_id).update(**deltas)


def notify_sql(*, recipient: str, source: str = "") -> str:
    """The statement :func:`notify` runs, for one notice to ``recipient`` (an SQL expression: a
    placeholder, or a column of ``source``, the ``FROM`` clause of a larger statement).

    Named parameters: ``actor``, ``verb``, ``target_type``, ``target_id``, ``now``. Nothing is
    written when the recipient is the actor or either blocked the other; a repeat is dropped by the
    unique constraint."""
    blocks = (
        f"SELECT 1 FROM {Block._meta.db_table} WHERE (blocker_id = %(actor)s AND blocked_id = {recipient}) "
        f"OR (blocker_id = {recipient} AND blocked_id = %(actor)s)"
    )
    return (
        f"INSERT INTO {Notification._meta.db_table} "
        "(recipient_id, actor_id, verb, target_type, target_id, text, created_at) "
        f"SELECT {recipient}, %(actor)s, %(verb)s, %(target_type)s, %(target_id)s, '', %(now)s {source} "
        f"WHERE {recipient} <> %(actor)s AND NOT EXISTS ({blocks}) ON CONFLICT DO NOTHING"
    )


_NOTIFY = notify_sql(recipient="%(recipient)s")


def notify(
    *, recipient_id: int, actor_id: int | None, verb: str, target_type: str = "", target_id: int = 0
) -> None:
    """Record one notification in the caller's transaction, so it stands or falls with the action
    (any app's services call this).

    A repeat of the same (actor, verb, target) is dropped by the unique constraint, even when two
    run at once; nobody is told of their own actions, nor by someone they blocked or who blocked
    them. System notices (no actor) are each worth telling. Written here in one statement, not by a
    Celery task: publishing the task cost 0.8 ms of CPU per like, several times this insert.
    """
    if actor_id is None:
        Notification.objects.create(
            recipient_id=recipient_id, verb=verb, target_type=target_type, target_id=target_id
        )
        return
    if actor_id == recipient_id:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = {"actor": actor_id, "verb": verb, "target_type": target_type, "target_id": target_id, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_NOTIFY, {**params, "recipient": recipient_id})


def _lock_pair(a: User, b: User) -> dict[int, bool]:
    """Lock both users' rows, lower primary key first; returns each one's ``is_private`` as it is
    now (the callers' copies were read before the lock).

    Follows, approvals and blocks between the same two people then run one after the other, so a
    follow cannot slip in beside a block committing at the same moment; the fixed order means two
    such calls never wait on each other in a cycle. The counters they bump are these same rows.
    ``FOR NO KEY UPDATE`` leaves foreign-key checks (rows inserted elsewhere that point at these
    users, such as notifications) free to proceed, as a plain counter UPDATE would.
    """
    return _lock_users({a.pk, b.pk})


def _lock_users(user_ids: set[int]) -> dict[int, bool]:
    """:func:`_lock_pair` for any number of users: their rows locked in primary-key order, and
    their ``is_private`` as it is now."""
    return dict(
        User.objects.select_for_update(no_key=True)
        .filter(pk__in=user_ids)
        .order_by("pk")
        .values_list("pk", "is_private")
    )


def _is_blocked_either_way(a: User, b: User) -> bool:
    return Block.objects.filter(Q(blocker=a, blocked=b) | Q(blocker=b, blocked=a)).exists()


@transaction.atomic
def user_update_profile(*, user: User, data: dict, avatar=None) -> User:
    """Change the editable profile fields (and the avatar when a file is given).

    Anything else in ``data`` is refused, not ignored: flags and counters are never set here.
    """
    unknown = set(data) - PROFILE_FIELDS
    if unknown:
        raise InvalidInput(
            "Some fields cannot be changed here.",
            code="read_only_field",
            fields={name: ["This field cannot be changed."] for name in sorted(unknown)},
        )
    interests = data.get("interests")
    if interests is not None:
        data = {**data, "interests": sorted(set(interests), key=list(Category.values).index)}
    # Going public lets the pending requesters in, moving their counters with ours: their rows are
    # locked with ours first, in the order follows lock pairs in, so that a requester following
    # again at that moment does not wait on us in a cycle. Privacy is read under the lock.
    requester_ids = []
    if data.get("is_private") is False:
        requester_ids = list(FollowRequest.objects.filter(target=user).values_list("requester_id", flat=True))
    was_private = _lock_users({user.pk, *requester_ids}).get(user.pk, user.is_private)
    User.objects.filter(pk=user.pk).update(**data)
    user_id, fields = user.pk, sorted(data)
    transaction.on_commit(lambda: signals.profile_changed.send(sender=User, user_id=user_id, fields=fields))
    user.refresh_from_db()
    if was_private and not user.is_private:
        _follow_requests_accept_all(user=user)
        user.refresh_from_db(fields=["follower_count"])  # the response shows the new followers
    if avatar is not None:
        _avatar_store(user=user, upload=avatar)
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool) -> None:
    """Deactivate (moderation) or reactivate an account. A deactivated user's access tokens stop
    working at once (the API's authentication checks) and they vanish from every list
    (``visible_to``); their rows stay, so reactivating restores everything. Sends
    ``profile_changed`` (``is_active``) after commit: their reviews stop or start counting again."""
    User.objects.filter(pk=user.pk).update(is_active=active)
    user.is_active = active
    user_id = user.pk
    transaction.on_commit(
        lambda: signals.profile_changed.send(sender=User, user_id=user_id, fields=["is_active"])
    )


def _avatar_store(*, user: User, upload) -> None:
    """Decode the upload for real, crop it square and store a metadata-free WebP."""
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise PayloadTooLarge(f"Avatars may be at most {settings.AVATAR_MAX_BYTES} bytes.")
    image = decode_image(upload.read())
    data = square_webp(image, size=AVATAR_SIZE)
    old_name = user.avatar.name
    user.avatar.save(f"{user.pk}.webp", ContentFile(data), save=False)
    User.objects.filter(pk=user.pk).update(avatar=user.avatar.name)
    if old_name:
        storage = user.avatar.storage
        transaction.on_commit(lambda: storage.delete(old_name))


def _send_follow_changed(follower_id: int, followee_id: int, following: bool) -> None:
    transaction.on_commit(
        lambda: signals.follow_changed.send(
            sender=Follow, follower_id=follower_id, followee_id=followee_id, following=following
        )
    )


def _follow_insert(*, follower: User, followee: User) -> bool:
    """Insert the Follow row and count it. Returns False when it already existed."""
    try:
        with transaction.atomic():
            Follow.objects.create(follower=follower, followee=followee)
    except IntegrityError:
        return False
    _bump({follower.pk: {"following_count": 1}, followee.pk: {"follower_count": 1}})
    _send_follow_changed(follower.pk, followee.pk, True)
    return True


def _follow_remove(*, follower: User, followee: User) -> bool:
    deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
    if deleted:
        _bump({follower.pk: {"following_count": -1}, followee.pk: {"follower_count": -1}})
        _send_follow_changed(follower.pk, followee.pk, False)
    return bool(deleted)


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> FollowResult:
    """Follow ``followee`` (idempotent). A private account gets a follow request instead."""
    if follower.pk == followee.pk:
        raise InvalidInput("You cannot follow yourself.", code="self_follow")
    private = _lock_pair(follower, followee).get(followee.pk, followee.is_private)
    if _is_blocked_either_way(follower, followee):
        raise NotFound()
    if Follow.objects.filter(follower=follower, followee=followee).exists():
        return FollowResult(FollowState.FOLLOWING, changed=False)
    if private:  # as it is now: the account may have gone public (or private) meanwhile
        _, created = FollowRequest.objects.get_or_create(requester=follower, target=followee)
        if created:
            notify(recipient_id=followee.pk, actor_id=follower.pk, verb=NotificationVerb.FOLLOW_REQUEST)
        return FollowResult(FollowState.REQUESTED, changed=created)
    created = _follow_insert(follower=follower, followee=followee)
    if created:
        notify(recipient_id=followee.pk, actor_id=follower.pk, verb=NotificationVerb.FOLLOW)
    return FollowResult(FollowState.FOLLOWING, changed=created)


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> FollowResult:
    """Unfollow, or withdraw a pending request (idempotent)."""
    _lock_pair(follower, followee)
    removed = _follow_remove(follower=follower, followee=followee)
    withdrawn, _ = FollowRequest.objects.filter(requester=follower, target=followee).delete()
    return FollowResult(FollowState.NONE, changed=removed or bool(withdrawn))


@transaction.atomic
def follow_request_approve(*, target: User, requester: User) -> FollowResult:
    _lock_pair(target, requester)
    deleted, _ = FollowRequest.objects.filter(requester=requester, target=target).delete()
    if not deleted:
        raise NotFound("No pending follow request from this user.")
    created = _follow_insert(follower=requester, followee=target)
    notify(recipient_id=requester.pk, actor_id=target.pk, verb=NotificationVerb.FOLLOW_ACCEPTED)
    return FollowResult(FollowState.FOLLOWING, changed=created)


@transaction.atomic
def follow_request_reject(*, target: User, requester: User) -> None:
    deleted, _ = FollowRequest.objects.filter(requester=requester, target=target).delete()
    if not deleted:
        raise NotFound("No pending follow request from this user.")


def _follow_requests_accept_all(*, user: User) -> None:
    """A private account going public lets everyone who asked in."""
    for request in FollowRequest.objects.filter(target=user).select_related("requester"):
        if _follow_insert(follower=request.requester, followee=user):
            notify(recipient_id=request.requester_id, actor_id=user.pk, verb=NotificationVerb.FOLLOW_ACCEPTED)
    FollowRequest.objects.filter(target=user).delete()


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> bool:
    """Block ``blocked`` (idempotent): follows and follow requests both ways are removed.

    Rows are locked in one order whoever blocks whom: follow requests, then follows, both by the
    lower primary key first, then the counters. Two people who follow each other and block each
    other at the same moment (or a block racing an unfollow) would otherwise deadlock.
    """
    if blocker.pk == blocked.pk:
        raise InvalidInput("You cannot block yourself.", code="self_block")
    _lock_pair(blocker, blocked)
    try:
        with transaction.atomic():
            Block.objects.create(blocker=blocker, blocked=blocked)
    except IntegrityError:
        return False
    pairs = sorted([(blocker, blocked), (blocked, blocker)], key=lambda pair: pair[0].pk)
    for requester, target in pairs:
        FollowRequest.objects.filter(requester=requester, target=target).delete()
    counters: dict[int, dict[str, int]] = {blocker.pk: {}, blocked.pk: {}}
    for follower, followee in pairs:
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            counters[follower.pk]["following_count"] = -1
            counters[followee.pk]["follower_count"] = -1
            _send_follow_changed(follower.pk, followee.pk, False)
    _bump(counters)
    transaction.on_commit(
        lambda: signals.block_created.send(sender=Block, blocker_id=blocker.pk, blocked_id=blocked.pk)
    )
    return True


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> bool:
    deleted, _ = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    return bool(deleted)


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the given notifications (or all) as read; returns how many changed."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


@transaction.atomic
def certification_apply(
    *, user: User, real_name: str, category: str, statement: str, portfolio_url: str = ""
) -> KolCertification:
    """Apply (or re-apply after a rejection) to become a certified KOL."""
    if user.is_kol_certified:
        raise Conflict("You are already certified.", code="already_certified")
    existing = KolCertification.objects.select_for_update().filter(user=user).first()
    if existing and existing.status == ReviewStatus.PENDING:
        raise Conflict("Your application is already under review.", code="already_pending")
    values = {
        "real_name": real_name,
        "category": category,
        "statement": statement,
        "portfolio_url": portfolio_url,
        "status": ReviewStatus.PENDING,
        "decision_reason": "",
        "reviewed_by": None,
        "reviewed_at": None,
    }
    if existing is None:
        try:
            with transaction.atomic():
                return KolCertification.objects.create(user=user, **values)
        except IntegrityError:  # applied twice at the same moment: the other one is under review
            raise Conflict("Your application is already under review.", code="already_pending") from None
    certification, _ = KolCertification.objects.update_or_create(user=user, defaults=values)
    return certification


@transaction.atomic
def certification_review(
    *, certification: KolCertification, reviewer: User, approve: bool, reason: str = ""
) -> KolCertification:
    """A moderator's decision; approval sets the user's certified flag."""
    certification = KolCertification.objects.select_for_update().get(pk=certification.pk)
    if certification.status != ReviewStatus.PENDING:
        raise Conflict("This application was already decided.", code="already_decided")
    certification.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    certification.decision_reason = reason
    certification.reviewed_by = reviewer
    certification.reviewed_at = timezone.now()
    certification.save(
        update_fields=["status", "decision_reason", "reviewed_by", "reviewed_at", "updated_at"]
    )
    User.objects.filter(pk=certification.user_id).update(is_kol_certified=approve)
    notify(recipient_id=certification.user_id, actor_id=None, verb=NotificationVerb.CERTIFICATION)
    return certification


@transaction.atomic
def brand_apply(
    *, owner: User, name: str, business_license: str, description: str = "", website: str = "", slug: str = ""
) -> Brand:
    """Apply for a brand account; it serves a store and ads once a moderator approves it."""
    slug = slug or slugify(name)
    if not slug:
        raise InvalidInput(
            "Choose a slug of latin letters, digits or dashes.", fields={"slug": ["Required."]}
        )
    if clashes := _brand_clashes(name=name, slug=slug):
        raise Conflict("The brand clashes with an existing one.", code="brand_exists", fields=clashes)
    try:
        with transaction.atomic():
            return Brand.objects.create(
                owner=owner,
                name=name,
                slug=slug,
                description=description,
                website=website,
                business_license=business_license,
            )
    except IntegrityError:  # the same name or slug applied for at the same moment (unique columns)
        clashes = _brand_clashes(name=name, slug=slug)
        raise Conflict(
            "The brand clashes with an existing one.", code="brand_exists", fields=clashes
        ) from None


def _brand_clashes(*, name: str, slug: str) -> dict[str, list[str]]:
    clashes = {}
    if Brand.objects.filter(slug=slug).exists():
        clashes["slug"] = ["This slug is taken."]
    if Brand.objects.filter(name__iexact=name).exists():
        clashes["name"] = ["A brand with this name exists."]
    return clashes


@transaction.atomic
def brand_review(*, brand: Brand, reviewer: User, approve: bool, reason: str = "") -> Brand:
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    if brand.status != ReviewStatus.PENDING:
        raise Conflict("This application was already decided.", code="already_decided")
    brand.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    brand.decision_reason = reason
    brand.reviewed_by = reviewer
    brand.reviewed_at = timezone.now()
    brand.save(update_fields=["status", "decision_reason", "reviewed_by", "reviewed_at"])
    notify(recipient_id=brand.owner_id, actor_id=None, verb=NotificationVerb.BRAND)
    return brand
