"""Load benchmark: 100 concurrent uploads from 10 users against the API with 2 Celery workers.

Run from the repository root: ``python -m bench.load`` (``make bench`` does); same services as
``bench/e2e.py`` (a PostgreSQL database of its own, Redis database 15).

The stack: one uvicorn API process and two Celery workers (prefork, concurrency 1 each),
APP_ENV=production, ``MAX_PENDING_JOBS_PER_USER=100`` (the default 20 would answer 429 to a
user with more than 20 jobs pending; each simulated user sends 10 at once, so 20 would do too,
but the bench should measure speed, not the quota). Files: 80 of at most 1 MB (30 x 0.25,
30 x 0.5, 20 x 1 MB), 15 of 5 MB and 5 of 10 MB from ``bench/gpxgen.py``, each made distinct
by an appended comment, shuffled (seed 0) and dealt to 10 users (10 each, one trip per user).
All 100 requests start together (one asyncio aiohttp client, 100 connections).

Two routings, each on a fresh API and fresh workers:
- ``default``: the shipped settings (``GPX_ASYNC_THRESHOLD_MB=5``: files above 5 MiB, here the
  10 MB ones, go to Celery; the rest run in-process in the API);
- ``all-celery``: ``CELERY_FORCE=true``, every file goes to the two workers.

Printed: 202 latency p50/p95/max, time from the start of the burst until the last
``finished_at`` (database), errors (non-202 answers, exceptions, failed jobs), tasks per worker
(``processed_by``), ``/health`` latency p50/p95/max from a separate client process polling
every 50 ms during the load, the API's and workers' peak RSS (VmHWM reset before the
burst), and the CPU seconds the API, the workers, PostgreSQL and the client used during it.
``--client aiohttp httpx`` repeats each routing with each load client (default aiohttp; httpx was
the client of the first measurements and needs 4x its CPU on the same two cores);
``--worker-nice 0 10`` repeats each routing with that ``WORKER_NICE`` (the shipped default is 10:
workers give way to the API for the CPU; 0 runs them at the API's priority); ``--py-spy PREFIX``
records the API with py-spy (raw collapsed stacks). Figures only; no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import random
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import psutil

from bench.domain import machine
from bench.e2e import pct, variant
from bench.gpxgen import ensure_file
from bench.stack import BenchStack, peak_rss_mib, reset_peak_rss, versions

MIX: list[tuple[float, int]] = [(0.25, 30), (0.5, 30), (1.0, 20), (5.0, 15), (10.0, 5)]
USERS = 10
ROUTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "all-celery": {"celery_force": "true"},
}


def _health_prober(url: str, stop: Any, out: Any) -> None:
    """Separate process: GET /health every 50 ms until told to stop; send the latencies."""
    latencies: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = http.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += 0 if ok else 1
            time.sleep(0.05)
    out.put((latencies, errors))


# A client: an async context manager (base URL, connection count) that yields
# post(headers, trip_id, data) -> (HTTP status, gpx_file_id of a 202 or None).
Post = Callable[[dict[str, str], str, bytes], Awaitable[tuple[int, str | None]]]


@contextlib.asynccontextmanager
async def _aiohttp_client(url: str, connections: int) -> AsyncIterator[Post]:
    """aiohttp (C HTTP parser) rather than httpx (pure-Python h11): this client shares the
    machine's two cores with the API, and httpx needed 0.4-0.5 s of CPU to send the burst
    against aiohttp's 0.1 s."""
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:

        async def post(headers: dict[str, str], trip_id: str, data: bytes) -> tuple[int, Any]:
            form = aiohttp.FormData()
            form.add_field("file", data, filename="ride.gpx")
            async with http.post(f"/trips/{trip_id}/gpx", data=form, headers=headers) as r:
                body = await r.json() if r.status == 202 else {}
                return r.status, body.get("gpx_file_id")

        yield post


