"""Where the discovery feed reads ranks from and writes what readers saw, chosen like timelines by
``settings.FEED_BACKEND``.

* :class:`RedisRankStore`: sorted sets ``rank:all`` and ``rank:c:<category>`` of rankable notes
  scored by ``rank``, each member ``<note>:<author>:<category>:<topic.topic...>`` so that candidates
  come back with everything personalisation and diversity need in one round trip; per reader a
  sorted set ``seen:<user>`` (note -> time served, capped at ``FEED_SEEN_MAX``); a hash ``imp`` of
  impressions per note; per reader and channel a :class:`Pool` of what their last page ranked and
  did not serve, and a ``rank:version`` that every published score moves. A discovery page costs
  two round trips: the reader's pool while it holds, or else the candidates the reader has not seen
  (a server-side script skips the seen ones), then the write of what was served and of the pool
  left. A scored note costs a constant number of commands (two ``ZADD``, plus two ``ZREM`` when
  its category or topics changed, and the version's ``INCR`` per batch).
* :class:`DatabaseRankStore`: ``NoteScore`` is the rank index itself; one query returns the
  candidates as ready cards (visibility, seen and turned-down notes filtered in SQL), and
  ``SeenNote`` rows record what was served (and count as impressions).

``NoteScore`` rows are written by :mod:`notes.feeds.scoring` in both modes: they hold the features
and the rank, which the nearby feed and rebuilds read.
"""

from __future__ import annotations

import itertools
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q

from notes.feeds import redisconn
from notes.feeds.ranking import Candidate, Reader
from notes.models import NoteScore, SeenNote
from notes.selectors import note_cards, notes_for_cards

DAY = 86400


@dataclass(frozen=True)
class RankRow:
    """What a rank store needs of a note's score."""

    note_id: int
    author_id: int
    category: str
    topic_ids: tuple[int, ...]
    rank: float
    rankable: bool

    @classmethod
    def of(cls, score: NoteScore) -> RankRow:
        return cls(
            score.note_id, score.author_id, score.category, tuple(score.topic_ids), score.rank, score.rankable
        )

    def member(self) -> str:
        return f"{self.note_id}:{self.author_id}:{self.category}:{'.'.join(map(str, self.topic_ids))}"


def candidate_from_member(member: str, rank: float) -> Candidate:
    note, author, category, topics = member.split(":")
    return Candidate(
        int(note), int(author), rank, category, tuple(map(int, topics.split("."))) if topics else ()
    )


@dataclass(frozen=True)
class Pool:
    """What a reader's next discovery pages will show: the candidates the last page ranked and did
    not serve, in their order (at most ``FEED_DISCOVER_POOL``), so the next pages skip the walk past
    seen notes and the ranking (most of a page's cost). It is used only while nothing it was made
    from changed: the ranks (any published score bumps their version, so a new note shows at once),
    the reader's interests, hidden notes and authors (``tag``), and for ``FEED_DISCOVER_POOL_SECONDS``.
    Served notes leave it; it is dropped when it no longer fills a page."""

    user_id: int
    category: str | None
    version: str
    tag: str
    candidates: list[Candidate]


def reader_tag(reader: Reader) -> str:
    """Changes whenever what personalises the reader's ranking changes."""
    state = (
        sorted(reader.declared),
        sorted(reader.categories.items()),
        sorted(reader.topics.items()),
        sorted(reader.authors.items()),
        sorted(reader.hidden),
    )
    return format(zlib.crc32(repr(state).encode()), "x")


def _pooled(candidates: list[Candidate]) -> str:
    """A pool's candidates as JSON (a list per candidate): read and written with every page that
    has a pool, 4-5x cheaper both ways than text formatted and parsed in Python."""
    return orjson.dumps(
        [[c.note_id, c.author_id, c.category, c.topic_ids, c.rank, c.key] for c in candidates]
    ).decode()


def _unpooled(text: str) -> list[Candidate]:
    return [
        Candidate(note_id, author_id, rank, category, tuple(topic_ids), key=key)
        for note_id, author_id, category, topic_ids, rank, key in orjson.loads(text)
    ]


