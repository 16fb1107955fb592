"""The harness's verdicts from given numbers: gate formulas, ratios, PASS/FAIL, table, JSON, Lua."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import gates, load, registry
from bench.registry import Request


def test_read_gate_formula_of_bench_md():
    # F_http p50 1 ms, floor p50 2 ms: p50 budget 1 + 3 x 2 = 7 ms; throughput >= 20% of 2 / 2 ms = 200/s.
    checks = gates.read_checks(
        p50_ms=7, p99_ms=21, rps=200, http_p50_ms=1, floor_p50_ms=2, floor_name="F_feed"
    )
    assert [(c.name, c.limit, c.passed) for c in checks] == [
        ("p50", 7, True),
        ("p99", 21, True),
        ("req/s@32", pytest.approx(200), True),
    ]
    assert [c.ratio for c in checks] == [1, 1, pytest.approx(1)]
    slow = gates.read_checks(
        p50_ms=7.5, p99_ms=30, rps=150, http_p50_ms=1, floor_p50_ms=2, floor_name="F_feed"
    )
    assert [c.passed for c in slow] == [False, False, False]
    assert slow[2].ratio == pytest.approx(200 / 150)
    # Stretch: 2 x the floor, 30% of capacity.
    fast = gates.read_checks(p50_ms=5, p99_ms=6, rps=300, http_p50_ms=1, floor_p50_ms=2, floor_name="F_feed")
    assert [c.stretch_passed for c in fast] == [True, None, True]


def test_write_fanout_media_and_query_gates():
    write = gates.write_checks(p50_ms=4, http_p50_ms=1, insert_p50_ms=1, hot_rps=500, hotrow_rps=1000)
    assert [(c.limit, c.passed) for c in write] == [(4, True), (500, True)]
    assert (
        gates.write_checks(p50_ms=4.1, http_p50_ms=1, insert_p50_ms=1, hot_rps=None, hotrow_rps=None)[
            0
        ].passed
        is False
    )
    (fanout,) = gates.fanout_checks(latency_ms=110, fanout_floor_ms=20, followers=1000)
    assert (fanout.limit, fanout.passed, fanout.stretch_passed) == (110, True, False)
    media = gates.media_checks(cpu_ms=300, img_floor_ms=200, peak_rss_mb=301, uploads_per_s=4)
    assert [(c.name, c.passed) for c in media] == [("cpu", True), ("peak RSS", False), ("uploads/s", True)]

    flat = gates.query_checks({1: (3, 0), 20: (3, 0), 100: (3, 1)})
    assert [(c.name, c.passed) for c in flat] == [("N+1", True), ("SQL", True), ("Redis", True)]
    assert flat[0].ratio == 0
    n_plus_one = gates.query_checks({1: (3, 0), 20: (22, 0), 100: (102, 0)})
    assert [(c.name, c.passed) for c in n_plus_one] == [("N+1", False), ("SQL", False), ("Redis", True)]
    assert n_plus_one[0].ratio == float("inf")
    single = gates.query_checks({"-": (5, 3)})
    assert [(c.name, c.passed) for c in single] == [("SQL", False), ("Redis", False)]


def test_row_status_ratio_and_table():
    passing = gates.Row("note detail", "B2", rps=300, p50_ms=5, p99_ms=9, floor="F_note_detail 1 ms")
    passing.checks = gates.read_checks(
        p50_ms=5, p99_ms=9, rps=300, http_p50_ms=1, floor_p50_ms=2, floor_name="F"
    )
    failing = gates.Row("board", "B2", rps=10, p50_ms=50, p99_ms=60)
    failing.checks = gates.read_checks(
        p50_ms=50, p99_ms=60, rps=10, http_p50_ms=1, floor_p50_ms=2, floor_name="F"
    )
    floor = gates.Row("F_http", "floor", rps=5000, p50_ms=0.5, p99_ms=1)
    pending = gates.Row("following feed", "B1", pending=True, note="n/a (feeds not built yet)")
    broken = gates.Row("like", "B5", error="RuntimeError: 500s")
    rows = [floor, passing, failing, pending, broken]
    assert [r.status for r in rows] == ["info", "PASS", "FAIL", "n/a", "ERR"]
    assert passing.ratio == pytest.approx(5 / 7)
    assert failing.binding.name == "req/s@32"  # 200/s needed, 10/s done: the worst ratio
    assert gates.summary(rows) == {"info": 1, "PASS": 1, "FAIL": 1, "n/a": 1, "ERR": 1}

    text = gates.render_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["endpoint", "target", "req/s"]
    assert lines[3].split()[-1] == "PASS" and lines[4].split()[-1] == "FAIL"
    assert "n/a (feeds not built yet)" in lines[5] and lines[6].endswith("ERR")
    markdown = gates.render_table(rows, markdown=True)
    assert markdown.splitlines()[1].startswith("|---|") and "| FAIL |" in markdown
    assert "FAIL board" in gates.render_checks(rows).replace("  ", " ")

    data = json.loads(json.dumps([r.as_dict() for r in rows]))
    assert data[1]["status"] == "PASS" and data[1]["checks"][0]["limit"] == 7
    assert data[2]["checks"][2]["passed"] is False


def test_search_word_gates_of_bench_md():
    # B7 at M: rare words p95 <= 20 ms (stretch 10), common words p95 <= 300 ms (stretch 150), per
    # sort; no sequential scan of a large table for short Chinese queries.
    p95 = {"rare": {"relevance": 12.0, "latest": 25.0}, "common": {"relevance": 140.0}}
    checks = gates.search_word_checks(p95, sequential_scans=0, short_queries=4)
    assert [(c.name, c.limit, c.passed, c.stretch_passed) for c in checks] == [
        ("rare p95 (relevance)", 20, True, False),
        ("rare p95 (latest)", 20, False, False),
        ("common p95 (relevance)", 300, True, True),
        ("seq scans", 0, True, None),
    ]
    scanned = gates.search_word_checks(p95, sequential_scans=1, short_queries=4)[-1]
    assert not scanned.passed and scanned.ratio == float("inf")


def test_decay_gate_of_bench_md():
    # B9: the pass over the last 48 h <= 5 s (stretch 2 s).
    (check,) = gates.decay_checks(seconds=2.5, window=13_000)
    assert (check.limit, check.passed, check.stretch_passed) == (5, True, False)
    assert "13000" in check.formula
    assert not gates.decay_checks(seconds=5.1, window=1)[0].passed


def test_median_and_percentile():
    assert gates.median([3, 1, 2]) == 2
    assert gates.percentile(list(range(1, 101)), 99) == 99
    assert gates.percentile([5.0], 50) == 5.0


def test_registry_selects_and_knows_what_resolves():
    names = [e.name for e in registry.select(["note detail", "B5"])]
    assert names == ["F_http", "note detail", "like", "collect", "comment"]
    with pytest.raises(ValueError, match="unknown endpoint"):
        registry.select(["nope"])
    assert registry.resolves("/api/v1/notes/1")
    assert not registry.resolves("/api/v1/no-such-thing")


def test_wrk_script_rotates_requests_with_tokens():
    rotations = [[Request("GET", "/api/v1/notes/1", 0), Request("POST", "/api/v1/notes/1/like", 1, "{}")]]
    script = load.script(rotations, ["tok-a", "tok-b"], per_thread=False)
    assert '"/api/v1/notes/1", "tok-a", ""' in script
    assert '"POST", "/api/v1/notes/1/like", "tok-b", "{}"' in script
    assert "local per_thread = false" in script and "BENCHJSON" in script
    assert "local per_thread = true" in load.script(rotations, ["t"], per_thread=True)
    # Bodies are only read (wrk's response hook) when a path needs the id a POST created.
    assert "function response" not in script


class _Recorder(BaseHTTPRequestHandler):
    """Answers a POST with 201 and a new id, anything else with 204; records method and path."""

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.server.seen.append((self.command, self.path))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.next_id += 1
        self._answer(201, json.dumps({"id": self.server.next_id, "author": {"id": 7}}).encode())

    def do_DELETE(self):
        self._answer(204)

    def log_message(self, *args):
        pass


def test_wrk_deletes_what_each_post_created():
    """B5's comment: the DELETE after each POST names the id that POST's answer gave, through a real
    wrk run against a recording server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen, server.next_id = [], 1000
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rotation = [
        Request("POST", "/notes/1/comments", None, '{"body": "hi"}'),
        Request("DELETE", f"/comments/{load.CREATED}"),
    ]
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        result = load.run(load.ensure_wrk(), base_url, [rotation], [], connections=1, seconds=1)
    finally:
        server.shutdown()
        server.server_close()
    seen = server.seen
    assert result.requests >= 10 and result.bad_status == 0
    posts = [i for i, (method, _) in enumerate(seen) if method == "POST"]
    assert len(posts) >= 5
    for n, i in enumerate(posts[:-1]):
        assert seen[i + 1] == ("DELETE", f"/comments/{1001 + n}")


