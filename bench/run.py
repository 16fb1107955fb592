"""``python -m bench``: the whole run of BENCH.md, end to end.

1. PostgreSQL and Redis up (started when down), a dedicated database per scale
   (``zhongcao_bench_<scale>``) created and migrated, Redis db 10 emptied.
2. ``seed_bench --scale X`` (reused when the same world is there).
3. The production app server (granian, WSGI, 2 workers x 4 threads; or gunicorn with
   ``config/gunicorn.py``) on a free loopback port and a real Celery worker (2 processes), both with
   ``DEBUG=False`` and the same environment.
4. Query counts per endpoint (B3), the floors, then every endpoint under wrk: 3 warm runs at 1
   connection (p50, p99) and 3 at 32 connections (req/s), medians; writes also with 8 writers on
   one note; checkout with 8 buyers on 1 and 1,000 SKUs and the oversell check (B6); B8 uploads
   through the worker.
5. One table on stdout, the same as JSON in ``var/bench/<timestamp>.json`` and ``latest.json``.

Exit status: 0 when the run completed (gate failures included, unless ``--strict``), 2 when an
endpoint errored (non-2xx answers, a crash), 1 when the run itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import gates
from bench.stack import ROOT, ServerConfig

VAR = ROOT / "var" / "bench"
#: One Redis database per scale (the world's timelines live there, besides cache and broker).
REDIS_DBS = {"S": 10, "M": 11, "L": 12, "XS": 13}
MAX_ERROR_SHARE = 0.01  # more than 1% errors or non-2xx answers: the measurement is void


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="M", choices=["XS", "S", "M", "L"], help="world size (default M)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--endpoints",
        default="",
        help="comma-separated names or targets to measure (default all), e.g. 'note detail,B5'",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="connections of the throughput runs")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--skip-seed", action="store_true", help="use the database as it is")
    parser.add_argument(
        "--seed-only", action="store_true", help="build (or check) the world, measure nothing"
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON report here")
    parser.add_argument("--database-url", default="", help="default postgres://.../zhongcao_bench_<scale>")
    parser.add_argument(
        "--redis-url", default="", help="default redis://127.0.0.1:6379/<10 + scale: S 10, M 11, L 12, XS 13>"
    )
    parser.add_argument(
        "--server", choices=["granian", "gunicorn"], default="granian", help="app server (default granian)"
    )
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread", help="gunicorn's")
    parser.add_argument("--workers", type=int, default=2, help="app server processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per process (default 4)")
    parser.add_argument("--uploads", type=int, default=0, help="B8 uploads (default: 2 x duration, 6-24)")
    parser.add_argument("--strict", action="store_true", help="exit 3 when a gate fails")
    return parser.parse_args(argv)


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of every process of the run (this one included)."""
    database_url = (
        args.database_url or f"postgres://postgres@127.0.0.1:5432/zhongcao_bench_{args.scale.lower()}"
    )
    redis_url = args.redis_url or f"redis://127.0.0.1:6379/{REDIS_DBS[args.scale]}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "MEDIA_ROOT": str(VAR / f"media-{args.scale.lower()}"),
        "DEBUG": "False",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "BENCH_ENDPOINTS": "True",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
        # Tokens minted at the start must outlive the run; throttles must not turn load into 429s.
        "JWT_ACCESS_TOKEN_LIFETIME": "86400",
        "THROTTLE_ANON": "100000000/min",
        "THROTTLE_USER_WRITE": "100000000/min",
        "THROTTLE_FOLLOW": "100000000/min",
        "PYTHONUNBUFFERED": "1",
    }


def say(line: str = "") -> None:
    print(line, flush=True)


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


