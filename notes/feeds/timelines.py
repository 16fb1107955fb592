"""Following timelines: for each reader, the ids of their followees' notes, newest first.

Two backends behind one interface (:class:`TimelineBackend`), chosen by ``settings.FEED_BACKEND``:

* :class:`RedisTimeline`: a sorted set per reader (``tl:<user>``), capped at ``FEED_TIMELINE_MAX``,
  and one per author (``out:<author>``, the author's own recent notes). All members share score 0
  and are ordered by the member string itself, ``<published µs, 16 digits>:<note id, 12 digits>:
  <author id>``, so a page is one ``ZREVRANGEBYLEX`` below the cursor, exact even when two notes
  share a timestamp, and an unfollow can find an author's members without the database.
* :class:`DatabaseTimeline`: rows of :class:`~notes.models.TimelineEntry`; the notes table itself
  serves as every author's outbox.

Order and cursors. Entries are ordered by (published time, note id), newest first. That key never
changes once a note is published, so a cursor (the key of the last entry served) stays valid while
new notes arrive above it or a follow back-fills older ones below it: pages never repeat or skip.

Fan-out on write, pull on read. Publishing adds the note to each follower's timeline, unless its
author has ``FEED_PULL_THRESHOLD`` followers or more: then only the outbox gets it, and a reader's
page merges the outboxes of the pull authors they follow. Reads pull authors above *half* the
threshold, so an author who drops just below it keeps the notes that were never fanned out; the
merge drops duplicates. With Redis, who a reader pulls is remembered per reader (``pulled:<user>``,
``FEED_PULL_CACHE_SECONDS``; forgotten when they follow, unfollow or block someone) and read in the
timeline's round trip, so a page costs no query for it, and the outboxes one more round trip only
for readers who follow pull authors. The half-threshold margin is also what makes remembering safe:
an author would have to gain half the threshold in followers within that time to be missed.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, Q

from accounts.models import Follow
from config.db import PreparedQuery
from config.errors import InvalidInput
from notes.choices import NoteStatus, Visibility
from notes.feeds import redisconn
from notes.models import Note, TimelineEntry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
#: Visibilities that go into followers' timelines (private notes are for their author only).
FEEDABLE_VISIBILITY = (Visibility.PUBLIC, Visibility.FOLLOWERS)
CHUNK = 1000
# Pre-framed RESP pieces for bulk rebuilds (see ``redisconn.execute_packed``).
DEL, ZADD = b"$3\r\nDEL\r\n", b"$4\r\nZADD\r\n"
ZREMRANGEBYRANK = b"$15\r\nZREMRANGEBYRANK\r\n"
SCORE_ZERO = b"$1\r\n0\r\n"  # every timeline member's score (they are ordered by the member)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // ONE_MICROSECOND


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class Entry(NamedTuple):
    """A note in a timeline: its sort key (``published_us``, ``note_id``) and its author."""

    published_us: int
    note_id: int
    author_id: int

    @classmethod
    def of(cls, *, note_id: int, author_id: int, published_at: datetime) -> Entry:
        return cls(to_us(published_at), note_id, author_id)

    @classmethod
    def of_note(cls, note: Note) -> Entry:
        return cls.of(
            note_id=note.pk, author_id=note.author_id, published_at=note.published_at or note.created_at
        )

    @property
    def key(self) -> tuple[int, int]:
        return (self.published_us, self.note_id)

    @property
    def published_at(self) -> datetime:
        return from_us(self.published_us)

    def member(self) -> str:
        return f"{_prefix(self.key)}:{self.author_id}"

    @classmethod
    def from_member(cls, member: str) -> Entry:
        published, note, author = member.split(":")
        return cls(int(published), int(note), int(author))


def _prefix(key: tuple[int, int]) -> str:
    return f"{key[0]:016d}:{key[1]:012d}"


def encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}.{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, int] | None:
    """The key a cursor stands for; a malformed one is a 400, not a 500."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        published, note = (int(part) for part in raw.split("."))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("Invalid cursor.", code="invalid_cursor", fields={"cursor": ["Invalid."]}) from exc
    if published < 0 or note < 0:
        raise InvalidInput("Invalid cursor.", code="invalid_cursor", fields={"cursor": ["Invalid."]})
    return published, note


def merge(*sources: Iterable[Entry], limit: int) -> list[Entry]:
    """The newest ``limit`` distinct notes of all sources."""
    best: dict[int, Entry] = {}
    for entry in itertools.chain(*sources):
        best.setdefault(entry.note_id, entry)
    return sorted(best.values(), key=lambda e: e.key, reverse=True)[:limit]