def test_checkout_gate_of_bench_md():
    # B6: 8 buyers on 1 SKU >= 50% of F_hotrow(1) (stretch 70%), on 1,000 SKUs >= 30% of
    # F_hotrow(1000) (stretch 50%), 0 oversold; F_hotrow(1) 4,000/s and F_hotrow(1000) 10,000/s here.
    checks = gates.checkout_checks(
        hot_rps=2_100,
        spread_rps=3_000,
        hotrow1_rps=4_000,
        hotrow1000_rps=10_000,
        skus=1000,
        oversold=0,
        unaccounted=0,
        attempts=10_000,
    )
    assert [(c.name, c.limit, c.passed, c.stretch_passed) for c in checks] == [
        ("1 SKU orders/s", 2_000, True, False),
        ("1000 SKUs orders/s", 3_000, True, False),
        ("oversold", 0, True, None),
        ("unaccounted", 0, True, None),
    ]
    assert checks[0].ratio == pytest.approx(2_000 / 2_100)
    oversold = gates.checkout_checks(
        hot_rps=3_000,
        spread_rps=6_000,
        hotrow1_rps=4_000,
        hotrow1000_rps=10_000,
        skus=1000,
        oversold=1,
        unaccounted=0,
        attempts=10_000,
    )
    assert [c.passed for c in oversold] == [True, True, False, True]
    assert [c.stretch_passed for c in oversold[:2]] == [True, True]
    row = gates.Row("checkout", "B6", checks=oversold)
    assert row.status == "FAIL" and row.ratio == float("inf") and row.binding.name == "oversold"