class Runner:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]):
        from bench import load

        self.args = args
        self.env = env
        self.server_config = ServerConfig(
            kind=args.server, workers=args.workers, worker_class=args.worker_class, threads=args.threads
        )
        self.wrk = load.ensure_wrk(say)
        self.rows: list[gates.Row] = []
        self.floors: dict = {}
        self.queries: dict = {}
        self.memory: dict = {}
        self.runs: dict = {}
        self.server_cpu: dict[str, float] = {}

    # -- wrk runs --------------------------------------------------------------------------------

    def _wrk(self, rotations, *, connections: int, seconds: float, per_thread: bool = False):
        from bench import load

        return load.run(
            self.wrk,
            self.base_url,
            rotations,
            self.sample.tokens,
            connections=connections,
            seconds=seconds,
            per_thread=per_thread,
        )

    def _series(self, name: str, rotations, *, connections: int, per_thread: bool = False):
        from bench.stack import cpu_seconds

        pids = self.server.pids()
        cpu_before = cpu_seconds(pids)
        results = [
            self._wrk(rotations, connections=connections, seconds=self.args.duration, per_thread=per_thread)
            for _ in range(self.args.runs)
        ]
        # The app server's CPU per request: what a request costs whatever else loads the machine.
        self.server_cpu[name] = (
            (cpu_seconds(pids) - cpu_before) * 1000 / max(1, sum(r.requests for r in results))
        )
        self.runs.setdefault(name, []).extend(
            {"connections": connections, "per_thread": per_thread, **r.as_dict()} for r in results
        )
        bad = max(r.error_share for r in results)
        if bad > MAX_ERROR_SHARE:
            worst = max(results, key=lambda r: r.error_share)
            raise RuntimeError(
                f"{worst.bad_status} answers >= 400 and {worst.errors} socket errors "
                f"in {worst.requests} requests"
            )
        return results

    def measure_http(self, endpoint) -> gates.Row:
        """A read or the F_http floor: p50/p99 at 1 connection, req/s at N connections."""
        rotation = [endpoint.requests(self.sample)]
        self._wrk(rotation, connections=self.args.connections, seconds=max(1, self.args.duration / 4))
        ones = self._series(endpoint.name, rotation, connections=1)
        many = self._series(endpoint.name, rotation, connections=self.args.connections)
        cpu_per_request = self.server_cpu[endpoint.name]
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            rps=gates.median(r.rps for r in many),
            p50_ms=gates.median(r.p50_ms for r in ones),
            p99_ms=gates.median(r.p99_ms for r in ones),
            extra={"server_cpu_ms_per_request": round(cpu_per_request, 3)},
        )
        if endpoint.kind == "floor":
            self.floors["F_http"] = {"p50_ms": row.p50_ms, "p99_ms": row.p99_ms, "rps": row.rps}
            row.note = "the floor of every HTTP gate"
            return row
        floor = self.floors.get(endpoint.floor, {})
        row.floor = f"F_{endpoint.floor} {gates._num(floor.get('p50_ms'))} ms"
        if endpoint.target == "B7":
            row.checks = gates.search_checks(
                p50_ms=row.p50_ms, http_p50_ms=self.floors["F_http"]["p50_ms"], sql_p50_ms=floor["p50_ms"]
            )
            return row
        row.checks = gates.read_checks(
            p50_ms=row.p50_ms,
            p99_ms=row.p99_ms,
            rps=row.rps,
            http_p50_ms=self.floors["F_http"]["p50_ms"],
            floor_p50_ms=floor["p50_ms"],
            floor_name=f"F_{endpoint.floor}",
        )
        return row

    def measure_write(self, endpoint) -> gates.Row:
        rotation = [endpoint.requests(self.sample)]
        self._wrk(rotation, connections=1, seconds=max(1, self.args.duration / 4))
        ones = self._series(endpoint.name, rotation, connections=1)
        hot = self._series(
            f"{endpoint.name} (8 writers)", endpoint.hot(self.sample), connections=0, per_thread=True
        )
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            rps=gates.median(r.rps for r in hot),
            p50_ms=gates.median(r.p50_ms for r in ones),
            p99_ms=gates.median(r.p99_ms for r in ones),
            floor=f"F_insert {gates._num(self.floors['F_insert']['p50_ms'])} ms",
            note="req/s: 8 writers on one note",
        )
        row.checks = gates.write_checks(
            p50_ms=row.p50_ms,
            http_p50_ms=self.floors["F_http"]["p50_ms"],
            insert_p50_ms=self.floors["F_insert"]["p50_ms"],
            hot_rps=row.rps,
            hotrow_rps=self.floors["F_hotrow(1)"]["rps"],
        )
        return row

    def measure_media(self, endpoint) -> gates.Row:
        from bench import floors, uploads

        photo = floors.photo_12mp(VAR)
        self.floors["F_img"] = floors.img(photo)
        count = self.args.uploads or int(min(24, max(6, 2 * self.args.duration)))
        redis = floors.redis_connect()
        result = uploads.measure(
            port=self.port,
            sample=self.sample,
            worker=self.worker,
            photo=photo,
            count=count,
            queue_length=lambda: redis.llen("celery"),
        )
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            rps=result["uploads_per_s"],
            floor=f"F_img {gates._num(self.floors['F_img']['cpu_ms'])} ms CPU",
            note="req/s: uploads/s, 2 clients",
            extra={"media": result},
        )
        row.checks = gates.media_checks(
            cpu_ms=result["task_cpu_ms"],
            img_floor_ms=self.floors["F_img"]["cpu_ms"],
            peak_rss_mb=result["peak_rss_mb"],
            uploads_per_s=result["uploads_per_s"],
        )
        return row

    def measure_fanout(self, endpoint) -> gates.Row:
        from bench import fanout, floors

        username, followers = self.sample.fanout_authors[endpoint.followers]
        # The floor at the author's real follower count (the world has no author with exactly N).
        name = f"F_fanout({followers})"
        self.floors.setdefault(name, floors.fanout(floors.redis_connect(), followers))
        floor = self.floors[name]["ms"]
        result = fanout.measure(username, runs=self.args.runs)
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            p50_ms=result["ms"],
            floor=f"{name} {gates._num(floor)} ms",
            note=f"p50: commit to last of {result['followers']} timelines ({result['author']})",
            extra={"fanout": result},
        )
        row.checks = gates.fanout_checks(
            latency_ms=result["ms"], fanout_floor_ms=floor, followers=result["followers"]
        )
        return row

    def measure_search_words(self, endpoint) -> gates.Row:
        """B7's p95 targets, rare and common words apart, both sorts; and no sequential scan for short
        Chinese queries."""
        from bench import searchwords
        from bench.registry import SEARCH_WORDS

        split, counts = searchwords.classes(SEARCH_WORDS)
        p95: dict[str, dict[str, float]] = {}
        for sort in searchwords.SORTS:
            for kind, words in split.items():
                if words:
                    rotation = [searchwords.requests(words, sort)]
                    results = self._series(f"search {kind} ({sort})", rotation, connections=1)
                    p95.setdefault(kind, {})[sort] = gates.median(r.p95_ms for r in results)
        short = [w for w in counts if len(w) <= 3 and not w.isascii()]
        scans = searchwords.sequential_scans(short, self.sample)
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            note="; ".join(
                f"{kind}: " + ", ".join(f"{w} {counts[w]}" for w in words) for kind, words in split.items()
            ),
            extra={"search_words": {"matches": counts, "p95_ms": p95, "sequential_scans": scans}},
        )
        row.checks = gates.search_word_checks(p95, sequential_scans=len(scans), short_queries=len(short))
        return row

    def measure_checkout(self, endpoint) -> gates.Row:
        """B6: 8 buyers on 1 hot SKU and on 1,000 SKUs (orders/s), and the oversell check."""
        from bench import checkout, load, probe

        def series(name, rotations):
            warm = max(1, self.args.duration / 4)
            self._wrk(rotations, connections=0, seconds=warm, per_thread=True)
            return self._series(name, rotations, connections=0, per_thread=True)

        def attempts(rotations, limits):
            # The time limit only: the run ends when every buyer has made their attempts.
            return load.run(
                self.wrk,
                self.base_url,
                rotations,
                self.sample.tokens,
                connections=0,
                seconds=600,
                per_thread=True,
                limits=limits,
            )

        result = checkout.measure(
            self.sample,
            series=series,
            attempts=attempts,
            probe=lambda request: probe.count_one(request, self.sample),
            seed=self.args.seed,
        )
        if result["queries"]:
            self.queries[endpoint.name] = result["queries"]
        over = result["oversell"]
        hotrow1, hotrow1000 = self.floors["F_hotrow(1)"]["rps"], self.floors["F_hotrow(1000)"]["rps"]
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            rps=result["hot_orders_per_s"],
            p50_ms=result["hot_p50_ms"],
            p99_ms=result["hot_p99_ms"],
            floor=f"F_hotrow(1) {gates._num(hotrow1)}/s, (1000) {gates._num(hotrow1000)}/s",
            note=(
                f"req/s: orders/s of 8 buyers on 1 SKU; on {result['skus']} SKUs "
                f"{gates._num(result['spread_orders_per_s'])}/s; oversell: {over['sold']} sold of "
                f"{over['stock']} in {over['attempts']} attempts, stock left {over['stock_left']}, "
                f"answers {dict(sorted(over['statuses'].items()))}"
            ),
            extra={"checkout": result},
        )
        row.checks = gates.checkout_checks(
            hot_rps=result["hot_orders_per_s"],
            spread_rps=result["spread_orders_per_s"],
            hotrow1_rps=hotrow1,
            hotrow1000_rps=hotrow1000,
            skus=result["skus"],
            oversold=max(0, over["sold"] - over["stock"]),
            unaccounted=checkout.unaccounted(over),
            attempts=over["attempts"],
        )
        return row

    def measure_decay(self, endpoint) -> gates.Row:
        from bench import decay
        from bench.world import world_marker

        built_at = datetime.fromisoformat(world_marker()["built_at"])
        result = decay.measure(built_at, runs=self.args.runs)
        found, moved = result["as_found"], result["all_moved"]
        row = gates.Row(
            endpoint.name,
            endpoint.target,
            note=(
                f"{result['window']} notes in the window; as beat finds it {found['seconds']:.2f} s "
                f"({found['moved']} moved), every note moved {moved['seconds']:.2f} s"
            ),
            extra={"decay": result},
        )
        row.checks = gates.decay_checks(seconds=moved["seconds"], window=result["window"])
        return row

    # -- the run ------------------------------------------------------------------------------------

    def measure_floors(self, conn, redis) -> None:
        from bench import floors

        say("floors: data fetches, F_feed, F_insert, F_hotrow (F_fanout with its row)")
        for name in floors.DATA_FLOORS:
            if name != "feed":
                self.floors[name] = floors.data_floor(name, self.sample, conn)
        self.floors["feed"] = floors.feed(self.sample, conn, redis)
        self.floors["F_insert"] = floors.insert(conn)
        seconds = max(1.0, min(5.0, self.args.duration / 2))
        self.floors["F_hotrow(1)"] = floors.hotrow(conn, rows=1, seconds=seconds)
        self.floors["F_hotrow(1000)"] = floors.hotrow(conn, rows=1000, seconds=seconds)
        floors.drop_tables(conn)

    def restore_world(self) -> None:
        """Undo what the write benchmarks may have left (a run can stop between POST and DELETE),
        and remove the comments they wrote (deleted ones too: their rows would pile up run after run)
        and the checkout benchmark's orders, stock and addresses (``bench.checkout.restore``)."""
        from accounts.models import User
        from bench import checkout
        from notes.models import Comment, Note, NoteCollect, NoteLike
        from notes.services import comments, interactions

        viewers = User.objects.in_bulk(self.sample.viewers)
        notes = [note for _, note in self.sample.pairs] + [self.sample.hot_note]
        for like in NoteLike.objects.filter(user_id__in=self.sample.viewers, note_id__in=notes):
            interactions.note_unlike(note=Note.objects.get(pk=like.note_id), user=viewers[like.user_id])
        for collect in NoteCollect.objects.filter(user_id__in=self.sample.viewers, note_id__in=notes):
            interactions.note_uncollect(
                note=Note.objects.get(pk=collect.note_id), user=viewers[collect.user_id]
            )
        written = Comment.objects.filter(
            author_id__in=self.sample.viewers, note_id__in=notes, created_at__gte=self.started_at
        )
        for comment in written.filter(deleted_at__isnull=True):
            comments.comment_remove(comment=comment)  # puts the note's count back
        written.delete()
        checkout.restore()

    def run(self) -> int:
        import django

        django.setup()
        from django.conf import settings
        from django.utils import timezone

        from bench import floors, probe, registry, stack
        from bench import sample as sample_mod

        args, env = self.args, self.env

        self.started_at = timezone.now()
        endpoints = registry.select([n for n in args.endpoints.split(",") if n.strip()] or None)
        self.sample = sample_mod.build(seed=args.seed)
        say(
            f"sample: {len(self.sample.viewers)} viewers with tokens, {len(self.sample.notes)} notes, "
            f"{len(self.sample.boards)} boards, {len(self.sample.authors)} authors, "
            f"{len(self.sample.pairs)} toggle pairs"
        )
        conn, redis = floors.pg_connect(), floors.redis_connect()
        # Tasks a previous run left queued would load the worker during this one. (Redis is not
        # emptied: the world's timelines live there.)
        redis.delete("celery", "unacked", "unacked_index")
        self.port = stack.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        logs = VAR / "logs"
        self.worker = stack.celery_worker(env, logs)
        self.server = stack.app_server(self.server_config, self.port, env, logs)
        exit_code = 0
        try:
            self.worker.start()
            self.server.start()
            stack.wait_worker(self.worker)
            stack.wait_http(f"{self.base_url}/_bench/http", self.server)
            say(f"app server: {self.server_config.describe()} on {self.base_url}; Celery worker: 2 processes")

            pending = {e.name for e in endpoints if e.requires and not registry.resolves(e.requires)}
            for endpoint in endpoints:
                if endpoint.kind in ("read", "write") and endpoint.name not in pending:
                    try:
                        self.queries[endpoint.name] = probe.count(endpoint, self.sample)
                    except Exception as exc:  # reported on the row; the rest of the run goes on
                        self.queries[endpoint.name] = {"error": f"{type(exc).__name__}: {exc}"}
            self.measure_floors(conn, redis)

            for endpoint in endpoints:
                if endpoint.name in pending:
                    row = gates.Row(endpoint.name, endpoint.target, pending=True)
                    row.note = endpoint.pending_reason or "n/a (not wired into the harness yet)"
                    self.rows.append(row)
                    continue
                waited = stack.wait_worker_idle(self.worker, redis)
                if waited > 1:
                    say(f"  (waited {waited:.0f} s for the worker to finish the last endpoint's tasks)")
                say(f"measuring {endpoint.name} ({endpoint.title})")
                started = time.monotonic()
                try:
                    if endpoint.kind in ("floor", "read"):
                        row = self.measure_http(endpoint)
                    elif endpoint.kind == "write":
                        row = self.measure_write(endpoint)
                    elif endpoint.kind == "media":
                        row = self.measure_media(endpoint)
                    elif endpoint.kind == "fanout":
                        row = self.measure_fanout(endpoint)
                    elif endpoint.kind == "search_words":
                        row = self.measure_search_words(endpoint)
                    elif endpoint.kind == "decay":
                        row = self.measure_decay(endpoint)
                    elif endpoint.kind == "checkout":
                        row = self.measure_checkout(endpoint)
                    else:
                        raise RuntimeError(f"unknown kind {endpoint.kind}")
                except Exception as exc:
                    traceback.print_exc()
                    row = gates.Row(
                        endpoint.name, endpoint.target, error=f"{type(exc).__name__}: {exc}"[:200]
                    )
                    exit_code = 2
                self._attach_queries(endpoint, row)
                self.rows.append(row)
                say(f"  {row.status} in {time.monotonic() - started:.0f} s")
            self.memory = {"app": self.server.measure_memory(), "worker": self.worker.measure_memory()}
        finally:
            self.server.stop()
            self.worker.stop()
            try:
                self.restore_world()
            finally:
                conn.close()
        self.report(settings)
        if exit_code == 0 and args.strict and any(r.status == "FAIL" for r in self.rows):
            return 3
        return exit_code

    def _attach_queries(self, endpoint, row: gates.Row) -> None:
        probe_result = self.queries.get(endpoint.name)
        if not probe_result:
            return
        if "error" in probe_result:
            row.error = row.error or f"query probe: {probe_result['error']}"[:200]
            return
        bad = {label: status for label, status in probe_result["status"].items() if status >= 400}
        if bad:
            row.error = row.error or f"probe answered {bad}"
        if endpoint.kind == "read":  # B3 is about reads; writes' counts are reported, not gated
            row.checks.extend(gates.query_checks(probe_result["counts"]))

    # -- the report -----------------------------------------------------------------------------

    def report(self, settings) -> None:
        from bench.world import world_marker

        stamp = datetime.now(UTC)
        load = os.getloadavg()
        meta = {
            "date": stamp.isoformat(timespec="seconds"),
            "commit": _git_commit(),
            "scale": self.args.scale,
            "seed": self.args.seed,
            "duration_s": self.args.duration,
            "connections": self.args.connections,
            "runs": self.args.runs,
            "server": self.server_config.describe(),
            "worker": "celery prefork, 2 processes",
            "machine": {"cpus": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in load]},
            "python": platform.python_version(),
            "database": settings.DATABASES["default"]["NAME"],
        }
        document = {
            "meta": meta,
            "world": world_marker(),
            "floors": self.floors,
            "rows": [row.as_dict() for row in self.rows],
            "queries": {name: _jsonable(q) for name, q in self.queries.items()},
            "memory": self.memory,
            "runs": self.runs,
            "server_cpu_ms_per_request": {name: round(ms, 3) for name, ms in self.server_cpu.items()},
        }
        VAR.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, indent=2, default=str)
        path = VAR / f"{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(text)
        (VAR / "latest.json").write_text(text)
        if self.args.json_out:
            self.args.json_out.write_text(text)

        say()
        say(
            f"Zhongcao bench, scale {meta['scale']}, {meta['date']}, commit {meta['commit']}, "
            f"{meta['server']}, wrk {self.args.duration:g} s x {self.args.runs} runs, "
            f"load average at end {load[0]:.2f}"
        )
        say(gates.render_table(self.rows))
        say()
        say("checks:")
        say(gates.render_checks(self.rows))
        say()
        say("floors: " + _floors_line(self.floors))
        say(
            "app server CPU per request (ms, all its processes, at the last series' load): "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in self.server_cpu.items())
        )
        say("queries (SQL, Redis round trips) per request:")
        for name, result in self.queries.items():
            if "counts" in result:
                counts = ", ".join(
                    f"{label}: {sql}/{trips}" for label, (sql, trips) in result["counts"].items()
                )
                say(f"  {name:<16} {counts}")
            else:
                say(f"  {name:<16} {result.get('error')}")
        say(
            "peak RSS: app "
            + _memory_line(self.memory.get("app", {}))
            + "; worker "
            + _memory_line(self.memory.get("worker", {}))
        )
        say(
            f"results: {path.relative_to(ROOT)} (and var/bench/latest.json); " + str(gates.summary(self.rows))
        )


