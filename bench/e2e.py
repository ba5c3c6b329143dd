"""End-to-end benchmark on the real stack, with the baseline pipeline side by side.

Run from the repository root: ``python -m bench.e2e`` (``make bench`` does). It needs
PostgreSQL (``BENCH_PG_DSN``, default ``postgresql://postgres@127.0.0.1:5432/test``; a
database is created for the run and dropped afterwards) and Redis (127.0.0.1:6379, database
``BENCH_REDIS_DB``=15, flushed before and after).

What runs: one uvicorn API process and one Celery worker (prefork, concurrency 1) started as
subprocesses (``tests/live.py``), APP_ENV=production. For each mode the API is restarted with
the routing forced by settings: ``in-process`` = ``CELERY_ENABLED=false``, ``celery`` =
``CELERY_FORCE=true``. Each size (1, 5, 10, 50 MB from ``bench/gpxgen.py``, seed 0) is
uploaded ``--runs`` times over HTTP, each upload with distinct bytes (a comment appended after
the root element, so no duplicate 200s). Per upload:

- **e2e**: upload request start (client clock) -> ``finished_at`` of the job row (written by
  the process that ran the job, read back from the database through the status endpoint);
- **poll**: when a client that polls ``GET /gpx/{id}/status`` every 250 ms after the 202 sees
  ``completed`` (it really polls);
- **202**: the upload request's latency; **processing**: ``started_at`` -> ``finished_at``;
- **peak RSS**: the VmHWM of the process that ran the job (the API for in-process, the pool
  child for Celery), reset to its current RSS before each upload.

Then the **baseline** (``bench/baseline_task.py``: gpxpy.parse + gpxpy statistics + gpxpy
simplify + one ORM INSERT per trackpoint, into the bench's own copy of the per-point table)
runs in the same worker on the files stored by the
Celery runs. Baseline end to end = the same upload's 202 latency (storing the file and the row
is the same in both designs) + enqueue -> baseline task finished. Figures only; no assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime
from typing import Any

import numpy as np
from celery import Celery

from bench.domain import machine
from bench.gpxgen import DEFAULT_SIZES_MB, ensure_file
from bench.stack import BenchStack, peak_rss_mib, reset_peak_rss, versions
from tests.live import Client

POLL_S = 0.25
MODES = {
    "in-process": {"celery_enabled": "false"},
    "celery": {"celery_enabled": "true", "celery_force": "true"},
}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def variant(data: bytes, tag: str) -> bytes:
    """Distinct bytes with the same content: an XML comment after the root element. The ride
    is the same: upload each variant to a trip of its own (else it fails DUPLICATE_RIDE)."""
    return data + f"<!-- bench {tag} {time.time_ns()} -->\n".encode()


def upload_and_wait(
    client: Client,
    headers: dict[str, str],
    trip_id: str,
    data: bytes,
    *,
    rss_pid: int | None = None,
    timeout: float = 300,
) -> dict[str, Any]:
    if rss_pid is not None:
        reset_peak_rss(rss_pid)
    t0 = time.time()
    r = client.upload(headers, trip_id, data, name="ride.gpx")
    t202 = time.time()
    if r.status_code != 202:
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:300]}")
    file_id = str(r.json()["gpx_file_id"])
    deadline = t202 + timeout
    while True:
        time.sleep(POLL_S)
        body = client.status(headers, file_id)
        if body["processing_status"] in ("completed", "failed"):
            seen = time.time()
            break
        if time.time() > deadline:
            raise RuntimeError(f"not finished in {timeout}s: {body}")
    if body["processing_status"] != "completed":
        raise RuntimeError(f"job failed: {body['error_code']} {body['error_message']}")
    finished = _ts(body["finished_at"])
    return {
        "id": file_id,
        "mode": r.json()["processing_mode"],
        "t0": t0,
        "accept_s": t202 - t0,
        "e2e_s": finished - t0,
        "poll_s": seen - t0,
        "processing_s": finished - _ts(body["started_at"]),
        "queue_s": _ts(body["started_at"]) - t202,
        "peak_mib": peak_rss_mib(rss_pid) if rss_pid is not None else float("nan"),
        "points": body["stats"]["point_count"] if body.get("stats") else None,
    }


def _fmt3(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {pct(values, 95):.3f}"


def run(sizes: list[float], runs: int, baseline_runs: int, with_baseline: bool) -> None:
    print(f"Machine: {machine()}, {versions()}")
    print(
        f"Stack: 1 uvicorn API process, 1 Celery worker (prefork -c 1), PostgreSQL + Redis on "
        f"localhost; {runs} runs per cell; client polls every {POLL_S * 1000:.0f} ms."
    )
    files = {size: ensure_file(size).read_bytes() for size in sizes}
    stack = BenchStack("e2e")
    results: dict[tuple[float, str], list[dict[str, Any]]] = {}
    try:
        (worker,) = stack.start_workers(1)
        for mode, overrides in MODES.items():
            client = stack.start_api(**overrides)
            assert stack.api is not None
            headers = client.signup()
            rss_pid = stack.api.pid if mode == "in-process" else worker.pool_pids()[0]
            # warm-up: imports, pools and caches of the API and the worker
            for _ in range(2):
                warm = variant(files[sizes[0]], "warm")
                upload_and_wait(client, headers, client.trip(headers), warm)
            for size in sizes:
                cell = results.setdefault((size, mode), [])
                for i in range(runs):
                    data = variant(files[size], f"{mode} {i}")
                    # a trip each: the same ride twice in one trip is a duplicate
                    trip_id = client.trip(headers)
                    res = upload_and_wait(client, headers, trip_id, data, rss_pid=rss_pid)
                    if res["mode"] != ("background" if mode == "in-process" else "celery"):
                        raise RuntimeError(f"routed to {res['mode']} in mode {mode}")
                    cell.append(res)
            stack.stop_api()

        print()
        print("End to end (seconds; min / median / p95, p95 by linear interpolation):")
        print()
        header = (
            "| size | points | mode | upload→finished_at (DB) | client polling 250 ms "
            "| 202 median | 202→started median | processing median | peak RSS MiB (max) |"
        )
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for size in sizes:
            for mode in MODES:
                cell = results[(size, mode)]
                print(
                    f"| {size:g} MB | {cell[0]['points']:,} | {mode} "
                    f"| {_fmt3([c['e2e_s'] for c in cell])} "
                    f"| {_fmt3([c['poll_s'] for c in cell])} "
                    f"| {statistics.median(c['accept_s'] for c in cell):.3f} "
                    f"| {statistics.median(c['queue_s'] for c in cell):.3f} "
                    f"| {statistics.median(c['processing_s'] for c in cell):.3f} "
                    f"| {max(c['peak_mib'] for c in cell):.0f} |",
                    flush=True,
                )

        if with_baseline:
            _baseline(stack, sizes, results, baseline_runs, worker.pool_pids()[0])
    finally:
        stack.close()


def _baseline(
    stack: BenchStack,
    sizes: list[float],
    results: dict[tuple[float, str], list[dict[str, Any]]],
    runs: int,
    worker_pid: int,
) -> None:
    from bench.baseline_task import TASK_NAME

    celery = Celery("bench-client", broker=stack.redis_url, backend=stack.redis_url)
    print()
    print(
        "Side by side, same worker process, same stored files (Celery runs above). Baseline = "
        "gpxpy.parse + gpxpy stats + gpxpy simplify(5 m) + one ORM INSERT per kept point. "
        f"Baseline runs: {runs} per size (1 at 50 MB). Medians, seconds."
    )
    print()
    header = (
        "| size | ours e2e | baseline e2e | baseline / ours e2e | ours processing "
        "| baseline processing | baseline / ours processing "
        "| baseline parse+stats / simplify / inserts | kept points | ours / baseline peak MiB |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in sizes:
        ours = results[(size, "celery")]
        n = 1 if size >= 50 else runs
        rows = []
        for run in ours[:n]:
            dispatched = time.time()
            res: dict[str, Any] = celery.send_task(
                TASK_NAME, args=[run["id"]], queue=stack.queue
            ).get(timeout=900)
            rows.append(
                {
                    "e2e_s": run["accept_s"] + res["finished"] - dispatched,
                    "processing_s": res["finished"] - res["started"],
                    "parse_s": res["parsed"] - res["started"],
                    "simplify_s": res["simplified"] - res["parsed"],
                    "insert_s": res["finished"] - res["simplified"],
                    "kept": res["kept"],
                    "peak_mib": res["peak_mib"],
                }
            )
        ours_kept = stack.query(
            "SELECT point_count FROM gpx_tracks WHERE gpx_file_id = $1::uuid", ours[-1]["id"]
        )[0][0]
        ours_e2e = statistics.median(c["e2e_s"] for c in ours)
        ours_proc = statistics.median(c["processing_s"] for c in ours)
        base_e2e = statistics.median(r["e2e_s"] for r in rows)
        base_proc = statistics.median(r["processing_s"] for r in rows)
        print(
            f"| {size:g} MB | {ours_e2e:.3f} | {base_e2e:.2f} | {base_e2e / ours_e2e:.1f}x "
            f"| {ours_proc:.3f} | {base_proc:.2f} | {base_proc / ours_proc:.1f}x "
            f"| {statistics.median(r['parse_s'] for r in rows):.2f} / "
            f"{statistics.median(r['simplify_s'] for r in rows):.2f} / "
            f"{statistics.median(r['insert_s'] for r in rows):.2f} "
            f"| {ours_kept:,} / {rows[0]['kept']:,} "
            f"| {max(c['peak_mib'] for c in ours):.0f} / {max(r['peak_mib'] for r in rows):.0f} |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", nargs="*", type=float, default=list(DEFAULT_SIZES_MB))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    run(args.sizes, args.runs, args.baseline_runs, not args.no_baseline)


if __name__ == "__main__":
    main()
