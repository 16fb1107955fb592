"""The floors of BENCH.md: the fastest this machine does the same work without our code around it.

Measured in the harness process, in plain Python: psycopg straight to PostgreSQL (autocommit,
prepared after a few runs), redis-py straight to Redis, orjson, Pillow. F_http is the exception: it
is an HTTP endpoint (``bench.views``) loaded like the others, so it lives in the registry.

* ``data_floor(name)`` (B2 and F_feed for B1): one round trip that fetches the rows a page shows
  (20 rows with their to-one joins, or one object with its lists) and ``orjson.dumps`` of them.
* ``fanout(N)``: pipelined ``ZADD`` + trim into N keys.
* ``hotrow(rows)``: 8 threads doing the conditional stock ``UPDATE`` on 1 row / 1,000 rows.
* ``insert()``: one single-row ``INSERT`` committed (the like table's shape: two ids, a time,
  a unique pair and a per-note index).
* ``img()``: the Pillow operations of ``notes.media.process_image`` on a 12-megapixel JPEG, alone.
"""

from __future__ import annotations

import io
import math
import random
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import orjson
import psycopg
import redis as redis_lib
from django.db import connection
from PIL import Image, ImageDraw, ImageFilter
from psycopg.rows import dict_row

from bench.gates import median, percentile
from bench.registry import SEARCH_QUERIES
from bench.sample import Sample
from notes.media import VARIANT_SIZES, WEBP_METHOD, WEBP_QUALITY
from notes.search.backends import PostgresBackend
from notes.search.segmentation import query_tokens

FLOOR_KEY = "bench:floor"
TIMELINE_LENGTH = 800  # entries kept per timeline by the fan-out floor's trim

CARD = """
    n.id, n.kind, n.title, n.category, n.like_count, n.collect_count, n.comment_count, n.published_at,
    u.username, u.nickname, u.avatar, u.is_kol_certified, u.follower_count,
    m.id AS cover_id, m.width, m.height, m.dominant_color, m.variants
"""
CARD_JOINS = """
    JOIN accounts_user u ON u.id = n.author_id
    LEFT JOIN notes_media m ON m.id = n.cover_id
"""


@cache  # segmented once, outside the timed runs
def _tsquery(query: str) -> str:
    return PostgresBackend.tsquery(query_tokens(query))


