"""From measurements to verdicts: the gate formulas of BENCH.md, the table and its JSON.

Pure functions (no Django, no I/O) so the tests can feed them numbers. Every check is expressed as a
``value`` against a ``limit`` with a direction; its **ratio** is how much of the budget is used
(``value / limit`` for "at most", ``limit / value`` for "at least"), so ``ratio <= 1`` passes
everywhere and the table can show one number per row: the worst ratio of its checks.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

CORES = 2  # BENCH.md: throughput gates are against "2 cores / floor"


@dataclass(frozen=True)
class Check:
    """One inequality of a gate: ``value <op> limit``; ``stretch`` is the stretch target's limit."""

    name: str
    value: float
    limit: float
    op: str  # "<=" or ">="
    unit: str
    formula: str
    stretch: float | None = None

    @property
    def ratio(self) -> float:
        if self.op == "<=":
            if self.limit <= 0:  # "exactly none allowed": met or infinitely over
                return 0.0 if self.value <= self.limit else float("inf")
            return self.value / self.limit
        return self.limit / self.value if self.value > 0 else float("inf")

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    @property
    def stretch_passed(self) -> bool | None:
        if self.stretch is None:
            return None
        return self.value <= self.stretch if self.op == "<=" else self.value >= self.stretch

    def describe(self) -> str:
        value, limit = f"{_num(self.value)}{self.unit}", f"{_num(self.limit)}{self.unit}"
        return f"{self.name} {value} {self.op} {limit} ({self.formula})"

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "ratio": _round(self.ratio),
            "passed": self.passed,
            "stretch_passed": self.stretch_passed,
        }


@dataclass
class Row:
    """One line of the table: an endpoint (or a floor) with its measurements and checks.

    ``status`` is ``PASS``/``FAIL`` from the checks, ``info`` for a row without a gate (floors,
    endpoints whose target is informational), ``n/a`` for a pending one (``note`` says why) and
    ``ERR`` when the measurement itself went wrong (errors from the server, a crash).
    """

    name: str
    target: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    floor: str = ""
    checks: list[Check] = field(default_factory=list)
    note: str = ""
    error: str = ""
    pending: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.error:
            return "ERR"
        if self.pending:
            return "n/a"
        if not self.checks:
            return "info"
        return "PASS" if all(c.passed for c in self.checks) else "FAIL"

    @property
    def ratio(self) -> float | None:
        return max((c.ratio for c in self.checks), default=None)

    @property
    def binding(self) -> Check | None:
        """The check closest to failing (or failing worst): the one the table shows."""
        return max(self.checks, key=lambda c: c.ratio, default=None)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "target": self.target,
            "status": self.status,
            "rps": _round(self.rps),
            "p50_ms": _round(self.p50_ms),
            "p99_ms": _round(self.p99_ms),
            "floor": self.floor,
            "ratio": _round(self.ratio),
            "checks": [c.as_dict() for c in self.checks],
            "note": self.note,
            "error": self.error,
            **self.extra,
        }


# --- the gate formulas -----------------------------------------------------------------------


def read_checks(
    *, p50_ms: float, p99_ms: float, rps: float, http_p50_ms: float, floor_p50_ms: float, floor_name: str
) -> list[Check]:
    """B1/B2: p50 <= F_http p50 + 3 x floor p50; p99 <= 3 x p50 (1 connection); throughput at 32
    connections >= 20% of (2 cores / floor p50). Stretch: 2 x floor, 30%."""
    capacity = CORES / (floor_p50_ms / 1000) if floor_p50_ms > 0 else float("inf")
    return [
        Check(
            "p50",
            p50_ms,
            http_p50_ms + 3 * floor_p50_ms,
            "<=",
            "ms",
            f"F_http p50 + 3 x {floor_name} p50",
            stretch=http_p50_ms + 2 * floor_p50_ms,
        ),
        Check("p99", p99_ms, 3 * p50_ms, "<=", "ms", "3 x p50"),
        Check(
            "req/s@32",
            rps,
            0.2 * capacity,
            ">=",
            "/s",
            f"20% of {CORES} cores / {floor_name} p50",
            stretch=0.3 * capacity,
        ),
    ]