def pull_read_threshold() -> int:
    return max(1, settings.FEED_PULL_THRESHOLD // 2)


def pull_followees(user_id: int, *, threshold: int | None = None):
    """The followees whose notes ``user_id`` pulls at read time (a subquery, not evaluated)."""
    return Follow.objects.filter(
        follower_id=user_id, followee__follower_count__gte=threshold or pull_read_threshold()
    ).values("followee_id")


_PULLED = PreparedQuery(pull_followees)


def pulled_author_ids(user_id: int) -> list[int]:
    """:func:`pull_followees` evaluated (the SQL compiled once): read on every following page."""
    return [row["followee_id"] for row in _PULLED.rows(user_id, threshold=pull_read_threshold())]


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _before(key: tuple[int, int] | None, *, time_field: str, id_field: str) -> Q:
    if key is None:
        return Q()
    moment = from_us(key[0])
    return Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, f"{id_field}__lt": key[1]})


class TimelineBackend:
    """Where timelines live. Every method is idempotent: adding twice keeps one entry, removing
    what is absent does nothing, so tasks may run twice or out of order."""

    def fanout(self, entry: Entry, user_ids: Iterable[int]) -> int:
        """Add ``entry`` to these readers' timelines; returns how many readers."""
        raise NotImplementedError

    def remove(self, entry: Entry, user_ids: Iterable[int]) -> None:
        """Take the note out of these readers' timelines (at least) and out of its author's outbox."""
        raise NotImplementedError

    def remove_author(self, user_id: int, author_id: int) -> None:
        """Take every note of ``author_id`` out of ``user_id``'s timeline."""
        raise NotImplementedError

    def add(self, user_id: int, entries: list[Entry]) -> None:
        """Add entries to one timeline (a new follow's back-fill)."""
        raise NotImplementedError

    def replace(self, timelines: dict[int, list[Entry]]) -> None:
        """Set these timelines to exactly these entries (a rebuild)."""
        raise NotImplementedError

    def rebuild(self, followees: dict[int, list[int]], outboxes: dict[int, list[Entry]]) -> None:
        """Set each reader's timeline to the newest entries of their followees' outboxes (already
        written by :meth:`outbox_replace`; each newest first)."""
        self.replace(
            {
                user_id: list(
                    itertools.islice(
                        heapq.merge(*(outboxes[a] for a in authors), reverse=True), settings.FEED_TIMELINE_MAX
                    )
                )
                for user_id, authors in followees.items()
            }
        )

    def forget_pulled(self, user_id: int) -> None:
        """``user_id``'s follows changed: who they pull must be looked up again (where it is kept)."""

    def outbox_add(self, entry: Entry) -> None:
        """Record a note in its author's outbox (what pull readers merge)."""

    def outbox_replace(self, outboxes: dict[int, list[Entry]]) -> None:
        """Set these authors' outboxes to exactly these entries (a rebuild)."""

    def page(self, *, user_id: int, cursor: tuple[int, int] | None, limit: int) -> list[Entry]:
        """Up to ``limit`` entries older than ``cursor``, newest first: the reader's timeline merged
        with the outboxes of the pull authors they follow."""
        raise NotImplementedError

    def trim(self) -> int:
        """Drop entries beyond ``FEED_TIMELINE_MAX`` per reader; returns how many went."""
        return 0

    def drop_others(self, *, user_ids: set[int], author_ids: set[int]) -> None:
        """After a full rebuild: forget the timelines of everyone else (they follow nobody) and
        the outboxes of authors without feedable notes."""
        raise NotImplementedError