#: name -> (SQL, how to draw its parameters from the sample)
DATA_FLOORS: dict[str, tuple[str, Callable[[Sample, int], tuple]]] = {
    "note_detail": (
        f"""
        SELECT {CARD}, n.body, n.visibility, n.status, n.place_name, n.place_city, n.lat, n.lng,
               n.share_count, n.created_at, n.updated_at,
               (SELECT json_agg(json_build_object('id', x.id, 'width', x.width, 'height', x.height,
                                'dominant_color', x.dominant_color, 'variants', x.variants)
                                ORDER BY nm.position)
                  FROM notes_notemedia nm JOIN notes_media x ON x.id = nm.media_id
                 WHERE nm.note_id = n.id) AS media,
               (SELECT json_agg(json_build_object('id', t.id, 'name', t.name))
                  FROM notes_notetopic nt JOIN notes_topic t ON t.id = nt.topic_id
                 WHERE nt.note_id = n.id) AS topics
          FROM notes_note n {CARD_JOINS}
         WHERE n.id = %s
        """,
        lambda s, i: (s.notes[i % len(s.notes)],),
    ),
    "comments": (
        """
        SELECT c.id, c.note_id, c.body, c.like_count, c.reply_count, c.created_at,
               u.username, u.nickname, u.avatar, u.is_kol_certified, u.follower_count
          FROM notes_comment c JOIN accounts_user u ON u.id = c.author_id
         WHERE c.note_id = %s AND c.parent_id IS NULL AND c.deleted_at IS NULL
         ORDER BY c.id DESC LIMIT 20
        """,
        lambda s, i: (s.commented_notes[i % len(s.commented_notes)],),
    ),
    "board": (
        f"""
        SELECT {CARD}, c.created_at AS collected_at
          FROM notes_notecollect c JOIN notes_note n ON n.id = c.note_id {CARD_JOINS}
         WHERE c.board_id = %s
         ORDER BY c.id DESC LIMIT 20
        """,
        lambda s, i: (s.boards[i % len(s.boards)],),
    ),
    "profile": (
        """
        SELECT username, nickname, avatar, bio, gender, city, is_private, hide_collects, is_kol_certified,
               follower_count, following_count, note_count, like_collect_count, date_joined
          FROM accounts_user WHERE username = %s
        """,
        lambda s, i: (s.authors[i % len(s.authors)],),
    ),
    "user_notes": (
        f"""
        SELECT {CARD}
          FROM notes_note n {CARD_JOINS}
         WHERE n.author_id = (SELECT id FROM accounts_user WHERE username = %s)
           AND n.status = 'published' AND n.deleted_at IS NULL
         ORDER BY n.id DESC LIMIT 20
        """,
        lambda s, i: (s.authors[i % len(s.authors)],),
    ),
    # B2's shop pages: the first page of the product list (most sold first) with each product's
    # store and cover; a product with its store, brand, images and SKUs.
    "product_list": (
        """
        SELECT p.id, p.title, p.category, p.status, p.min_price, p.rating_count, p.rating_sum,
               p.review_count, s.name AS store,
               (SELECT m.variants FROM shop_productimage i JOIN notes_media m ON m.id = i.media_id
                 WHERE i.product_id = p.id ORDER BY i.position LIMIT 1) AS cover
          FROM shop_product p JOIN shop_store s ON s.id = p.store_id
         WHERE p.status = 'on_sale'
         ORDER BY p.sales_count DESC, p.id DESC LIMIT 20
        """,
        lambda s, i: (),
    ),
    "product_detail": (
        """
        SELECT p.*, s.name AS store, b.slug AS brand,
               (SELECT json_agg(json_build_object('id', m.id, 'width', m.width, 'height', m.height,
                                'variants', m.variants) ORDER BY i.position)
                  FROM shop_productimage i JOIN notes_media m ON m.id = i.media_id
                 WHERE i.product_id = p.id) AS images,
               (SELECT json_agg(json_build_object('id', k.id, 'name', k.name, 'price', k.price,
                                'stock', k.stock, 'attributes', k.attributes) ORDER BY k.id)
                  FROM shop_sku k WHERE k.product_id = p.id AND k.is_active) AS skus
          FROM shop_product p JOIN shop_store s ON s.id = p.store_id
          JOIN accounts_brand b ON b.id = s.brand_id
         WHERE p.id = %s
        """,
        lambda s, i: (s.products[i % len(s.products)],),
    ),
    # F_sql (B7): the notes matching a query through the GIN index, newest first, as cards. The
    # query is segmented by the app's own tokenizer outside the timing.
    "search": (
        f"""
        SELECT {CARD}
          FROM notes_notesearchdocument d JOIN notes_note n ON n.id = d.note_id {CARD_JOINS}
         WHERE d.vector @@ %s::tsquery AND n.status = 'published' AND n.visibility = 'public'
         ORDER BY n.id DESC LIMIT 20
        """,
        lambda s, i: (_tsquery(SEARCH_QUERIES[i % len(SEARCH_QUERIES)]),),
    ),
    # F_feed: the ids come from Redis (see ``feed``); this is the primary-key fetch.
    "feed": (
        f"SELECT {CARD} FROM notes_note n {CARD_JOINS} WHERE n.id = ANY(%s) ORDER BY n.id DESC",
        lambda s, i: ([],),
    ),
}


