"""FIT end to end: a 10 MB FIT against a 10 MB GPX, the decoder's floor, a worker on 50 MB.

Run: ``python -m bench.fit_e2e [--repeat N] [--no-worker]``. In one run, side by side:

1. ``summarize`` (parse, glitches, statistics, simplification, profile: what a job runs) of
   the 10 MB FIT of bench/fitgen.py and of the 10 MB GPX of bench/gpxgen.py (the same
   simulated kind of ride; the FIT holds about eleven times the points in the same bytes);
2. the floor for FIT: the chosen decoder's bare decode of the same bytes (``fitfast.records``
   of the whole file for the record, session and file_id messages: one call per kind, the
   library has no other way) plus our statistics on the parsed track (glitches + stats +
   simplification + profile, timed alone); our own decode (``parse_fit``: domain/fit_split's
   pieces, file_id and sessions from a small file, records chunk by chunk); and
   garmin-fit-sdk's bare decode (the recovery path) for scale;
   and, once, ``parse_fit`` of the 50 MB FIT cut short by a byte (a damaged file: the salvage
   path, garmin-fit-sdk's before: 268 s);
3. with ``BenchStack`` (PostgreSQL + Redis + one real Celery worker, as bench/e2e.py): the
   pool child's peak RSS (VmHWM) while it processes a 50 MB FIT uploaded over HTTP. The 50 MB
   file holds 1.67 million records, over the default 1 million point cap, so this worker runs
   with GPX_MAX_POINTS=2000000 to measure the processing rather than the refusal (and long
   time limits, should the file take the garmin-fit-sdk path). A fresh worker per size.

Medians of ``--repeat`` runs taken in turns (one of each per round: a change of load on the
shared machine weighs on all rows alike); no assertions, figures only.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fitfast
import psutil
from garmin_fit_sdk import Decoder, Stream

from bench.domain import machine
from bench.fitgen import ensure_fit
from bench.gpxgen import ensure_file
from contravento.domain import summarize
from contravento.domain.device_totals import device_report
from contravento.domain.fit import parse_fit
from contravento.domain.glitches import remove_glitches
from contravento.domain.profile import track_profile
from contravento.domain.simplify import simplify
from contravento.domain.stats import compute_stats
from contravento.domain.time_quality import judge_times

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
    """What ``summarize`` runs after the parse (domain/pipeline.py), step for step."""
    times = judge_times(track)
    clean, removed = remove_glitches(times.track)
    stats = compute_stats(clean, glitch_point_count=removed, time_quality=times.quality,
                          dated_start=times.start_time)  # fmt: skip
    simplify(clean)
    track_profile(clean)
    device_report(clean, stats)


def _interleaved(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median seconds of each, the runs taken in turns (one of each per round), so that a
    change of load on a shared machine weighs on all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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
    t = _interleaved(
        {
            "gpx": lambda: summarize(gpx),
            "fit": lambda: summarize(fit),
            "ours": lambda: parse_fit(fit, max_points=2_000_000),
            "bare": lambda: _fitfast_bare(fit),
            "stats": lambda: _ours_after_parse(track),
        },
        repeat,
    )
    rows = [
        ("summarize, 10 MB GPX", len(gpx), gpx_points, t["gpx"]),
        ("summarize, 10 MB FIT", len(fit), fit_points, t["fit"]),
        ("  our decode (parse_fit: pieces)", len(fit), fit_points, t["ours"]),
        ("  fitfast bare decode, whole file (FIT)", len(fit), fit_points, t["bare"]),
        ("  our statistics on its track (the rest of summarize)", len(fit), fit_points, t["stats"]),
        ("  floor: bare decode + statistics", len(fit), fit_points, t["bare"] + t["stats"]),
        (
            "garmin-fit-sdk bare decode (FIT)",
            len(fit),
            fit_points,
            _median(lambda: _sdk_bare(fit), 1),
        ),
    ]
    big = ensure_fit(50.0).read_bytes()[:-1]  # cut short by a byte: damaged
    start = time.perf_counter()
    salvaged = parse_fit(big, max_points=2_000_000)
    rows.append((f"parse_fit, 50 MB FIT cut short ({', '.join(salvaged.parse_warnings)})",
                 len(big), salvaged.point_count, time.perf_counter() - start))  # fmt: skip
    print(f"| what | bytes | points | seconds (median of {repeat}) |")
    print("|---|---|---|---|")
    for name, size, points, seconds in rows:
        print(f"| {name} | {size:,} | {points:,} | {seconds:.3f} |", flush=True)


class _PeakSampler(threading.Thread):
    """VmHWM of a process read every 50 ms: the figure survives Celery replacing a child past
    ``worker_max_memory_per_child`` (400 MB) right after its task."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        from bench.stack import peak_rss_mib

        while not self.done.wait(0.05):
            try:
                self.peak = max(self.peak, peak_rss_mib(self.pid))
            except (OSError, psutil.Error):
                return  # the child is gone: its last figure stands


def _worker_peak(data: bytes) -> dict[str, Any]:
    """A fresh worker, warmed up on a small real FIT, then ``data``: its pool child's VmHWM."""
    from bench.e2e import upload_and_wait
    from bench.stack import BenchStack, reset_peak_rss

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
        reset_peak_rss(pid)
        sampler = _PeakSampler(pid)
        sampler.start()
        try:
            res = upload_and_wait(client, headers, trip, data, rss_pid=pid, timeout=1500)
        finally:
            sampler.done.set()
            sampler.join()
        res["sampled_peak_mib"] = sampler.peak
        time.sleep(2)  # time for Celery to replace a child past its memory limit
        res["recycled"] = pid not in worker.pool_pids()
        return res
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
        # VmHWM is gone with it, the sampler's last reading stands
        peak = f"{max(res['peak_mib'], res['sampled_peak_mib']):.0f}"
        if res["recycled"]:
            peak += " (sampled; child replaced after the task, past 400 MB)"
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
