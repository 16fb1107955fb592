"""B8: a 12-megapixel JPEG through ``POST /api/v1/media`` and the real Celery worker.

* **CPU per task**: uploads one at a time, each waited for; the worker processes' CPU time (user +
  system, from /proc) across each task is the task's cost, Celery's own share included.
* **uploads/s**: ``count`` uploads from 2 clients at once; the clock runs from the first request to
  the moment the last medium is ``ready``.
* **peak RSS**: the worker processes' high-water mark (VmHWM) afterwards.

The media made here are deleted afterwards (rows and files) so the world stays as seeded.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid

from django.core.files.storage import default_storage

from bench.gates import median
from bench.sample import Sample
from bench.stack import Process, cpu_seconds
from notes.choices import MediaStatus
from notes.models import Media

SEQUENTIAL = 3


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(port: int, token: str, body: bytes, content_type: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/api/v1/media",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {payload[:300]!r}")
    return json.loads(payload)["id"]


def _wait_settled(ids: list[int], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses = list(Media.objects.filter(pk__in=ids).values_list("status", flat=True))
        if MediaStatus.PENDING not in statuses:
            failed = statuses.count(MediaStatus.FAILED)
            if failed:
                reasons = set(
                    Media.objects.filter(pk__in=ids, status=MediaStatus.FAILED).values_list(
                        "failure_reason", flat=True
                    )
                )
                raise RuntimeError(f"{failed} media failed: {reasons}")
            return
        time.sleep(0.02)
    raise RuntimeError("media were still pending after two minutes (is the worker running?)")


def _wait_idle(queue_length, seconds: float = 60) -> None:
    """Let the worker finish what the write benchmarks queued (notifications) before timing it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and queue_length() > 0:
        time.sleep(0.1)
    time.sleep(0.5)


def _cleanup(ids: list[int]) -> None:
    for media in Media.objects.filter(pk__in=ids):
        for name in [media.original.name, *media.variants.values()]:
            if name and default_storage.exists(name):
                default_storage.delete(name)
    Media.objects.filter(pk__in=ids).delete()


def measure(*, port: int, sample: Sample, worker: Process, photo: bytes, count: int, queue_length) -> dict:
    body, content_type = _multipart(photo)
    made: list[int] = []
    try:
        _wait_idle(queue_length)
        # Warm: the first task of each worker process pays for imports and codec set-up.
        warm = [_upload(port, sample.token(i), body, content_type) for i in range(2)]
        made += warm
        _wait_settled(warm)

        task_cpu = []
        for i in range(SEQUENTIAL):
            pids = worker.pids()
            before = cpu_seconds(pids)
            media_id = _upload(port, sample.token(i), body, content_type)
            made.append(media_id)
            _wait_settled([media_id])
            task_cpu.append((cpu_seconds(pids) - before) * 1000)

        ids: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def client(offset: int) -> None:
            try:
                for i in range(offset, count, 2):
                    media_id = _upload(port, sample.token(i), body, content_type)
                    with lock:
                        ids.append(media_id)
            except BaseException as exc:  # reported after the join
                errors.append(exc)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        made += ids
        if errors:
            raise errors[0]
        _wait_settled(ids)
        elapsed = time.perf_counter() - started
        memory = worker.measure_memory()
    finally:
        _cleanup(made)
    return {
        "task_cpu_ms": median(task_cpu),
        "task_cpu_runs": [round(ms, 1) for ms in task_cpu],
        "uploads": count,
        "seconds": round(elapsed, 3),
        "uploads_per_s": count / elapsed,
        "peak_rss_mb": memory.get("max_child_mb", 0.0),
        "photo_bytes": len(photo),
    }