#: KEYS: the reader's seen set, their pool, the ranks' version, then the channels; ARGV: the oldest
#: "seen" time that still counts, now, the reader's tag, the pool's lifetime (seconds), then how many
#: unseen members to return per channel. Returns the ranks' version, then either the reader's pool
#: (when it was made from this version, for this tag, less than its lifetime ago: see
#: :class:`Pool`) or, per channel, a flat list of member, score, best first. Members start with the
#: note id, which is what the seen set holds. The walk reads members only (a reader who saw a
#: thousand notes walks past them all) and asks the scores of the chosen ones (``ZMSCORE``):
#: formatting every walked score was most of the script's time.
UNSEEN_TOP = """
local version = redis.call('GET', KEYS[3]) or '0'
local pool = redis.call('GET', KEYS[2])
if pool then
  local v, tag, made, rest = string.match(pool, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  local age = tonumber(ARGV[2]) - tonumber(made)
  if v == version and tag == ARGV[3] and age >= 0 and age < tonumber(ARGV[4]) then
    return {version, rest}
  end
end
local seen = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do seen[id] = true end
local replies = {version}
for i = 4, #KEYS do
  local want, got, start = tonumber(ARGV[i + 1]), {}, 0
  while #got < want do
    local chunk = redis.call('ZREVRANGE', KEYS[i], start, start + want - 1)
    if #chunk == 0 then break end
    for j = 1, #chunk do
      local member = chunk[j]
      if #got < want and not seen[string.sub(member, 1, string.find(member, ':', 1, true) - 1)] then
        got[#got + 1] = member
      end
    end
    start = start + want
  end
  local flat = {}
  if #got > 0 then
    local scores = redis.call('ZMSCORE', KEYS[i], unpack(got))
    for j = 1, #got do
      flat[2 * j - 1] = got[j]
      flat[2 * j] = scores[j]
    end
  end
  replies[#replies + 1] = flat
end
return replies
"""


@dataclass(frozen=True)
class Found:
    """What :meth:`RankStore.candidates` found. ``ranked``: they come from the reader's
    :class:`Pool`, in order with their keys set. ``version`` and ``tag``: the ranks' version they
    were read at and the reader's :func:`reader_tag` (stores that keep pools)."""

    candidates: list[Candidate]
    more: bool
    ranked: bool = False
    version: str | None = None
    tag: str = ""


#: KEYS: the reader's pool, their seen set, the impressions hash; ARGV: the pool's new value ("":
#: leave it, "-": drop it), its lifetime, now, the oldest "seen" time kept, how many seen notes are
#: kept, the seen set's lifetime, then the served note ids. One reply instead of one per command:
#: parsing the ~25 replies of the same commands sent as a pipeline was most of its client's time.
MARK_SEEN = """
if ARGV[1] == '-' then
  redis.call('DEL', KEYS[1])
elseif ARGV[1] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
if #ARGV > 6 then
  local members = {}
  for i = 7, #ARGV do
    members[#members + 1] = ARGV[3]
    members[#members + 1] = ARGV[i]
    redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
  end
  redis.call('ZADD', KEYS[2], unpack(members))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return 0
"""


def _script(source: str):
    """One of this module's scripts, registered (EVALSHA; loaded once per server on first use)."""
    return redisconn.client().register_script(source)


class RankStore:
    #: Whether :meth:`candidates` returns loaded cards (``Candidate.note``).
    cards_included = False

    def publish(self, changes: Iterable[tuple[RankRow | None, RankRow]]) -> None:
        """Make the store reflect new scores: (old row or None, new row) per note."""

    def candidates(
        self,
        *,
        viewer,
        reader: Reader,
        category: str | None,
        after: tuple[float, int] | None,
        include_ids: list[int],
        limit: int,
        now: datetime,
    ) -> Found:
        """The best candidates for a page, without the notes ``reader`` saw lately, ranked below
        ``after`` (anonymous paging) plus ``include_ids``, and whether more may exist."""
        raise NotImplementedError

    def cards(self, viewer, note_ids: list[int]) -> dict[int, dict]:
        """Card rows of these notes that ``viewer`` may see, with their ranking signals."""
        return note_cards(viewer=viewer, note_ids=note_ids, signals=True)

    def mark_seen(
        self, *, user_id: int, note_ids: list[int], now: datetime, pool: Pool | None = None
    ) -> None:
        """Record what was served; keep ``pool`` for the reader's next pages (where pools are kept:
        ``Found.version`` is set)."""
        raise NotImplementedError

    def impressions(self, note_ids: list[int]) -> dict[int, int]:
        raise NotImplementedError

    def clear(self) -> None:
        """Forget every rank (before a full rescoring)."""