@contextlib.asynccontextmanager
async def _httpx_client(url: str, connections: int) -> AsyncIterator[Post]:
    """The client of the first measurements (`--client httpx`)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def post(headers: dict[str, str], trip_id: str, data: bytes) -> tuple[int, Any]:
            files = {"file": ("ride.gpx", data)}
            r = await http.post(f"/trips/{trip_id}/gpx", files=files, headers=headers)
            return r.status_code, r.json().get("gpx_file_id") if r.status_code == 202 else None

        yield post


CLIENTS = {"aiohttp": _aiohttp_client, "httpx": _httpx_client}


async def _burst(
    client: str, url: str, users: list[tuple[dict[str, str], str]], jobs: list[tuple[int, bytes]]
) -> list[dict[str, Any]]:
    """All uploads at once, one connection each."""
    async with CLIENTS[client](url, len(jobs)) as post:

        async def one(user: int, data: bytes) -> dict[str, Any]:
            headers, trip_id = users[user]
            started = time.perf_counter()
            try:
                status, file_id = await post(headers, trip_id, data)
            except (aiohttp.ClientError, httpx.HTTPError, TimeoutError) as exc:
                return {"status": repr(exc), "latency": time.perf_counter() - started}
            return {"status": status, "latency": time.perf_counter() - started, "id": file_id}

        return await asyncio.gather(*(one(u, d) for u, d in jobs))


def _cpu(api_pid: int, worker_pids: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of the API, the workers, PostgreSQL and this client."""

    def secs(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)

    postgres = sum(
        secs(p) for p in psutil.process_iter(["name"]) if (p.info["name"] or "") == "postgres"
    )
    return {
        "api": secs(psutil.Process(api_pid)),
        "workers": sum(secs(psutil.Process(pid)) for pid in worker_pids),
        "postgres": postgres,
        "client": secs(psutil.Process()),
    }