class RedisTimeline(TimelineBackend):
    """Sorted sets in Redis, written in pipelines of ``CHUNK`` readers."""

    def __init__(self):
        # A rebuild writes the same entries into many timelines: frame each (score, member) once.
        self._framed: dict[Entry, bytes] = {}

    def _frame(self, entry: Entry) -> bytes:
        framed = self._framed.get(entry)
        if framed is None:
            framed = self._framed[entry] = SCORE_ZERO + redisconn.bulk_string(entry.member().encode())
        return framed

    def _tl(self, user_id: int) -> str:
        return redisconn.key("tl", user_id)

    def _out(self, author_id: int) -> str:
        return redisconn.key("out", author_id)

    def _pulled(self, user_id: int) -> str:
        return redisconn.key("pulled", user_id)

    def forget_pulled(self, user_id: int) -> None:
        redisconn.client().delete(self._pulled(user_id))

    def _add(self, pipe, name: str, members: dict[str, int]) -> None:
        pipe.zadd(name, members)
        pipe.zremrangebyrank(name, 0, -(settings.FEED_TIMELINE_MAX + 1))

    def fanout(self, entry: Entry, user_ids: Iterable[int]) -> int:
        # Framed once, like a rebuild: only the key differs between followers, and redis-py packing
        # two commands per follower cost more than the round trips (10k followers: ~0.3 s).
        member = self._frame(entry)
        trim = redisconn.bulk_string(b"0") + redisconn.bulk_string(b"%d" % -(settings.FEED_TIMELINE_MAX + 1))
        count = 0
        for chunk in _chunks(user_ids):
            commands = []
            for user_id in chunk:
                key = redisconn.bulk_string(self._tl(user_id).encode())
                commands.append(redisconn.resp(ZADD, key, member, count=4))
                commands.append(redisconn.resp(ZREMRANGEBYRANK, key, trim, count=4))
            redisconn.execute_packed(commands, transaction=False)
            count += len(chunk)
        return count

    def remove(self, entry: Entry, user_ids: Iterable[int]) -> None:
        client, member = redisconn.client(), entry.member()
        client.zrem(self._out(entry.author_id), member)
        for chunk in _chunks(user_ids):
            pipe = client.pipeline(transaction=False)
            for user_id in chunk:
                pipe.zrem(self._tl(user_id), member)
            pipe.execute()

    def remove_author(self, user_id: int, author_id: int) -> None:
        client, name, suffix = redisconn.client(), self._tl(user_id), f":{author_id}"
        doomed = [member for member in client.zrange(name, 0, -1) if member.endswith(suffix)]
        if doomed:
            client.zrem(name, *doomed)

    def add(self, user_id: int, entries: list[Entry]) -> None:
        if entries:
            pipe = redisconn.client().pipeline(transaction=False)
            self._add(pipe, self._tl(user_id), {entry.member(): 0 for entry in entries})
            pipe.execute()

    def _replace(self, names: dict[str, list[Entry]]) -> None:
        cap = settings.FEED_TIMELINE_MAX
        for chunk in _chunks(names.items(), 200):
            commands = []  # in one MULTI: readers never see a timeline half rebuilt
            for name, entries in chunk:
                key = redisconn.bulk_string(name.encode())
                commands.append(redisconn.resp(DEL, key))
                if entries:
                    pairs = [self._frame(entry) for entry in entries[:cap]]  # each: score and member
                    commands.append(redisconn.resp(ZADD, key, *pairs, count=2 + 2 * len(pairs)))
            redisconn.execute_packed(commands)

    def replace(self, timelines: dict[int, list[Entry]]) -> None:
        self._replace({self._tl(user_id): entries for user_id, entries in timelines.items()})
        client = redisconn.client()
        for chunk in _chunks(timelines, 500):  # who they pull is looked up again too
            client.delete(*(self._pulled(user_id) for user_id in chunk))

    def drop_others(self, *, user_ids: set[int], author_ids: set[int]) -> None:
        client = redisconn.client()
        for kind, keep in (("tl", user_ids), ("out", author_ids)):
            prefix = redisconn.key(kind, "")
            doomed = [
                name
                for name in client.scan_iter(match=f"{prefix}*", count=1000)
                if not name[len(prefix) :].isdigit() or int(name[len(prefix) :]) not in keep
            ]
            for chunk in _chunks(doomed, 500):
                client.delete(*chunk)

    def outbox_add(self, entry: Entry) -> None:
        pipe = redisconn.client().pipeline(transaction=False)
        self._add(pipe, self._out(entry.author_id), {entry.member(): 0})
        pipe.execute()

    def outbox_replace(self, outboxes: dict[int, list[Entry]]) -> None:
        self._replace({self._out(author_id): entries for author_id, entries in outboxes.items()})

    def page(self, *, user_id: int, cursor: tuple[int, int] | None, limit: int) -> list[Entry]:
        # Exclusive upper bound: every member below the cursor's key (the cursor's own member is
        # longer than its key, hence above it).
        high = f"({_prefix(cursor)}" if cursor else "+"

        def newest(name: str) -> bytes:
            return redisconn.command("ZREVRANGEBYLEX", name, high, "-", "LIMIT", 0, limit)

        remembered, own = redisconn.execute_packed(
            [redisconn.command("GET", self._pulled(user_id)), newest(self._tl(user_id))], transaction=False
        )
        if remembered is None:
            pulled = pulled_author_ids(user_id)
        else:
            pulled = [int(author_id) for author_id in remembered.split(",") if author_id]
        commands = [newest(self._out(author_id)) for author_id in pulled]
        if remembered is None:
            remember = max(1, settings.FEED_PULL_CACHE_SECONDS)  # Redis refuses an expiry of 0
            commands.append(
                redisconn.command("SET", self._pulled(user_id), ",".join(map(str, pulled)), "EX", remember)
            )
        outboxes = redisconn.execute_packed(commands, transaction=False)[: len(pulled)]
        if not outboxes:  # the timeline alone: already newest first, one entry per note
            return [Entry.from_member(member) for member in own]
        sources = [own, *outboxes]
        return merge(*((Entry.from_member(member) for member in members) for members in sources), limit=limit)


