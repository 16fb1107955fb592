"""B4: how long a new note takes to reach every follower's timeline, through the real path.

The sample's author with about N followers (fanned out to: below the pull threshold) publishes a
note with ``note_create``; its commit enqueues the feeds task on the real Celery worker, which
writes the timelines. The clock starts at the commit (the first on-commit callback) and stops when
the last of the N timelines holds the note: the probe polls them with one script call (a ``ZSCORE``
per key, server-side), asking only those still missing it. The note is deleted afterwards and,
untimed, the probe waits for the worker to take it out of every timeline again: the world is
unchanged and the next run starts on an idle worker.
"""

from __future__ import annotations

import time
from statistics import median

from django.db import transaction

from accounts.models import Follow, User
from notes.choices import MediaKind, MediaStatus
from notes.feeds import redisconn
from notes.feeds.timelines import Entry
from notes.models import Media
from notes.services import notes as note_services

TIMEOUT_S = 60.0
POLL_S = 0.002


def _photo_for(author: User) -> Media:
    """A ready photo of the author's: a copy of a pooled one (the files are shared, not copied)."""
    pooled = Media.objects.filter(status=MediaStatus.READY, kind=MediaKind.IMAGE).order_by("pk").first()
    pooled.pk, pooled.owner = None, author
    pooled.save(force_insert=True)
    return pooled


#: KEYS: timelines; ARGV: the member, then "1" to wait for it to arrive or "0" to leave. Returns the
#: positions (1-based) of the keys not there yet. One command per poll: a pipeline of a ZSCORE per
#: key cost the probe more CPU than the fan-out it was timing (thousands of commands built in Python
#: every 2 ms, on the two cores the worker and Redis need).
_PENDING = """
local pending = {}
for i, key in ipairs(KEYS) do
  if (redis.call('ZSCORE', key, ARGV[1]) == false) == (ARGV[2] == '1') then pending[#pending + 1] = i end
end
return pending
"""


def _wait_for_timelines(keys: list[str], member: str, *, present: bool = True) -> float:
    """Poll until every key holds ``member`` (or, ``present=False``, none does any more); returns
    when the last one did (perf_counter)."""
    script, pending = redisconn.client().register_script(_PENDING), keys
    deadline = time.perf_counter() + TIMEOUT_S
    while pending:
        positions = script(keys=pending, args=[member, "1" if present else "0"])
        now = time.perf_counter()
        pending = [pending[i - 1] for i in positions]
        if now > deadline:
            raise TimeoutError(f"{len(pending)} of {len(keys)} timelines still not settled")
        if pending:
            time.sleep(POLL_S)
    return now


def _wait_for_empty_queue() -> None:
    """Until the worker has taken every queued task (the broker is the feeds' Redis here)."""
    client, deadline = redisconn.client(), time.perf_counter() + TIMEOUT_S
    while client.llen("celery") and time.perf_counter() < deadline:
        time.sleep(POLL_S)


def publish_once(author: User, followers: list[int]) -> float:
    """Milliseconds from the commit of a new note to the last follower timeline holding it."""
    photo = _photo_for(author)
    committed: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.perf_counter()))  # runs first
        note = note_services.note_create(
            author=author, media_ids=[photo.pk], title="B4 fan-out probe", body="bench", category="food"
        )
    member, keys = Entry.of_note(note).member(), [redisconn.key("tl", uid) for uid in followers]
    try:
        done = _wait_for_timelines(keys, member)
    finally:
        note_services.note_delete(note=note, user=author)
    # Untimed: let the worker take the note out again, so the next run starts on an idle worker.
    _wait_for_timelines(keys, member, present=False)
    _wait_for_empty_queue()
    return (done - committed[0]) * 1000


def measure(username: str, runs: int = 3) -> dict:
    """Median of ``runs`` publications by ``username`` (the sample's author nearest N followers)."""
    author = User.objects.get(username=username)
    follower_ids = list(Follow.objects.filter(followee=author).values_list("follower_id", flat=True))
    publish_once(author, follower_ids)  # warm-up: the worker's first fan-out imports and connects
    times = [publish_once(author, follower_ids) for _ in range(runs)]
    return {"ms": median(times), "runs": times, "author": author.username, "followers": len(follower_ids)}