def run_load(
    stack: BenchStack,
    routing: str,
    overrides: dict[str, str],
    py_spy: str | None = None,
    nice: int = 10,
    client_name: str = "aiohttp",
) -> dict[str, Any]:
    workers = stack.start_workers(2, worker_nice=nice)
    client = stack.start_api(max_pending_jobs_per_user=100, **overrides)
    assert stack.api is not None
    users = []
    for _ in range(USERS):
        headers = client.signup()
        users.append((headers, client.trip(headers)))
    base = {size: ensure_file(size).read_bytes() for size, _ in MIX}
    sizes = [size for size, count in MIX for _ in range(count)]
    random.Random(0).shuffle(sizes)
    jobs = [(i % USERS, variant(base[size], f"load {routing} {i}")) for i, size in enumerate(sizes)]
    # warm the API and both workers once so the burst measures steady state
    for _ in range(2):
        client.upload(users[0][0], users[0][1], variant(base[0.25], "warm"))
    time.sleep(2.0)

    api_pid = stack.api.pid
    worker_pids = [w.pool_pids()[0] for w in workers]
    for pid in [api_pid, *worker_pids]:
        reset_peak_rss(pid)
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    prober = ctx.Process(target=_health_prober, args=(stack.api.url, stop, out))
    prober.start()
    spy = None
    if py_spy:  # profile the API during the burst (collapsed stacks, for flame graphs)
        out_file = f"{py_spy}-{routing}-api.txt"
        # --nonblocking: the API is not paused per sample; --gil: only what holds the GIL
        spy_args = ["record", "-p", str(api_pid), "-r", "250", "-f", "raw", "--nonblocking"]
        spy = subprocess.Popen(
            ["py-spy", *spy_args, "--gil", "-o", out_file],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(1.0)
    cpu_before = _cpu(api_pid, worker_pids)
    start = time.time()
    answers = asyncio.run(_burst(client_name, stack.api.url, users, jobs))
    ids = [a["id"] for a in answers if a.get("id")]
    deadline = time.time() + 300
    while time.time() < deadline:
        pending = stack.query(
            "SELECT count(*) FROM gpx_files WHERE id = ANY($1::uuid[]) "
            "AND processing_status IN ('pending', 'processing')",
            ids,
        )[0][0]
        if pending == 0:
            break
        time.sleep(0.25)
    cpu = {k: v - cpu_before[k] for k, v in _cpu(api_pid, worker_pids).items()}
    stop.set()
    if spy is not None:
        spy.send_signal(2)
        spy.wait(timeout=30)
    latencies, health_errors = out.get(timeout=30)
    prober.join(timeout=10)
    rows = stack.query(
        "SELECT processing_status, processing_mode, processed_by, finished_at "
        "FROM gpx_files WHERE id = ANY($1::uuid[])",
        ids,
    )
    per_worker: dict[str, int] = {}
    for row in rows:
        who = row["processed_by"] or "API (in-process)"
        per_worker[who.split("@")[0]] = per_worker.get(who.split("@")[0], 0) + 1
    finished = [r["finished_at"].timestamp() for r in rows if r["finished_at"] is not None]
    result = {
        "routing": routing,
        "nice": nice,
        "client": client_name,
        "accepted": len(ids),
        "latencies": [a["latency"] for a in answers],
        "errors": sum(1 for a in answers if a["status"] != 202)
        + sum(1 for r in rows if r["processing_status"] != "completed"),
        "all_done_s": (max(finished) - start) if finished else float("nan"),
        "per_worker": per_worker,
        "health": latencies,
        "health_errors": health_errors,
        "api_peak_mib": peak_rss_mib(api_pid),
        "worker_peak_mib": max(peak_rss_mib(pid) for pid in worker_pids),
        "cpu": cpu,
    }
    stack.stop_api()
    stack.stop_workers()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--routing", nargs="*", choices=list(ROUTINGS), default=list(ROUTINGS))
    parser.add_argument("--py-spy", metavar="PREFIX", help="record the API with py-spy")
    parser.add_argument(
        "--worker-nice",
        nargs="*",
        type=int,
        default=[10],
        help="WORKER_NICE of the two workers (each value is a separate run; default 10, "
        "the shipped default)",
    )
    parser.add_argument(
        "--client",
        nargs="*",
        choices=list(CLIENTS),
        default=["aiohttp"],
        help="load client(s), each a separate run (default aiohttp)",
    )
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}, {versions()}")
    total = sum(count for _, count in MIX)
    mix = ", ".join(f"{count} x {size:g} MB" for size, count in MIX)
    print(
        f"Load: {total} uploads at once from {USERS} users ({mix}); 1 API process, 2 Celery "
        "workers (prefork -c 1); MAX_PENDING_JOBS_PER_USER=100."
    )
    results = []
    for routing in args.routing:
        for nice in args.worker_nice:
            for client in args.client:
                stack = BenchStack("load")
                try:
                    overrides = ROUTINGS[routing]
                    results.append(run_load(stack, routing, overrides, args.py_spy, nice, client))
                finally:
                    stack.close()
    print()
    header = (
        "| routing | worker nice | client | accepted | errors | 202 p50 / p95 / max s "
        "| all completed s | tasks per worker | /health p50 / p95 / max ms (n) | API peak RSS MiB "
        "| worker peak RSS MiB | CPU s: API / workers / PostgreSQL / client |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        lat = r["latencies"]
        health = [h * 1000 for h in r["health"]]
        workers = ", ".join(f"{k}: {v}" for k, v in sorted(r["per_worker"].items()))
        print(
            f"| {r['routing']} | {r['nice']} | {r['client']} | {r['accepted']} | {r['errors']} "
            f"| {statistics.median(lat):.3f} / {pct(lat, 95):.3f} / {max(lat):.3f} "
            f"| {r['all_done_s']:.1f} | {workers} "
            f"| {statistics.median(health):.0f} / {pct(health, 95):.0f} / {max(health):.0f} "
            f"({len(health)}, {r['health_errors']} errors) "
            f"| {r['api_peak_mib']:.0f} | {r['worker_peak_mib']:.0f} "
            f"| {' / '.join(f'{v:.1f}' for v in r['cpu'].values())} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
