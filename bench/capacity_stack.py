"""Unit costs of the running service: a uvicorn API, a Celery worker, PostgreSQL, and a
redis-server started here on a free port (so INFO commandstats counts only this stack).

Celery path (``CELERY_FORCE=true``: every upload goes to the worker, the API only accepts):
the API's CPU per upload, the worker's CPU per job (main process + pool), PostgreSQL's CPU
(the backends of the benchmark's database) and Redis commands per job (CONFIG RESETSTAT,
then INFO commandstats after the batch), then the same meters over an idle window (what the
API's reconciler, the worker's polling and its events cost with nothing to do). Then the API
CPU per read request (status, trip list, track). In-process path (``CELERY_ENABLED=false``):
the API's CPU per upload when it also processes the file, as every file at or under
GPX_ASYNC_THRESHOLD_MB is processed by default. Completion is watched in the database, never
through the API, so polling does not count as upload cost.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from bench.cpu_meter import Meter, backends, tree
from bench.e2e import variant
from bench.gpxgen import ensure_file
from bench.stack import BenchStack
from tests.live import Client, free_port

IDLE_S = 6.0


@contextlib.contextmanager
def private_redis() -> Iterator[tuple[str, int]]:
    """A redis-server of our own (no persistence) on a free port: (url, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cv-capacity-redis-") as workdir:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=port)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0", proc.pid
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=10)


@dataclass
class Batch:
    """One measured window: CPU seconds per group and Redis commands, for `count` items."""

    count: int
    wall_s: float
    cpu_s: dict[str, float]
    redis_calls: Counter[str] = field(default_factory=Counter)
    redis_usec: int = 0

    def per(self, group: str) -> float:
        return self.cpu_s.get(group, 0.0) / max(self.count, 1)


@dataclass
class StackResults:
    upload_mb: float
    celery: Batch  # uploads routed to the worker
    accept_mb: float
    celery_big: Batch  # the same with larger files: the upload path's cost per MB
    idle: Batch  # the same processes with nothing to do (count = seconds)
    reads: dict[str, Batch]  # GET requests
    in_process: dict[float, Batch]  # uploads processed by the API, per size
    redis_keys_after: int = 0
    redis_result_key_b: float = 0.0  # MEMORY USAGE of a job's result key (kept 1 h)


def _commandstats(r: redis.Redis) -> tuple[Counter[str], int]:
    stats: dict[str, Any] = r.info("commandstats")  # type: ignore[assignment]
    calls: Counter[str] = Counter()
    usec = 0
    for name, value in stats.items():
        command = name.removeprefix("cmdstat_")
        if command in ("config", "info"):  # ours
            continue
        calls[command] = int(value["calls"])
        usec += int(value["usec"])
    return calls, usec


def _done(stack: BenchStack) -> int:
    rows = stack.query(
        "SELECT count(*) FROM gpx_files WHERE processing_status IN ('completed', 'failed')"
    )
    return int(rows[0][0])


def _upload_batch(
    stack: BenchStack,
    client: Client,
    headers: dict[str, str],
    trip: str,
    data: bytes,
    count: int,
    meter: Meter,
    r: redis.Redis,
) -> Batch:
    # a trip per upload: the same ride twice in one trip is a duplicate (DUPLICATE_RIDE)
    trips = [trip, *(client.trip(headers) for _ in range(count - 1))]
    target = _done(stack) + count
    r.config_resetstat()
    t0 = time.perf_counter()
    started = meter.start()
    for i in range(count):
        answer = client.upload(headers, trips[i], variant(data, f"cap {i} {time.time_ns()}"))
        if answer.status_code != 202:
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:300]}")
    deadline = time.monotonic() + 300
    while _done(stack) < target:
        if time.monotonic() > deadline:
            raise RuntimeError("uploads not finished in 300 s")
        time.sleep(0.05)
    spent = meter.stop(started)
    wall = time.perf_counter() - t0
    calls, usec = _commandstats(r)
    failed = stack.query("SELECT count(*) FROM gpx_files WHERE processing_status = 'failed'")
    if failed[0][0]:
        raise RuntimeError(f"{failed[0][0]} jobs failed in the bench")
    return Batch(count, wall, spent, calls, usec)