def pg_connect() -> psycopg.Connection:
    """A plain psycopg connection to the database Django uses (autocommit)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def redis_connect() -> redis_lib.Redis:
    from django.conf import settings

    return redis_lib.Redis.from_url(settings.REDIS_URL)


def _timed(fn: Callable[[int], object], n: int, warm: int = 20) -> list[float]:
    for i in range(warm):
        fn(i)
    out = []
    for i in range(warm, warm + n):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _stats(samples: list[float]) -> dict:
    return {"p50_ms": median(samples), "p99_ms": percentile(samples, 99), "n": len(samples)}


def data_floor(name: str, sample: Sample, conn: psycopg.Connection, n: int = 300) -> dict:
    sql, params = DATA_FLOORS[name]
    cursor = conn.cursor(row_factory=dict_row)

    def once(i: int) -> bytes:
        cursor.execute(sql, params(sample, i))
        return orjson.dumps(cursor.fetchall(), default=str)

    return _stats(_timed(once, n))


def prepare_feed(sample: Sample, conn: psycopg.Connection, r: redis_lib.Redis) -> list[str]:
    """A timeline per viewer for F_feed: the newest notes of the people they follow, as a sorted set."""
    keys = []
    with conn.cursor() as cursor:
        for viewer in sample.viewers:
            cursor.execute(
                """SELECT n.id FROM notes_note n JOIN accounts_follow f ON f.followee_id = n.author_id
                    WHERE f.follower_id = %s AND n.status = 'published' AND n.deleted_at IS NULL
                    ORDER BY n.id DESC LIMIT 200""",
                (viewer,),
            )
            ids = [row[0] for row in cursor.fetchall()]
            if len(ids) >= 20:
                key = f"{FLOOR_KEY}:tl:{viewer}"
                r.delete(key)
                r.zadd(key, {str(pk): pk for pk in ids})
                keys.append(key)
    return keys


def feed(sample: Sample, conn: psycopg.Connection, r: redis_lib.Redis, n: int = 300) -> dict:
    """F_feed: ZREVRANGE 20 ids + one primary-key fetch of the 20 rows with author and cover + orjson."""
    keys = prepare_feed(sample, conn, r)
    if not keys:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
    sql = DATA_FLOORS["feed"][0]
    cursor = conn.cursor(row_factory=dict_row)

    def once(i: int) -> bytes:
        ids = [int(pk) for pk in r.zrevrange(keys[i % len(keys)], 0, 19)]
        cursor.execute(sql, (ids,))
        return orjson.dumps(cursor.fetchall(), default=str)

    return _stats(_timed(once, n))


def fanout(r: redis_lib.Redis, followers: int, runs: int = 3) -> dict:
    """F_fanout(N): one pipeline of ZADD + ZREMRANGEBYRANK into N timeline keys (median of runs)."""
    keys = [f"{FLOOR_KEY}:fanout:{i}" for i in range(followers)]
    times = []
    for run in range(runs + 1):  # the first run creates the keys: not counted
        note = 10_000_000 + run
        started = time.perf_counter()
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.zadd(key, {note: note})
            pipe.zremrangebyrank(key, 0, -TIMELINE_LENGTH - 1)
        pipe.execute()
        if run:
            times.append((time.perf_counter() - started) * 1000)
    for start in range(0, len(keys), 1000):
        r.delete(*keys[start : start + 1000])
    return {"ms": median(times), "runs": times}


HOTROW_TABLE = "bench_floor_sku"
INSERT_TABLE = "bench_floor_like"


def hotrow(conn: psycopg.Connection, *, rows: int, seconds: float, clients: int = 8) -> dict:
    """F_hotrow: ``clients`` threads, each its own connection, decrement stock with the conditional
    UPDATE for ``seconds``; rows: 1 (all on one row) or 1,000 (spread)."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {HOTROW_TABLE} "
            "(id integer PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0))"
        )
        cursor.execute(f"TRUNCATE {HOTROW_TABLE}")
        cursor.execute(f"INSERT INTO {HOTROW_TABLE} SELECT g, 1000000000 FROM generate_series(1, 1000) g")
    counts = [0] * clients
    deadline = [0.0]
    # Everyone connected first; then the clock starts for all at once.
    barrier = threading.Barrier(
        clients, action=lambda: deadline.__setitem__(0, time.perf_counter() + seconds)
    )

    def client(index: int) -> None:
        rng = random.Random(index)
        with pg_connect() as own, own.cursor() as cursor:
            sql = f"UPDATE {HOTROW_TABLE} SET stock = stock - 1 WHERE id = %s AND stock >= 1"
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                cursor.execute(sql, (rng.randint(1, rows),), prepare=True)
                counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": sum(counts) / seconds, "updates": sum(counts), "seconds": seconds, "rows": rows}