class _Shop(BaseHTTPRequestHandler):
    """A POST is a 201 while ``stock`` lasts, then a 409; records each request's Idempotency-Key."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.keys.append(self.headers.get("Idempotency-Key"))
            sold = self.server.stock > 0
            self.server.stock -= sold
        status = 201 if sold else 409
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_wrk_sends_a_fresh_idempotency_key_each_time_and_stops_each_thread_at_its_limit():
    """B6's oversell run: each buyer makes exactly its number of attempts, every request under a
    key of its own, and the answers are counted by status (a real wrk run against a fake shop)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    server.keys, server.stock, server.lock = [], 25, threading.Lock()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rotations = [[Request("POST", "/orders", buyer, '{"items": []}', idempotent=True)] for buyer in range(3)]
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        result = load.run(
            load.ensure_wrk(),
            base_url,
            rotations,
            ["t0", "t1", "t2"],
            connections=0,
            seconds=30,
            per_thread=True,
            limits=[10, 20, 30],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.requests == 60 and result.statuses == {201: 25, 409: 35}
    keys = server.keys
    assert len(keys) == 60 and len(set(keys)) == 60
    assert all(key.startswith(load.KEY_PREFIX) for key in keys)
    assert len({key.rsplit("-", 2)[0] for key in keys}) == 1  # the run's own prefix, then thread-count