def _reads(
    client: Client, headers: dict[str, str], paths: dict[str, str], n: int, meter: Meter
) -> dict[str, Batch]:
    out: dict[str, Batch] = {}
    for label, path in paths.items():
        client.http.get(path, headers=headers).raise_for_status()  # warm
        t0 = time.perf_counter()
        started = meter.start()
        for _ in range(n):
            client.http.get(path, headers=headers).raise_for_status()
        out[label] = Batch(n, time.perf_counter() - t0, meter.stop(started))
    return out


def run(
    *,
    upload_mb: float,
    uploads: int,
    accept_mb: float,
    in_process: dict[float, int],
    reads: int,
    track_mb: float,
) -> StackResults:
    small = ensure_file(upload_mb).read_bytes()
    big = ensure_file(track_mb).read_bytes()
    big_upload = ensure_file(accept_mb).read_bytes()
    with private_redis() as (redis_url, redis_pid):
        stack = BenchStack("capacity", redis_url=redis_url)
        r = redis.Redis.from_url(redis_url)
        try:
            (worker,) = stack.start_workers(1)
            overrides = {"max_pending_jobs_per_user": 100_000, "reconcile_interval_s": 5}
            client = stack.start_api(celery_enabled="true", celery_force="true", **overrides)
            assert stack.api is not None
            headers = client.signup()
            trip = client.trip(headers)
            meter = Meter(
                api=tree(stack.api.pid),
                worker=tree(worker.proc.pid),
                pg=backends(stack.db_name),
                redis=lambda: [redis_pid],
            )
            _upload_batch(stack, client, headers, trip, small, 3, meter, r)  # warm-up
            keys_before = int(r.dbsize())
            celery = _upload_batch(stack, client, headers, trip, small, uploads, meter, r)
            keys_after = int(r.dbsize()) - keys_before
            results = list(r.scan_iter("celery-task-meta-*", count=1000))
            memory_per_job = sum(int(r.memory_usage(k) or 0) for k in results) / max(
                len(results), 1
            )
            big_batch = _upload_batch(stack, client, headers, trip, big_upload, 4, meter, r)
            r.config_resetstat()
            started = meter.start()
            time.sleep(IDLE_S)
            idle_calls, idle_usec = _commandstats(r)
            idle = Batch(int(IDLE_S), IDLE_S, meter.stop(started), idle_calls, idle_usec)

            file_id = client.upload(headers, trip, variant(small, "track")).json()["gpx_file_id"]
            big_trip = client.trip(headers)
            big_id = client.upload(headers, big_trip, variant(big, "track")).json()["gpx_file_id"]
            client.wait_done(headers, big_id, timeout=120)
            client.wait_done(headers, file_id, timeout=120)
            paths = {
                "GET /gpx/{id}/status": f"/gpx/{file_id}/status",
                "GET /trips/{id}/gpx": f"/trips/{trip}/gpx",
                f"GET /gpx/{{id}}/track ({upload_mb:g} MB)": f"/gpx/{file_id}/track",
                f"GET /gpx/{{id}}/track ({track_mb:g} MB)": f"/gpx/{big_id}/track",
            }
            read_batches = _reads(client, headers, paths, reads, meter)
            stack.stop_workers()

            client = stack.start_api(celery_enabled="false", **overrides)
            assert stack.api is not None
            meter.groups["api"] = tree(stack.api.pid)
            headers = client.signup()
            trip = client.trip(headers)
            _upload_batch(stack, client, headers, trip, small, 2, meter, r)  # warm-up
            by_size = {}
            for size, count in in_process.items():
                data = ensure_file(size).read_bytes()
                by_size[size] = _upload_batch(stack, client, headers, trip, data, count, meter, r)
            return StackResults(
                upload_mb, celery, accept_mb, big_batch, idle, read_batches, by_size,
                keys_after, memory_per_job,
            )  # fmt: skip
        finally:
            stack.close()
            r.close()