def _floors_line(floors: dict) -> str:
    parts = []
    for name, value in floors.items():
        if "p50_ms" in value:
            parts.append(f"{name} p50 {gates._num(value['p50_ms'])} ms")
        elif "ms" in value:
            parts.append(f"{name} {gates._num(value['ms'])} ms")
        elif "rps" in value:
            parts.append(f"{name} {gates._num(value['rps'])}/s")
        elif "cpu_ms" in value:
            parts.append(f"{name} {gates._num(value['cpu_ms'])} ms CPU")
    return "; ".join(parts)


def _memory_line(memory: dict) -> str:
    if not memory:
        return "-"
    return (
        f"parent {memory['parent_mb']} MB, largest child {memory['max_child_mb']} MB, "
        f"total {memory['total_mb']} MB"
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    from bench import stack

    args = parse_args(argv)
    env = bench_env(args)
    os.environ.update(env)
    started = time.monotonic()
    stack.ensure_services(env["DATABASE_URL"], env["REDIS_URL"], say)
    stack.ensure_database(env["DATABASE_URL"], say)
    say(f"database {env['DATABASE_URL']}: migrating")
    _manage(env, "migrate", "--noinput", "-v", "0")
    say(f"Redis {env['REDIS_URL']}, media {env['MEDIA_ROOT']}")
    if not args.skip_seed:
        # Seeding runs tasks in process (no broker): the pool's media are processed there and then.
        seed_env = {k: v for k, v in env.items() if k != "CELERY_BROKER_URL"}
        _manage(seed_env, "seed_bench", "--scale", args.scale, "--seed", str(args.seed))
    if args.seed_only:
        say(f"world ready in {time.monotonic() - started:.0f} s (--seed-only: nothing measured)")
        return 0
    code = Runner(args, env).run()
    say(f"bench finished in {time.monotonic() - started:.0f} s")
    return code