def search_checks(*, p50_ms: float, http_p50_ms: float, sql_p50_ms: float) -> list[Check]:
    """B7: end to end p50 <= 2 x F_sql p50 + F_http p50."""
    return [Check("p50", p50_ms, 2 * sql_p50_ms + http_p50_ms, "<=", "ms", "2 x F_sql p50 + F_http p50")]


#: B7 at M: p95 (gate, stretch) in ms by how common the word is.
SEARCH_P95_MS = {"rare": (20.0, 10.0), "common": (300.0, 150.0)}


def search_word_checks(
    p95_ms: dict[str, dict[str, float]], *, sequential_scans: int, short_queries: int
) -> list[Check]:
    """B7: rare word p95 <= 20 ms, common word p95 <= 300 ms (stretch 10, 150), per sort; no
    sequential scan for 1-3 character Chinese queries."""
    checks = [
        Check(
            f"{kind} p95 ({sort})",
            value,
            SEARCH_P95_MS[kind][0],
            "<=",
            "ms",
            f"{kind} words p95 <= {SEARCH_P95_MS[kind][0]:g} ms",
            stretch=SEARCH_P95_MS[kind][1],
        )
        for kind, by_sort in p95_ms.items()
        for sort, value in by_sort.items()
    ]
    checks.append(
        Check(
            "seq scans",
            sequential_scans,
            0,
            "<=",
            "",
            f"no sequential scan of a large table for {short_queries} 1-3 character Chinese queries",
        )
    )
    return checks


def write_checks(
    *,
    p50_ms: float,
    http_p50_ms: float,
    insert_p50_ms: float,
    hot_rps: float | None,
    hotrow_rps: float | None,
) -> list[Check]:
    """B5: p50 <= F_http p50 + 3 x a single-row insert; 8 writers on one note >= 50% of
    F_hotrow(1) (stretch 80%)."""
    checks = [
        Check(
            "p50",
            p50_ms,
            http_p50_ms + 3 * insert_p50_ms,
            "<=",
            "ms",
            "F_http p50 + 3 x F_insert p50",
        )
    ]
    if hot_rps is not None and hotrow_rps:
        checks.append(
            Check(
                "8 writers/s",
                hot_rps,
                0.5 * hotrow_rps,
                ">=",
                "/s",
                "50% of F_hotrow(1)",
                stretch=0.8 * hotrow_rps,
            )
        )
    return checks


def checkout_checks(
    *,
    hot_rps: float,
    spread_rps: float,
    hotrow1_rps: float,
    hotrow1000_rps: float,
    skus: int,
    oversold: int,
    unaccounted: int,
    attempts: int,
) -> list[Check]:
    """B6: 8 buyers on 1 hot SKU >= 50% of F_hotrow(1) (stretch 70%); on 1,000 SKUs >= 30% of
    F_hotrow(1000) (stretch 50%); 0 oversold in 10k attempts (and every attempt accounted for)."""
    return [
        Check(
            "1 SKU orders/s",
            hot_rps,
            0.5 * hotrow1_rps,
            ">=",
            "/s",
            "8 buyers: 50% of F_hotrow(1)",
            stretch=0.7 * hotrow1_rps,
        ),
        Check(
            f"{skus} SKUs orders/s",
            spread_rps,
            0.3 * hotrow1000_rps,
            ">=",
            "/s",
            "8 buyers: 30% of F_hotrow(1000)",
            stretch=0.5 * hotrow1000_rps,
        ),
        Check("oversold", oversold, 0, "<=", "", f"orders beyond the hot SKU's stock in {attempts} attempts"),
        Check(
            "unaccounted",
            unaccounted,
            0,
            "<=",
            "",
            "stock left + sold = stock; an order per 201; the rest 409 out_of_stock",
        ),
    ]


def fanout_checks(*, latency_ms: float, fanout_floor_ms: float, followers: int) -> list[Check]:
    """B4: commit to last insert <= 3 x F_fanout(N) + 50 ms (stretch 2 x)."""
    return [
        Check(
            f"fan-out {followers}",
            latency_ms,
            3 * fanout_floor_ms + 50,
            "<=",
            "ms",
            f"3 x F_fanout({followers}) + 50 ms",
            stretch=2 * fanout_floor_ms + 50,
        )
    ]


