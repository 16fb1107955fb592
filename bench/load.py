"""The load generator: wrk (Debian's package, installed when missing) driven by a generated Lua script.

The script pre-formats every request of the rotation once per thread (method, path, bearer token,
JSON body) and cycles through them, so wrk spends no time building requests (but for a path naming
``{created}``, formatted when sent with the id the connection's last 201 answer gave). In ``per_thread`` mode
each wrk thread gets its own rotation (one connection per thread: B5's 8 writers, each a different
person on the same note). A ``done`` hook prints the latency percentiles and error counts as one
JSON line, which is what we read (wrk's own text report is not parsed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.registry import Request

MARKER = "BENCHJSON "
#: In a request's path: the id of the object the previous request on the connection created (the
#: ``"id"`` of its 201 answer), e.g. ``DELETE /api/v1/comments/{created}`` after a POST.
CREATED = "{created}"

LUA = r"""
local rotations = {ROTATIONS}
local per_thread = {PER_THREAD}
local created = 0
local prepared = {}
local counter = 0
local CREATED = "{created}"
local last_created = "0"

function setup(thread)
  thread:set("tid", created)
  created = created + 1
end

function init(args)
  local list = rotations[1]
  local offset = 0
  if per_thread then
    list = rotations[(tid % #rotations) + 1]
  else
    offset = (tid or 0) * 2 * 3967
  end
  for i, r in ipairs(list) do
    local headers = {}
    if r[3] ~= "" then headers["Authorization"] = "Bearer " .. r[3] end
    local body = nil
    if r[4] ~= "" then
      body = r[4]
      headers["Content-Type"] = "application/json"
    end
    if r[2]:find(CREATED, 1, true) then
      prepared[i] = {r[1], r[2], headers, body}  -- formatted when sent, with the id just created
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
    return wrk.format(r[1], r[2]:gsub(CREATED, last_created, 1), r[3], r[4])
  end
  return r
end
{RESPONSE}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

#: Only when a request names ``{created}``: wrk reads response bodies only for a script that asks.
RESPONSE = r"""
function response(status, headers, body)
  if status == 201 then
    last_created = body:match('"id":%s*(%d+)') or last_created
  end
end
"""


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


def script(rotations: list[list[Request]], tokens: list[str], *, per_thread: bool) -> str:
    def row(r: Request) -> str:
        token = tokens[r.viewer % len(tokens)] if r.viewer is not None and tokens else ""
        return "{" + ", ".join(_lua_string(v) for v in (r.method, r.path, token, r.body or "")) + "}"

    body = ",\n".join("{" + ",\n".join(row(r) for r in rotation) + "}" for rotation in rotations)
    created = any(CREATED in r.path for rotation in rotations for r in rotation)
    return (
        LUA.replace("{ROTATIONS}", "{\n" + body + "\n}")
        .replace("{PER_THREAD}", "true" if per_thread else "false")
        .replace("{RESPONSE}", RESPONSE if created else "")
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
) -> Result:
    """One wrk run; ``rotations`` is one list of requests, or one per thread when ``per_thread``."""
    if per_thread:
        threads = connections = len(rotations)
    threads = max(1, min(threads, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(rotations, tokens, per_thread=per_thread))
        path = Path(handle.name)
    try:
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
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        path.unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
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
    )
