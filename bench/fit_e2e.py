"""FIT end to end: a 10 MB FIT against a 10 MB GPX, the decoder's floor, a worker on 50 MB.

Run: ``python -m bench.fit_e2e [--repeat N] [--no-worker]``. In one run, side by side:

1. ``summarize`` (parse, glitches, statistics, simplification, profile: what a job runs) of
   the 10 MB FIT of bench/fitgen.py and of the 10 MB GPX of bench/gpxgen.py (the same
   simulated kind of ride; the FIT holds about eleven times the points in the same bytes);
2. the floor for FIT: the chosen decoder's bare decode of the same bytes (``fitfast.records``
   of the record, session and file_id messages, as our parser asks them) plus our statistics
   on the parsed track (glitches + stats + simplification + profile, timed alone); and
   garmin-fit-sdk's bare decode (the recovery path) for scale;
3. with ``BenchStack`` (PostgreSQL + Redis + one real Celery worker, as bench/e2e.py): the
   pool child's peak RSS (VmHWM) while it processes a 50 MB FIT uploaded over HTTP. The 50 MB
   file holds 1.67 million records, over the default 1 million point cap, so this worker runs
   with GPX_MAX_POINTS=2000000 to measure the processing rather than the refusal (and long
   time limits: a file over domain/fit.FAST_MAX_BYTES streams through garmin-fit-sdk).

Medians of ``--repeat`` runs; no assertions, figures only.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fitfast
from garmin_fit_sdk import Decoder, Stream

from bench.domain import machine
from bench.fitgen import ensure_fit
from bench.gpxgen import ensure_file
from contravento.domain import summarize
from contravento.domain.fit import parse_fit
from contravento.domain.glitches import remove_glitches
from contravento.domain.profile import track_profile
from contravento.domain.simplify import simplify
from contravento.domain.stats import compute_stats

FIT_SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "fit"


def _median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ours_after_parse(track: Any) -> None:
    clean, removed = remove_glitches(track)
    compute_stats(clean, glitch_point_count=removed)
    simplify(clean)
    track_profile(clean)


def _fitfast_bare(data: bytes) -> None:
    fitfast.records(data, message="file_id")
    fitfast.records(data)
    fitfast.records(data, message="session")


def _sdk_bare(data: bytes) -> None:
    Decoder(Stream.from_byte_array(bytearray(data))).read(
        convert_datetimes_to_dates=False, expand_sub_fields=False,
        expand_components=False, merge_heart_rates=False,
    )  # fmt: skip


def domain(repeat: int) -> None:
    fit = ensure_fit(10.0).read_bytes()
    gpx = ensure_file(10.0).read_bytes()
    track = parse_fit(fit, max_points=2_000_000)
    fit_points = summarize(fit).stats.point_count
    gpx_points = summarize(gpx).stats.point_count
    rows = [
        ("summarize, 10 MB GPX", len(gpx), gpx_points, _median(lambda: summarize(gpx), repeat)),
        ("summarize, 10 MB FIT", len(fit), fit_points, _median(lambda: summarize(fit), repeat)),
    ]
    bare = _median(lambda: _fitfast_bare(fit), repeat)
    stats = _median(lambda: _ours_after_parse(track), repeat)
    rows += [
        ("  fitfast bare decode (FIT)", len(fit), fit_points, bare),
        ("  our statistics on its track", len(fit), fit_points, stats),
        ("  floor: bare decode + statistics", len(fit), fit_points, bare + stats),
        (
            "garmin-fit-sdk bare decode (FIT)",
            len(fit),
            fit_points,
            _median(lambda: _sdk_bare(fit), 1),
        ),
    ]
    print(f"| what | bytes | points | seconds (median of {repeat}) |")
    print("|---|---|---|---|")
    for name, size, points, seconds in rows:
        print(f"| {name} | {size:,} | {points:,} | {seconds:.3f} |", flush=True)


def _worker_peak(data: bytes) -> dict[str, Any]:
    """A fresh worker, warmed up on a small real FIT, then ``data``: its pool child's VmHWM."""
    from bench.e2e import upload_and_wait
    from bench.stack import BenchStack

    stack = BenchStack("fit-e2e")
    try:
        limits = {"task_soft_time_limit_s": 1500, "task_time_limit_s": 1600}
        (worker,) = stack.start_workers(1, gpx_max_points=2_000_000, **limits)
        client = stack.start_api(celery_enabled="true", celery_force="true",
                                 gpx_max_points=2_000_000)  # fmt: skip
        headers = client.signup()
        trip = client.trip(headers)
        pid = worker.pool_pids()[0]
        warm = (FIT_SAMPLES / "sample-activity.fit").read_bytes()
        upload_and_wait(client, headers, trip, warm, rss_pid=pid)
        return upload_and_wait(client, headers, trip, data, rss_pid=pid, timeout=1500)
    finally:
        stack.close()


def worker_rss() -> None:
    print()
    print("| worker (fresh, warmed on a 0.1 MB FIT) | points | processing s | peak RSS MiB |")
    print("|---|---|---|---|")
    for size in (10.0, 50.0):
        data = ensure_fit(size).read_bytes()
        res = _worker_peak(data)
        # a child past worker_max_memory_per_child (400 MB) is replaced after its task: its
        # VmHWM is gone with it
        peak = f"{res['peak_mib']:.0f}" if res["peak_mib"] > 0 else "> 400 (child recycled)"
        print(f"| {size:g} MB FIT ({len(data):,} bytes) | {res['points']:,} "
              f"| {res['processing_s']:.2f} | {peak} |", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--worker-only", action="store_true")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    if not args.worker_only:
        domain(args.repeat)
    if not args.no_worker:
        worker_rss()


if __name__ == "__main__":
    main()