def media_checks(
    *, cpu_ms: float, img_floor_ms: float, peak_rss_mb: float, uploads_per_s: float
) -> list[Check]:
    """B8: CPU <= 1.5 x F_img (stretch 1.2 x); peak RSS <= 300 MB per worker; >= 4 uploads/s."""
    return [
        Check("cpu", cpu_ms, 1.5 * img_floor_ms, "<=", "ms", "1.5 x F_img", stretch=1.2 * img_floor_ms),
        Check("peak RSS", peak_rss_mb, 300, "<=", "MB", "300 MB per worker"),
        Check("uploads/s", uploads_per_s, 4, ">=", "/s", "4 uploads/s on 2 cores"),
    ]


def decay_checks(*, seconds: float, window: int) -> list[Check]:
    """B9: the decay pass over the last 48 h of notes at M <= 5 s (stretch 2 s)."""
    return [
        Check(
            "decay pass",
            seconds,
            5.0,
            "<=",
            "s",
            f"every note of the window ({window}) rescored <= 5 s",
            stretch=2.0,
        )
    ]


def query_checks(
    counts: dict[int | str, tuple[int, int]], *, sql_budget: int = 4, redis_budget: int = 2
) -> list[Check]:
    """B3: ``counts`` maps page size (or ``"-"`` for a single object) to ``(sql, redis)``.

    The same SQL count at every page size (no N+1), at most ``sql_budget`` SQL queries and
    ``redis_budget`` Redis round trips (stretch: 3 SQL).
    """
    sql = [c[0] for c in counts.values()]
    redis = [c[1] for c in counts.values()]
    checks = [
        Check("SQL", max(sql), sql_budget, "<=", "", f"<= {sql_budget} queries", stretch=3),
        Check("Redis", max(redis), redis_budget, "<=", "", f"<= {redis_budget} round trips"),
    ]
    if len(counts) > 1:
        spread = max(sql) - min(sql)
        sizes = "/".join(str(size) for size in counts)
        checks.insert(0, Check("N+1", spread, 0, "<=", "", f"same count at page sizes {sizes}"))
    return checks


# --- runs, table, JSON ------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank, as wrk reports it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return round(value, digits)


def _num(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if value == float("inf"):
        return "inf"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


COLUMNS = ("endpoint", "target", "req/s", "p50 ms", "p99 ms", "floor", "ratio", "gate", "result")


def table_rows(rows: Iterable[Row]) -> list[tuple[str, ...]]:
    out = []
    for row in rows:
        binding = row.binding
        if row.pending or row.error:
            gate = row.error or row.note
        elif binding is not None:
            gate = binding.describe()
        else:
            gate = row.note
        out.append(
            (
                row.name,
                row.target,
                _num(row.rps),
                _num(row.p50_ms),
                _num(row.p99_ms),
                row.floor,
                _num(row.ratio),
                gate,
                row.status,
            )
        )
    return out


def render_table(rows: Iterable[Row], *, markdown: bool = False) -> str:
    """The table ``make bench`` prints (plain text) or the README carries (``markdown``)."""
    body = table_rows(rows)
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in body]
        return "\n".join(lines)
    widths = (
        [max(len(COLUMNS[i]), *(len(line[i]) for line in body)) for i in range(len(COLUMNS))]
        if body
        else [len(c) for c in COLUMNS]
    )
    numeric = {2, 3, 4, 6}

    def fmt(line):
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(COLUMNS), rule, *(fmt(line) for line in body)])


def render_checks(rows: Iterable[Row]) -> str:
    """Every check of every gated row, one per line (the table shows only the binding one)."""
    lines = []
    for row in rows:
        for check in row.checks:
            mark = "ok  " if check.passed else "FAIL"
            stretch = {True: " (stretch ok)", False: "", None: ""}[check.stretch_passed]
            lines.append(f"  {mark} {row.name:<22} {check.describe()}{stretch}")
    return "\n".join(lines)


def summary(rows: Iterable[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts
