"""What the harness needs from the world: sample viewers with real JWTs, and ids to request.

Everything is chosen deterministically from the database (ordered queries, a seeded shuffle), so two
runs against the same world send the same requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from allauth.headless.tokens.strategies.jwt.strategy import JWTTokenStrategy
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Abs
from django.test import RequestFactory

from accounts.choices import Audience
from accounts.models import User
from notes.choices import NoteStatus, Visibility
from notes.models import Board, Note, NoteCollect, NoteLike
from shop.models import Product

VIEWERS = 40
PAIRS = 200  # (user, note) like/collect toggles in the rotation


@dataclass
class Sample:
    """Ids and tokens the endpoint rotations use. ``tokens[i]`` is ``viewers[i]``'s access token."""

    viewers: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)
    commented_notes: list[int] = field(default_factory=list)
    boards: list[int] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    #: (viewer index, note id) that the viewer neither likes nor collects yet: toggles leave no trace.
    pairs: list[tuple[int, int]] = field(default_factory=list)
    hot_note: int = 0
    #: (username, follower count) of authors closest to 1k and 10k followers (B4 fan-out).
    fanout_authors: dict[int, tuple[str, int]] = field(default_factory=dict)

    def token(self, index: int) -> str:
        return self.tokens[index % len(self.tokens)]


def mint_token(user: User) -> str:
    """A real access token for ``user``, made the way allauth's login makes it: a session, then a
    JWT signed with the app's key that names it (validated statelessly by the API)."""
    request = RequestFactory().post("/_allauth/app/v1/auth/login")
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.user = user
    request.session.save()
    return JWTTokenStrategy().create_access_token(request)


def _open_notes():
    return Note.objects.filter(
        status=NoteStatus.PUBLISHED,
        visibility=Visibility.PUBLIC,
        deleted_at__isnull=True,
        author__is_private=False,
        author__is_active=True,
    )


def build(seed: int = 42) -> Sample:
    rng = random.Random(f"bench-sample:{seed}")
    sample = Sample()
    # Viewers: ordinary people who follow enough others to have a feed.
    candidates = list(
        User.objects.filter(is_active=True, is_kol_certified=False, following_count__gte=5)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sample.viewers = sorted(rng.sample(candidates, min(VIEWERS, len(candidates))))
    users = User.objects.in_bulk(sample.viewers)
    sample.tokens = [mint_token(users[pk]) for pk in sample.viewers]

    recent = list(_open_notes().order_by("-pk").values_list("pk", flat=True)[:2000])
    sample.notes = sorted(rng.sample(recent, min(200, len(recent))))
    commented = list(
        _open_notes()
        .filter(comment_count__gte=5)
        .order_by("-comment_count", "pk")
        .values_list("pk", flat=True)[:500]
    )
    sample.commented_notes = sorted(rng.sample(commented, min(100, len(commented)))) or sample.notes[:1]
    boards = list(
        Board.objects.filter(
            is_private=False, owner__is_private=False, owner__hide_collects=False, note_count__gte=5
        )
        .order_by("-note_count", "pk")
        .values_list("pk", flat=True)[:500]
    )
    sample.boards = sorted(rng.sample(boards, min(100, len(boards))))
    authors = list(
        User.objects.filter(is_active=True, is_private=False, note_count__gte=5)
        .order_by("pk")
        .values_list("username", flat=True)
    )
    sample.authors = sorted(rng.sample(authors, min(100, len(authors))))
    on_sale = list(Product.objects.on_sale().order_by("pk").values_list("pk", flat=True))
    sample.products = sorted(rng.sample(on_sale, min(100, len(on_sale))))

    # Toggle pairs: notes none of the sampled viewers likes or collects, by authors who take
    # comments from everyone (the comment benchmark writes on them too).
    engaged = Exists(NoteLike.objects.filter(note=OuterRef("pk"), user_id__in=sample.viewers)) | Exists(
        NoteCollect.objects.filter(note=OuterRef("pk"), user_id__in=sample.viewers)
    )
    free = list(
        _open_notes()
        .exclude(author_id__in=sample.viewers)
        .filter(~engaged, author__comment_permission=Audience.EVERYONE)
        .order_by("-pk")
        .values_list("pk", flat=True)[: PAIRS + 1]
    )
    sample.hot_note = free[0] if free else sample.notes[0]
    sample.pairs = [(i % len(sample.viewers), note) for i, note in enumerate(free[1 : PAIRS + 1])]
    for wanted in (1_000, 10_000):
        author = (
            User.objects.filter(follower_count__gte=1)
            .annotate(distance=Abs(F("follower_count") - wanted))
            .order_by("distance", "pk")
            .values_list("username", "follower_count")
            .first()
        )
        if author:
            sample.fanout_authors[wanted] = author
    return sample
