"""Discovery ranking: pure functions of a note's features, a reader and ``now`` (no I/O).

A note's score at time ``now``::

    S = (1 + E) x impressions factor x author quality x reach x new-note boost x 2^(-age / half-life)

* ``E`` weighs engagement: likes 1, collects 2 (a collect is a stronger "I want this"), comments 1.5,
  shares 3, follows of the author by people who engaged with the note 5, "not interested" -4.
* Impressions factor: once a note has been served ``MIN_IMPRESSIONS`` times, its engagement per
  impression against a typical rate, clamped to [0.5, 3]: a note many saw and few liked sinks.
* Author quality: likes + collects per note the author has earned (log-scaled) and KOL certification,
  clamped to [0.8, 2].
* ``reach``: the moderators' limit (1 normal, 0 out of discovery).
* New-note boost: x3 at publication, stepping down (x2.5, x2, x1.5) to x1 over ``FEED_NEW_NOTE_HOURS``,
  so a new note has a score the moment it is published and gets its first impressions.

Because the decay is exponential, ``ln S = ln(base) + ln2 x published / half-life - ln2 x now /
half-life``; the last term is the same for every note, so the stored ``rank = ln(base) + ln2 x
published / half-life`` orders notes exactly as ``S`` does at any ``now``. Scores never need a
rewrite just because time passed. The periodic decay pass only rewrites what did change: a note
whose new-note boost stepped down (in steps, so each note changes a few times in its life, not at
every pass), impressions, counters that went down, authors who went private.

A reader reorders candidates by ``rank + ln(personal boost)``: declared and learned category
interests, learned topics, authors they turned down. Pages then keep at most
``FEED_AUTHOR_DIVERSITY`` notes per author; ties break on the note id, so for the same features,
reader and ``now`` the order is always the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from notes.feeds.timelines import to_us

LN2 = math.log(2)
WEIGHTS = {"likes": 1.0, "collects": 2.0, "comments": 1.5, "shares": 3.0, "follows": 5.0}
NOT_INTERESTED_WEIGHT = -4.0
MIN_IMPRESSIONS = 20
TYPICAL_RATE = 0.05  # weighted engagement per impression of an ordinary note
IMPRESSION_FACTOR = (0.5, 3.0)
AUTHOR_QUALITY = (0.8, 2.0)
KOL_FACTOR = 1.2
NEW_NOTE_BOOST = 2.0  # x(1 + 2) at publication
NEW_NOTE_STEPS = 4  # ...then x2.5, x2, x1.5 for each quarter of FEED_NEW_NOTE_HOURS, then x1
# A reader's boost, in log space: how much each kind of interest moves a note.
DECLARED_INTEREST = 0.5
CATEGORY_WEIGHT = 1.0
TOPIC_WEIGHT = 0.7
PERSONAL_BOOST = (-4.0, 1.5)
MAX_SIGNALS = 3


@dataclass(frozen=True)
class Features:
    """What a note is scored from (see :mod:`notes.feeds.scoring` for where each comes from)."""

    note_id: int
    author_id: int
    published_at: datetime
    category: str = ""
    topic_ids: tuple[int, ...] = ()
    likes: int = 0
    collects: int = 0
    comments: int = 0
    shares: int = 0
    follows: int = 0
    not_interested: int = 0
    impressions: int = 0
    author_likes_per_note: float = 0.0
    author_certified: bool = False
    reach: float = 1.0


@dataclass(frozen=True)
class Scored:
    rank: float
    author_quality: float
    signals: list[str]


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return max(bounds[0], min(bounds[1], value))


def engagement(f: Features) -> float:
    total = sum(weight * getattr(f, name) for name, weight in WEIGHTS.items())
    return max(0.0, total + NOT_INTERESTED_WEIGHT * f.not_interested)


def impressions_factor(engaged: float, impressions: int) -> float:
    if impressions < MIN_IMPRESSIONS:
        return 1.0
    rate = (engaged + 1.0) / (impressions + 10.0)
    return _clamp(rate / TYPICAL_RATE, IMPRESSION_FACTOR)


def author_factor(likes_per_note: float, certified: bool) -> float:
    quality = 1.0 + 0.1 * math.log1p(max(0.0, likes_per_note))
    if certified:
        quality *= KOL_FACTOR
    return _clamp(quality, AUTHOR_QUALITY)


def author_quality(f: Features) -> float:
    return author_factor(f.author_likes_per_note, f.author_certified)


def new_note_step(published_at: datetime, now: datetime) -> int:
    """How many steps the new-note boost has come down (``NEW_NOTE_STEPS``: none left)."""
    window = settings.FEED_NEW_NOTE_HOURS
    if window <= 0:
        return NEW_NOTE_STEPS
    hours = max(0.0, (now - published_at).total_seconds() / 3600)
    return min(NEW_NOTE_STEPS, int(hours * NEW_NOTE_STEPS // window))


def new_note_boost(published_at: datetime, now: datetime) -> float:
    return 1.0 + NEW_NOTE_BOOST * (1.0 - new_note_step(published_at, now) / NEW_NOTE_STEPS)


def time_term(published_at: datetime) -> float:
    """ln 2 x published time / half-life, in the same units as ``ln(base)``."""
    return LN2 * (to_us(published_at) / 1e6) / (settings.FEED_RANK_HALF_LIFE_HOURS * 3600)


def score(f: Features, now: datetime) -> Scored:
    """The note's rank at ``now`` and the signals that made it (strongest first)."""
    engaged = engagement(f)
    impressions = impressions_factor(engaged, f.impressions)
    quality = author_quality(f)
    boost = new_note_boost(f.published_at, now)
    base = (1.0 + engaged) * impressions * quality * max(f.reach, 1e-9) * boost
    rank = math.log(base) + time_term(f.published_at)
    contributions = sorted(
        ((weight * getattr(f, name), name) for name, weight in WEIGHTS.items() if getattr(f, name) > 0),
        reverse=True,
    )
    signals = [name for _, name in contributions[:2]]
    if boost >= 2.0:
        signals.insert(0, "new")
    if impressions >= 1.5:
        signals.append("engaging")
    if quality >= 1.2:
        signals.append("trusted_author")
    return Scored(rank=rank, author_quality=quality, signals=signals[:MAX_SIGNALS])


