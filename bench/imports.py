"""Bulk import end to end: a zip of 200 activities (about 100 MB) on two real workers.

`python -m bench.imports [--activities 200] [--deflate] [--no-baseline]`

The archive: the GPX files of tests/data/samples (all but the one of 2.2 MB), cycled, each
made unique by a trailing comment (so no member is a duplicate), stored in a zip (by default
uncompressed: the body on the wire is the ~100 MB; `--deflate` compresses it). The stack: a
uvicorn API, two Celery workers (concurrency 1 each), PostgreSQL and Redis (bench/stack.py).

Measured, in the same run:
- **zip**: the archive uploaded once: the API's time to answer 202, the time until the
  import is `completed` (every member a file and a job), and the wall time until every member's
  job is `completed`; files/s = activities / wall time.
- **baseline**: the same activities uploaded one by one (what a cyclist does without bulk
  import), by one client, to the same workers (CELERY_FORCE): wall time from the first upload
  to the last job completed, and the median 202.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import time
import zipfile
from pathlib import Path
from typing import Any

import psutil

from bench.stack import BenchStack, versions
from tests.live import Client

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "samples"
SKIP = {"movescount-viking-gpx10-two-overlapping-tracks.gpx"}  # 2.2 MB: keeps the mean ~0.55 MB


def activities(count: int) -> list[tuple[str, bytes]]:
    files = sorted(p for p in SAMPLES.glob("*.gpx") if p.name not in SKIP)
    out = []
    for i in range(count):
        source = files[i % len(files)]
        data = source.read_bytes().rstrip() + f"\n<!-- bench import {i} -->\n".encode()
        out.append((f"export_bench/activities/{i:04d}-{source.stem}.gpx", data))
    return out


def build(members: list[tuple[str, bytes]], deflate: bool) -> bytes:
    out = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
        archive.writestr("export_bench/activities.csv", b"Activity ID,Activity Name\n")
    return out.getvalue()


def _statuses(client: Client, headers: dict[str, str], trip: str) -> dict[str, int]:
    listed = client.http.get(f"/trips/{trip}/gpx", headers=headers).json()
    counts: dict[str, int] = {}
    for item in listed:
        counts[item["processing_status"]] = counts.get(item["processing_status"], 0) + 1
    return counts


def _wait_all(
    client: Client, headers: dict[str, str], trip: str, count: int, timeout: float = 900
) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = _statuses(client, headers, trip)
        if counts.get("completed", 0) + counts.get("failed", 0) >= count:
            return counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done in {timeout}s: {counts}")
        time.sleep(0.25)


def run_zip(client: Client, data: bytes, count: int) -> dict[str, Any]:
    headers = client.signup()
    trip = client.trip(headers)
    started = time.perf_counter()
    r = client.upload(headers, trip, data, name="export.zip")
    api_202 = time.perf_counter() - started
    assert r.status_code == 202, r.text
    import_id = r.json()["import_id"]
    while True:
        report = client.http.get(f"/imports/{import_id}", headers=headers).json()
        if report["status"] in ("completed", "failed"):
            break
        time.sleep(0.1)
    expanded = time.perf_counter() - started
    assert report["status"] == "completed", report
    assert len(report["created"]) == count, (len(report["created"]), report["skipped"][:3])
    counts = _wait_all(client, headers, trip, count)
    wall = time.perf_counter() - started
    return {"api_202_s": api_202, "expanded_s": expanded, "wall_s": wall, "counts": counts}


def run_baseline(client: Client, members: list[tuple[str, bytes]]) -> dict[str, Any]:
    headers = client.signup()
    trip = client.trip(headers)
    started = time.perf_counter()
    answers = []
    for name, data in members:
        t0 = time.perf_counter()
        r = client.upload(headers, trip, data, name=name.rsplit("/", 1)[-1])
        answers.append(time.perf_counter() - t0)
        assert r.status_code == 202, r.text
    uploaded = time.perf_counter() - started
    counts = _wait_all(client, headers, trip, len(members))
    wall = time.perf_counter() - started
    return {
        "api_202_s": statistics.median(answers),
        "uploaded_s": uploaded,
        "wall_s": wall,
        "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=200)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    members = activities(args.activities)
    data = build(members, args.deflate)
    inflated = sum(len(d) for _, d in members)
    cpu = platform.processor() or platform.machine()
    print(
        f"Machine: {cpu}, {psutil.cpu_count()} cores, Python {platform.python_version()}, "
        f"{versions()}"
    )
    print(
        f"Input: {args.activities} GPX activities, {inflated / 1e6:.1f} MB, in a zip of "
        f"{len(data) / 1e6:.1f} MB ({'deflated' if args.deflate else 'stored'}); "
        "2 Celery workers (concurrency 1 each, WORKER_NICE=0)"
    )
    stack = BenchStack("imports")
    rows = []
    try:
        # WORKER_NICE=0: on this shared VM a niced worker waits behind every other process
        stack.start_workers(2, worker_nice=0)
        common = {"max_pending_jobs_per_user": 100_000, "celery_enabled": "true"}
        client = stack.start_api(**common)
        zipped = run_zip(client, data, args.activities)
        rows.append(("one zip (bulk import)", zipped))
        if not args.no_baseline:
            client = stack.start_api(**common, celery_force="true")
            rows.append(("baseline: one upload per file", run_baseline(client, members)))
    finally:
        stack.close()
    print()
    print("| run | API time to 202 | members created | all jobs completed | files/s | jobs |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        created = f"{r['expanded_s']:.1f} s" if "expanded_s" in r else f"{r['uploaded_s']:.1f} s*"
        median = "" if "expanded_s" in r else " (median)"
        print(
            f"| {label} | {r['api_202_s'] * 1000:.0f} ms{median} | {created} | "
            f"{r['wall_s']:.1f} s | {args.activities / r['wall_s']:.1f} | {r['counts']} |"
        )
    if len(rows) == 2:
        print("\n* baseline: the time to send every upload (each file its own request).")
        print(f"zip / baseline wall time: {rows[0][1]['wall_s'] / rows[1][1]['wall_s']:.2f}")


if __name__ == "__main__":
    main()
