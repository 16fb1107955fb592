"""The processes a bench run needs: PostgreSQL and Redis (started like ``.ci/run`` does when they are
down), a dedicated database, the production app server and a real Celery worker; and their memory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _quiet(command: list[str], **kwargs) -> int:
    return subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, **kwargs
    ).returncode


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


def ensure_services(database_url: str, redis_url: str, log=print) -> None:
    """Start PostgreSQL and Redis on this machine when they are down (the commands of .ci/run)."""
    db = urlsplit(database_url)
    host, port = db.hostname or "127.0.0.1", str(db.port or 5432)
    if _quiet(["pg_isready", "-q", "-h", host, "-p", port]) != 0:
        log("starting PostgreSQL")
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if not versions:
            raise RuntimeError("PostgreSQL is down and no local cluster was found to start")
        _quiet(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"])
        _wait(lambda: _quiet(["pg_isready", "-q", "-h", host, "-p", port]) == 0, 30, "PostgreSQL")
    r = urlsplit(redis_url)
    rhost, rport = r.hostname or "127.0.0.1", str(r.port or 6379)
    if _quiet(["redis-cli", "-h", rhost, "-p", rport, "ping"]) != 0:
        log("starting Redis")
        _quiet(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                rhost,
                "--port",
                rport,
                "--save",
                "",
                "--appendonly",
                "no",
            ]
        )
        _wait(lambda: _quiet(["redis-cli", "-h", rhost, "-p", rport, "ping"]) == 0, 30, "Redis")


def ensure_database(database_url: str, log=print) -> None:
    """Create the bench database when it does not exist (connecting to ``postgres`` to do so)."""
    import psycopg

    db = urlsplit(database_url)
    name = db.path.lstrip("/")
    admin = {
        "host": db.hostname or "127.0.0.1",
        "port": db.port or 5432,
        "user": db.username or "postgres",
        "password": db.password,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in admin.items() if v is not None}) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- memory ---------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(tree.get(current, []))
    return out


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in lines if ":" in line)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    value = _status(pid).get("VmHWM", "0 kB").split()[0]
    return int(value) / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


# --- app server and worker ---------------------------------------------------------------------


@dataclass
class Process:
    """A child process with its log file; ``stop`` ends it (and its own children) by its pid."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    memory: dict = field(default_factory=dict)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        return process_tree(self.pid) if self.alive() else []

    def measure_memory(self) -> dict:
        """Peak RSS of the parent and of each child process (VmHWM), taken before stopping."""
        pids = self.pids()
        if pids:
            children = [peak_rss_mb(pid) for pid in pids[1:]]
            self.memory = {
                "parent_mb": round(peak_rss_mb(pids[0]), 1),
                "children_mb": [round(mb, 1) for mb in children],
                "max_child_mb": round(max(children, default=0.0), 1),
                "total_mb": round(peak_rss_mb(pids[0]) + sum(children), 1),
            }
        return self.memory

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)  # the session we started it in: it and its workers
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass(frozen=True)
class ServerConfig:
    """How the app is served. ``kind``: ``granian`` (WSGI, ``threads`` blocking threads per worker)
    or ``gunicorn`` (``worker_class`` sync or gthread, ``config/gunicorn.py``)."""

    kind: str = "granian"
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 4

    def describe(self) -> str:
        if self.kind == "granian":
            return f"granian wsgi, {self.workers} workers x {self.threads} blocking threads"
        if self.worker_class == "sync":
            return f"gunicorn sync, {self.workers} workers"
        return f"gunicorn {self.worker_class}, {self.workers} workers x {self.threads} threads"


def app_server(config: ServerConfig, port: int, env: dict[str, str], log_dir: Path) -> Process:
    if config.kind == "granian":
        command = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(config.workers),
            "--blocking-threads",
            str(config.threads),
            "--no-ws",
            "--log-level",
            "warning",
            "config.wsgi:application",
        ]
        server_env = env
    else:
        command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"]
        server_env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(config.workers),
            "GUNICORN_WORKER_CLASS": config.worker_class,
            "GUNICORN_THREADS": str(config.threads),
        }
    return Process("app", command, server_env, log_dir / "app.log")


def wait_http(url: str, process: Process, seconds: float = 60) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    _wait(ready, seconds, f"the app server at {url}")


def celery_worker(env: dict[str, str], log_dir: Path, concurrency: int = 2) -> Process:
    command = [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    return Process("worker", command, env, log_dir / "worker.log")


def wait_worker_idle(process: Process, broker, seconds: float = 120) -> float:
    """Wait until the worker has drained its queue and stopped using CPU (two quiet looks 0.3 s
    apart), so one endpoint's tasks (a publish fans out, an upload is processed) do not load the
    machine while the next endpoint is measured. Returns the seconds waited; gives up quietly
    after ``seconds``."""
    started = time.monotonic()
    before, quiet = cpu_seconds(process.pids()), 0
    while quiet < 2 and time.monotonic() - started < seconds:
        time.sleep(0.3)
        now = cpu_seconds(process.pids())
        quiet = quiet + 1 if broker.llen("celery") == 0 and now - before < 0.02 else 0
        before = now
    return time.monotonic() - started


def wait_worker(process: Process, seconds: float = 60) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"the Celery worker exited:\n{process.tail()}")
        try:
            return " ready." in process.log_path.read_text(errors="replace")
        except OSError:
            return False

    _wait(ready, seconds, "the Celery worker")