# --- the reader's side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who a discovery page is for (anonymous when ``user_id`` is None). ``categories``/``topics``/
    ``authors``/``hidden`` come from their :class:`~notes.models.ReaderProfile`, ``declared`` from
    their profile's interests."""

    user_id: int | None = None
    declared: frozenset[str] = frozenset()
    categories: dict[str, float] = field(default_factory=dict)
    topics: dict[int, tuple[float, str]] = field(default_factory=dict)
    authors: dict[int, float] = field(default_factory=dict)
    hidden: frozenset[int] = frozenset()

    @property
    def personal(self) -> bool:
        return self.user_id is not None

    def top_categories(self, n: int = 2) -> list[str]:
        weights = dict(self.categories)
        for category in self.declared:
            weights[category] = weights.get(category, 0.0) + DECLARED_INTEREST
        ranked = sorted(((w, c) for c, w in weights.items() if w > 0), reverse=True)
        return [category for _, category in ranked[:n]]


@dataclass(slots=True)
class Candidate:
    """A note that may go on a discovery page. ``note`` is the loaded card when the backend
    fetched cards together with candidates."""

    note_id: int
    author_id: int
    rank: float
    category: str = ""
    topic_ids: tuple[int, ...] = ()
    note: object = None
    key: float = 0.0


def _interest(candidate: Candidate, reader: Reader) -> tuple[float, list[tuple[float, str]]]:
    """How much ``reader`` cares for the candidate's category, and its topics they care for
    (weight, name)."""
    weight = reader.categories.get(candidate.category, 0.0)
    if candidate.category in reader.declared:
        weight += DECLARED_INTEREST
    topics = reader.topics
    return weight, [topics[t] for t in candidate.topic_ids if t in topics]


def order(candidates: Iterable[Candidate], reader: Reader) -> list[Candidate]:
    """Candidates with their ordering ``key`` for ``reader`` (the rank, boosted by their interests
    in its category, topics and author, within ``PERSONAL_BOOST``), best first (ties: newer note id
    first). A page weighs hundreds, so this is the hot loop of the discovery feed."""
    ranked = list(candidates)
    low, high = PERSONAL_BOOST
    authors = reader.authors
    for candidate in ranked:
        if not reader.personal:
            candidate.key = candidate.rank
            continue
        category_weight, matched = _interest(candidate, reader)
        topic_weight = min(1.0, sum(weight for weight, _ in matched)) if matched else 0.0
        boost = CATEGORY_WEIGHT * category_weight + TOPIC_WEIGHT * topic_weight
        boost += authors.get(candidate.author_id, 0.0)
        candidate.key = candidate.rank + max(low, min(high, boost))
    ranked.sort(key=_by_key, reverse=True)
    return ranked


def _by_key(candidate: Candidate) -> tuple[float, int]:
    return candidate.key, candidate.note_id


def reasons(candidate: Candidate, reader: Reader) -> list[str]:
    """The personal reasons behind the candidate's place (worked out for the served ones only)."""
    if not reader.personal:
        return []
    category_weight, matched = _interest(candidate, reader)
    out = []
    if candidate.category and category_weight >= 0.15:
        out.append(f"interest:{candidate.category}")
    if matched and max(matched)[0] >= 0.1:
        out.append(f"topic:{max(matched)[1]}")
    return out


def diversify(
    ranked: Sequence[Candidate], *, limit: int, per_author: int
) -> tuple[list[Candidate], list[Candidate]]:
    """Walk ``ranked`` and keep at most ``per_author`` notes per author, up to ``limit`` notes.
    Returns (kept, deferred): deferred are the notes passed over for diversity before the page
    filled, which a later page should consider first."""
    kept: list[Candidate] = []
    deferred: list[Candidate] = []
    per: dict[int, int] = {}
    for candidate in ranked:
        if len(kept) >= limit:
            break
        if per.get(candidate.author_id, 0) >= per_author:
            deferred.append(candidate)
            continue
        per[candidate.author_id] = per.get(candidate.author_id, 0) + 1
        kept.append(candidate)
    return kept, deferred


def why(candidate: Candidate, reader: Reader, signals: Iterable[str]) -> list[str]:
    """The compact explanation shown with an item: personal reasons first, then the note's own."""
    out: list[str] = []
    for reason in [*reasons(candidate, reader), *signals]:
        if reason not in out:
            out.append(reason)
    return out[:MAX_SIGNALS]