class DatabaseTimeline(TimelineBackend):
    """Rows of ``TimelineEntry``; the notes table is every author's outbox."""

    def fanout(self, entry: Entry, user_ids: Iterable[int]) -> int:
        count = 0
        for chunk in _chunks(user_ids, 2000):
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(
                        user_id=user_id,
                        note_id=entry.note_id,
                        author_id=entry.author_id,
                        published_at=entry.published_at,
                    )
                    for user_id in chunk
                ],
                ignore_conflicts=True,
            )
            count += len(chunk)
        return count

    def remove(self, entry: Entry, user_ids: Iterable[int]) -> None:
        TimelineEntry.objects.filter(note_id=entry.note_id).delete()  # every reader, followers or not

    def remove_author(self, user_id: int, author_id: int) -> None:
        TimelineEntry.objects.filter(user_id=user_id, author_id=author_id).delete()

    def _rows(self, user_id: int, entries: list[Entry]) -> list[TimelineEntry]:
        return [
            TimelineEntry(
                user_id=user_id, note_id=e.note_id, author_id=e.author_id, published_at=e.published_at
            )
            for e in entries
        ]

    def add(self, user_id: int, entries: list[Entry]) -> None:
        TimelineEntry.objects.bulk_create(self._rows(user_id, entries), ignore_conflicts=True)

    def replace(self, timelines: dict[int, list[Entry]]) -> None:
        for chunk in _chunks(timelines.items(), 200):
            TimelineEntry.objects.filter(user_id__in=[user_id for user_id, _ in chunk]).delete()
            rows = [
                row
                for user_id, entries in chunk
                for row in self._rows(user_id, entries[: settings.FEED_TIMELINE_MAX])
            ]
            TimelineEntry.objects.bulk_create(rows, batch_size=2000)

    def page(self, *, user_id: int, cursor: tuple[int, int] | None, limit: int) -> list[Entry]:
        own = (
            TimelineEntry.objects.filter(user_id=user_id)
            .filter(_before(cursor, time_field="published_at", id_field="note_id"))
            .order_by("-published_at", "-note_id")
            .values_list("published_at", "note_id", "author_id")[:limit]
        )
        pulled = (
            Note.objects.filter(
                author_id__in=pull_followees(user_id),
                status=NoteStatus.PUBLISHED,
                deleted_at__isnull=True,
                published_at__isnull=False,
                visibility__in=FEEDABLE_VISIBILITY,
            )
            .filter(_before(cursor, time_field="published_at", id_field="id"))
            .order_by("-published_at", "-id")
            .values_list("published_at", "id", "author_id")[:limit]
        )
        return merge(
            *((Entry(to_us(at), note, author) for at, note, author in rows) for rows in (own, pulled)),
            limit=limit,
        )

    def drop_others(self, *, user_ids: set[int], author_ids: set[int]) -> None:
        TimelineEntry.objects.exclude(user_id__in=Follow.objects.values("follower_id")).delete()

    def trim(self) -> int:
        removed, cap = 0, settings.FEED_TIMELINE_MAX
        crowded = (
            TimelineEntry.objects.values("user_id")
            .annotate(n=Count("id"))
            .filter(n__gt=cap)
            .values_list("user_id", flat=True)
        )
        for user_id in crowded:
            mine = TimelineEntry.objects.filter(user_id=user_id)
            last = mine.order_by("-published_at", "-note_id").values_list("published_at", "note_id")[cap - 1]
            deleted, _ = mine.filter(
                _before((to_us(last[0]), last[1]), time_field="published_at", id_field="note_id")
            ).delete()
            removed += deleted
        return removed


BACKENDS = {"redis": RedisTimeline, "db": DatabaseTimeline}


def timeline_backend() -> TimelineBackend:
    """The backend ``settings.FEED_BACKEND`` names (``redis`` or ``db``)."""
    return redisconn.configured(BACKENDS)