def insert(conn: psycopg.Connection, n: int = 300) -> dict:
    """A single-row INSERT, committed, into a table shaped like the like table."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"""CREATE TABLE IF NOT EXISTS {INSERT_TABLE} (
                id bigserial PRIMARY KEY, user_id bigint NOT NULL, note_id bigint NOT NULL,
                created_at timestamptz NOT NULL, UNIQUE (user_id, note_id))"""
        )
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {INSERT_TABLE}_note ON {INSERT_TABLE} (note_id, id DESC)")
        cursor.execute(f"TRUNCATE {INSERT_TABLE}")
        sql = f"INSERT INTO {INSERT_TABLE} (user_id, note_id, created_at) VALUES (%s, %s, now())"

        def once(i: int) -> None:
            cursor.execute(sql, (i % 97, i), prepare=True)

        stats = _stats(_timed(once, n))
        cursor.execute(f"TRUNCATE {INSERT_TABLE}")
    return stats


def drop_tables(conn: psycopg.Connection) -> None:
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {HOTROW_TABLE}, {INSERT_TABLE}")


# --- F_img ----------------------------------------------------------------------------------------

PHOTO_SIZE = (4000, 3000)  # 12 megapixels, a phone's default


def photo_12mp(cache_dir: Path) -> bytes:
    """A deterministic 12-megapixel JPEG with photo-like content (gradients, shapes, grain), cached."""
    path = cache_dir / "photo-12mp.jpg"
    if path.exists():
        return path.read_bytes()
    rng = random.Random("bench-photo")
    small = Image.new("RGB", (400, 300))
    draw = ImageDraw.Draw(small)
    for y in range(300):
        draw.line([(0, y), (400, y)], fill=(120 + y // 4, 90 + y // 5, 160 - y // 3))
    for _ in range(40):
        x, y, r = rng.randrange(400), rng.randrange(300), rng.randint(5, 60)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    image = small.resize(PHOTO_SIZE, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    grain = Image.effect_noise(PHOTO_SIZE, 24).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return out.getvalue()


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, longest / max(w, h))
    return max(1, math.ceil(w * scale - 0.01)), max(1, math.ceil(h * scale - 0.01))


def img_ops(data: bytes) -> None:
    """What ``process_image`` asks of Pillow, with none of our checks, storage or database."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", _fit(image.size, VARIANT_SIZES["full"]))
    image.load()
    source, variants = image, []
    for name in sorted(VARIANT_SIZES, key=VARIANT_SIZES.get, reverse=True):
        size = _fit(source.size, VARIANT_SIZES[name])
        if size != source.size:
            source = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        variants.append(source)
    for variant in variants:
        variant.save(io.BytesIO(), "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    variants[-1].resize((32, 32), Image.Resampling.BOX).quantize(colors=4).getcolors()


def img(data: bytes, runs: int = 3) -> dict:
    """F_img: CPU time of :func:`img_ops` (median of ``runs`` after a warm one)."""
    img_ops(data)
    times = []
    for _ in range(runs):
        started = time.process_time()
        img_ops(data)
        times.append((time.process_time() - started) * 1000)
    return {"cpu_ms": median(times), "runs": times}
