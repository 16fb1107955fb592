"""The load generator: wrk (Debian's package, installed when missing) driven by a generated Lua script.

The script pre-formats every request of the rotation once per thread (method, path, bearer token,
JSON body) and cycles through them, so wrk spends no time building requests (but for a path naming
``{created}``, formatted when sent with the id the connection's last 201 answer gave, and for a
request marked ``idempotent``, sent with a fresh ``Idempotency-Key``). In ``per_thread`` mode each
wrk thread gets its own rotation (one connection per thread: B5's 8 writers, each a different person
on the same note; B6's 8 buyers), optionally with a number of requests after which it stops. A
``done`` hook prints the latency percentiles, error counts and (when a response hook counted them)
the answers by status as one JSON line, which is what we read (wrk's own text report is not
parsed).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.registry import Request

MARKER = "BENCHJSON "
#: In a request's path: the id of the object the previous request on the connection created (the
#: ``"id"`` of its 201 answer), e.g. ``DELETE /api/v1/comments/{created}`` after a POST.
CREATED = "{created}"
#: What every ``Idempotency-Key`` the load generator sends starts with (then a run's own nonce).
KEY_PREFIX = "bench-wrk-"

LUA = r"""
local rotations = {ROTATIONS}
local per_thread = {PER_THREAD}
local limits = {LIMITS}
local key_prefix = {KEY_PREFIX}
local created = 0
local threads = {}
local prepared = {}
local counter = 0
local CREATED = "{created}"
local last_created = "0"
limit = 0
answered = 0
statuses = {}

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local list = rotations[1]
  local offset = 0
  if per_thread then
    list = rotations[(tid % #rotations) + 1]
  else
    offset = (tid or 0) * 2 * 3967
  end
  if #limits > 0 then limit = limits[(tid % #limits) + 1] end
  for i, r in ipairs(list) do
    local headers = {}
    if r[3] ~= "" then headers["Authorization"] = "Bearer " .. r[3] end
    local body = nil
    if r[4] ~= "" then
      body = r[4]
      headers["Content-Type"] = "application/json"
    end
    if r[5] or r[2]:find(CREATED, 1, true) then
      prepared[i] = {r[1], r[2], headers, body, r[5]}  -- formatted when sent
    else
      prepared[i] = wrk.format(r[1], r[2], headers, body)
    end
  end
  counter = offset
end

function request()
  counter = counter + 1
  local r = prepared[((counter - 1) % #prepared) + 1]
  if type(r) == "table" then
    if r[5] then r[3]["Idempotency-Key"] = key_prefix .. tid .. "-" .. counter end
    return wrk.format(r[1], r[2]:gsub(CREATED, last_created, 1), r[3], r[4])
  end
  return r
end
{RESPONSE}
function done(summary, latency, requests)
  local e = summary.errors
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses") or {}) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do parts[#parts + 1] = string.format('"%d":%d', status, n) end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
"""

#: Only when needed (wrk reads response bodies only for a script that has this hook): counting the
#: answers by status, the id a 201 gave (for a path naming ``{created}``), stopping a thread after
#: its ``limit`` of answers (it says so on stdout: ``run`` ends wrk when every thread has).
RESPONSE = r"""
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  {CREATED_HOOK}
  answered = answered + 1
  if limit > 0 and answered == limit then
    io.write("BENCHSTOP\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end
"""
CREATED_HOOK = r"""if status == 201 then last_created = body:match('"id":%s*(%d+)') or last_created end"""
STOP = "BENCHSTOP"


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # responses with status >= 400
    #: Answers by status, counted by the script's response hook (empty when it has none).
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_share(self) -> float:
        return (self.errors + self.bad_status) / max(1, self.requests)

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "errors": self.errors,
            "bad_status": self.bad_status,
            **({"statuses": self.statuses} if self.statuses else {}),
        }


def ensure_wrk(log=print) -> str:
    """The wrk binary, installed from Debian's packages when missing (apt-get update if needed)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk (apt-get install -y wrk)")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed with apt-get")
    return found


def _lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string literal is a valid Lua one here


def script(
    rotations: list[list[Request]],
    tokens: list[str],
    *,
    per_thread: bool,
    limits: list[int] | None = None,
    key_prefix: str = "",
) -> str:
    """The Lua of one run. ``limits``: answers per thread before it stops (per_thread runs);
    ``key_prefix``: what a fresh ``Idempotency-Key`` starts with (then the thread and a counter)."""

    def row(r: Request) -> str:
        token = tokens[r.viewer % len(tokens)] if r.viewer is not None and tokens else ""
        fields = [_lua_string(v) for v in (r.method, r.path, token, r.body or "")]
        return "{" + ", ".join([*fields, "true" if r.idempotent else "false"]) + "}"

    body = ",\n".join("{" + ",\n".join(row(r) for r in rotation) + "}" for rotation in rotations)
    requests = [r for rotation in rotations for r in rotation]
    created = any(CREATED in r.path for r in requests)
    hook = created or limits or any(r.idempotent for r in requests)
    response = RESPONSE.replace("{CREATED_HOOK}", CREATED_HOOK if created else "") if hook else ""
    return (
        LUA.replace("{ROTATIONS}", "{\n" + body + "\n}")
        .replace("{PER_THREAD}", "true" if per_thread else "false")
        .replace("{LIMITS}", "{" + ", ".join(str(n) for n in limits or ()) + "}")
        .replace("{KEY_PREFIX}", _lua_string(key_prefix))
        .replace("{RESPONSE}", response)
    )


def run(
    wrk: str,
    base_url: str,
    rotations: list[list[Request]],
    tokens: list[str],
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    per_thread: bool = False,
    limits: list[int] | None = None,
) -> Result:
    """One wrk run; ``rotations`` is one list of requests, or one per thread when ``per_thread``.

    With ``limits`` (per_thread only) thread ``i`` sends ``limits[i]`` requests and stops; the run
    ends when every thread has (``seconds`` is then only a time limit). Requests marked
    ``idempotent`` carry a fresh ``Idempotency-Key`` each, starting with :data:`KEY_PREFIX`.
    """
    if per_thread:
        threads = connections = len(rotations)
    threads = max(1, min(threads, connections))
    if limits is not None and (not per_thread or len(limits) != threads):
        raise ValueError("limits: one per thread of a per_thread run")
    lua = script(
        rotations,
        tokens,
        per_thread=per_thread,
        limits=limits,
        key_prefix=f"{KEY_PREFIX}{uuid.uuid4().hex[:12]}-",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
        path = Path(handle.name)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(path),
        base_url,
    ]
    try:
        if limits is None:
            done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            returncode, stdout, stderr = _run_until_stopped(command, threads, timeout=seconds + 60)
    finally:
        path.unlink(missing_ok=True)
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}): {stderr.strip() or stdout.strip()}")
    data = json.loads(line[len(MARKER) :])
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        bad_status=data["status"],
        statuses={int(status): n for status, n in data["statuses"].items()},
    )


def _run_until_stopped(command: list[str], threads: int, *, timeout: float) -> tuple[int, str, str]:
    """Run wrk until each of its ``threads`` has printed :data:`STOP`, then interrupt it (wrk
    otherwise sleeps out its whole duration): it reports as at the end of its duration."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            lines, stopped = [], 0
            for line in proc.stdout:
                lines.append(line)
                if line.startswith(STOP):
                    stopped += 1
                    if stopped == threads:
                        proc.send_signal(signal.SIGINT)
            stderr = proc.stderr.read()
            return proc.wait(), "".join(lines), stderr
        finally:
            watchdog.cancel()