class RedisRankStore(RankStore):
    def _all(self) -> str:
        return redisconn.key("rank", "all")

    def _category(self, category: str) -> str:
        return redisconn.key("rank", "c", category)

    def _seen(self, user_id: int) -> str:
        return redisconn.key("seen", user_id)

    def _impressions(self) -> str:
        return redisconn.key("imp")

    def _version(self) -> str:
        return redisconn.key("rank", "version")

    def _pool(self, user_id: int, category: str | None) -> str:
        # "j": pools written as JSON (:func:`_pooled`); a server still running the text form of
        # an earlier release writes under ``pool:<user>``, where this one never reads.
        return redisconn.key("pool", "j", user_id, category or "")

    def _channels(self, row: RankRow) -> list[str]:
        return [self._all(), self._category(row.category)] if row.category else [self._all()]

    #: Notes per round trip of :meth:`publish`.
    PUBLISH_CHUNK = 1000

    def publish(self, changes: Iterable[tuple[RankRow | None, RankRow]]) -> None:
        """Per chunk of notes, one round trip: a ``ZREM`` per channel of the members that changed
        (a note's category or topics moved), then one ``ZADD`` per channel of the rankable notes
        and one ``ZREM`` of the others, and a bump of the ranks' version (readers' pools were
        ranked from the old scores). A member names its note, so no two notes touch the same one
        and grouping keeps each note's order (old out, then new in). One command per channel, not
        per note: the decay pass moves ~57k notes at M, which redis-py took 1.5 s to pack and
        parse one command at a time."""
        client, channels = redisconn.client(), {}

        def channels_of(row: RankRow) -> list[str]:
            found = channels.get(row.category)
            if found is None:
                found = channels[row.category] = self._channels(row)
            return found

        changes = iter(changes)
        while chunk := list(itertools.islice(changes, self.PUBLISH_CHUNK)):
            gone: dict[str, list[str]] = defaultdict(list)
            ranked: dict[str, dict[str, float]] = defaultdict(dict)
            dropped: dict[str, list[str]] = defaultdict(list)
            for old, new in chunk:
                member = new.member()
                if old is not None and old.member() != member:
                    for channel in channels_of(old):
                        gone[channel].append(old.member())
                for channel in channels_of(new):
                    if new.rankable:
                        ranked[channel][member] = new.rank
                    else:
                        dropped[channel].append(member)
            pipe = client.pipeline(transaction=False)
            for channel, members in gone.items():
                pipe.zrem(channel, *members)
            for channel, mapping in ranked.items():
                pipe.zadd(channel, mapping)
            for channel, members in dropped.items():
                pipe.zrem(channel, *members)
            pipe.incr(self._version())
            pipe.execute()

    def candidates(self, *, viewer, reader, category, after, include_ids, limit, now):
        channels = [self._category(category)] if category else [self._all()]
        if reader.personal:
            if not category:
                channels += [self._category(c) for c in reader.top_categories()]
            return self._unseen_candidates(reader, category, channels, limit + len(reader.hidden), now)
        pipe = redisconn.client().pipeline(transaction=False)
        for index, channel in enumerate(channels):
            num = limit if index == 0 else max(1, limit // 2)
            if after is not None:
                pipe.zrevrangebyscore(channel, after[0], "-inf", start=0, num=num, withscores=True)
            else:
                pipe.zrevrange(channel, 0, num - 1, withscores=True)
        results = pipe.execute()
        return Found(self._parse(results, after=after), len(results[0]) >= limit)

    def _unseen_candidates(self, reader, category, channels, depth, now) -> Found:
        """The reader's :class:`Pool` when it still holds, or else the best ``depth`` notes of the
        first channel (half as many of the others) that the reader has not seen lately, skipped in
        Redis by a script: one round trip, and only what may be shown travels, however many notes
        the reader saw."""
        nums = [depth] + [max(1, depth // 2)] * (len(channels) - 1)
        since = now.timestamp() - settings.FEED_SEEN_DAYS * DAY
        keys = [self._seen(reader.user_id), self._pool(reader.user_id, category), self._version(), *channels]
        tag = reader_tag(reader)
        args = [since, now.timestamp(), tag, settings.FEED_DISCOVER_POOL_SECONDS, *nums]
        version, *replies = _script(UNSEEN_TOP)(keys=keys, args=args)
        if replies and isinstance(replies[0], str):
            return Found(_unpooled(replies[0]), more=True, ranked=True, version=version, tag=tag)
        results = [
            [(member, float(score)) for member, score in zip(flat[::2], flat[1::2], strict=True)]
            for flat in replies
        ]
        return Found(self._parse(results, after=None), len(results[0]) >= depth, version=version, tag=tag)

    @staticmethod
    def _parse(results: list[list[tuple[str, float]]], *, after) -> list[Candidate]:
        found: dict[int, Candidate] = {}
        for members in results:
            for member, rank in members:
                candidate = candidate_from_member(member, rank)
                if candidate.note_id in found:
                    continue
                if after is not None and (candidate.rank, candidate.note_id) >= after:
                    continue
                found[candidate.note_id] = candidate
        return list(found.values())

    def mark_seen(self, *, user_id, note_ids, now, pool=None):
        at, keep = now.timestamp(), settings.FEED_SEEN_DAYS * DAY
        if pool is None:
            pool_value = ""  # leave the pool as it is
        elif pool.candidates:
            pool_value = f"{pool.version}|{pool.tag}|{at!r}|{_pooled(pool.candidates)}"
        else:
            pool_value = "-"  # written even when nothing was served, so unservable notes leave it
        if pool_value or note_ids:
            pool_key = self._pool(user_id, pool.category if pool is not None else None)
            _script(MARK_SEEN)(
                keys=[pool_key, self._seen(user_id), self._impressions()],
                args=[
                    pool_value,
                    settings.FEED_DISCOVER_POOL_SECONDS,
                    at,
                    at - keep,
                    settings.FEED_SEEN_MAX,
                    keep + 3600,
                    *note_ids,
                ],
            )

    def impressions(self, note_ids):
        if not note_ids:
            return {}
        client, found = redisconn.client(), {}
        for start in range(0, len(note_ids), 5000):
            chunk = note_ids[start : start + 5000]
            values = client.hmget(self._impressions(), [str(n) for n in chunk])
            found.update({note_id: int(v) for note_id, v in zip(chunk, values, strict=True) if v})
        return found

    def clear(self) -> None:
        client = redisconn.client()
        doomed = list(client.scan_iter(match=redisconn.key("rank", "*"), count=1000))
        doomed += list(client.scan_iter(match=redisconn.key("pool", "*"), count=1000))
        for start in range(0, len(doomed), 500):
            client.delete(*doomed[start : start + 500])


class DatabaseRankStore(RankStore):
    cards_included = True

    def candidates(self, *, viewer, reader, category, after, include_ids, limit, now):
        notes = notes_for_cards(viewer).filter(score__rankable=True).select_related("score")
        if category:
            notes = notes.filter(score__category=category)
        if reader.personal:
            recent = now - timedelta(days=settings.FEED_SEEN_DAYS)
            seen = SeenNote.objects.filter(
                user_id=reader.user_id, note_id=OuterRef("pk"), seen_at__gte=recent
            )
            notes = notes.exclude(author_id=reader.user_id).exclude(Exists(seen))
            if reader.hidden:
                notes = notes.exclude(pk__in=sorted(reader.hidden))
        if after is not None:
            below = Q(score__rank__lt=after[0]) | Q(score__rank=after[0], pk__lt=after[1])
            notes = notes.filter(below | Q(pk__in=include_ids) if include_ids else below)
        rows = list(notes.order_by("-score__rank", "-pk")[:limit])
        found = [
            Candidate(
                note_id=note.pk,
                author_id=note.author_id,
                rank=note.score.rank,
                category=note.score.category,
                topic_ids=tuple(note.score.topic_ids),
                note=note,
            )
            for note in rows
        ]
        return Found(found, len(rows) >= limit)

    def cards(self, viewer, note_ids):
        raise AssertionError("The database store returns cards with the candidates.")

    def mark_seen(self, *, user_id, note_ids, now, pool=None):
        if note_ids:
            SeenNote.objects.bulk_create(
                [SeenNote(user_id=user_id, note_id=note_id, seen_at=now) for note_id in note_ids],
                update_conflicts=True,
                unique_fields=["user", "note"],
                update_fields=["seen_at"],
            )

    def impressions(self, note_ids):
        found: dict[int, int] = {}
        for start in range(0, len(note_ids), 5000):
            rows = (
                SeenNote.objects.filter(note_id__in=note_ids[start : start + 5000])
                .values_list("note_id")
                .annotate(n=Count("id"))
            )
            found.update(dict(rows))
        return found


STORES = {"redis": RedisRankStore, "db": DatabaseRankStore}


def rank_store() -> RankStore:
    """The store ``settings.FEED_BACKEND`` names (``redis`` or ``db``)."""
    return redisconn.configured(STORES)
