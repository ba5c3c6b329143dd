"""Capacity units measured on this machine, and the model built from them.

Run from the repository root: ``python -m bench.capacity`` (``make bench`` does; about two
minutes). It needs PostgreSQL (``BENCH_PG_DSN``, default
``postgresql://postgres@127.0.0.1:5432/test``; a database is created for the run and dropped
afterwards) and ``redis-server`` on the PATH (one is started on a free port for the run).
Inputs are bench/gpxgen.py rides (seed 0) and the real samples under tests/data/samples.

1. The job, in this process (bench/capacity_db.py): CPU per job and per MB for each size
   class (claim + read, domain, final transaction; this process and the PostgreSQL backend),
   and the kept points stored three ways side by side: a row per point (gpx_trackpoints,
   the product's layout before gpx_tracks) against one row per file (packed arrays: the
   product's gpx_tracks; pre-rendered GeoJSON): bytes on disk with indexes, the final
   transaction's CPU and time, and the read of the track.
2. The service (bench/capacity_stack.py): a uvicorn API, a Celery worker, PostgreSQL and a
   redis-server of its own: API CPU per upload, real worker CPU per job, PostgreSQL CPU,
   Redis commands per job, idle costs, API CPU per read request, API CPU per upload when it
   processes the file itself.
3. S3 requests per upload, processing, download and delete (bench/s3_requests.py): by design
   from the S3 backend's code, and counted against a moto_server when that backend is here.
4. Kept points of real recordings (how many points a file leaves in the database).
5. The model (bench/capacity_model.py): 10,000, 100,000 and 1,000,000 uploads a day.

Figures only; no assertions. CPU is process CPU time (user + system), not wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path

from bench import capacity_db, capacity_model, capacity_stack, s3_requests
from bench.capacity_model import ClassUnits, Units
from bench.domain import machine
from bench.gpxgen import ensure_file
from bench.stack import BenchStack, versions
from contravento.config import Settings
from contravento.domain import GPXError, summarize

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "samples"
DEFAULT_CLASSES = {0.1: 100, 1.0: 40, 5.0: 12, 10.0: 8, 50.0: 3}


def _table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)
    print()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _section_db(classes: dict[float, int], reads: int) -> capacity_db.DbResults:
    stack = BenchStack("capdb")
    try:
        with tempfile.TemporaryDirectory(prefix="cv-capacity-") as storage:
            samples = sorted(SAMPLES.glob("*.gpx"))
            return asyncio.run(
                capacity_db.run(stack.database_url, Path(storage), classes, reads, samples)
            )
    finally:
        stack.close()


def _print_db(db: capacity_db.DbResults) -> None:
    print("## 1. The job, in one process (worker side = this process; PG = its backend)")
    print()
    rows = []
    for c in db.classes:
        mb = c.file_bytes / 1e6
        job = c.job_cpu_s()
        rows.append([
            f"{c.size_mb:g} MB", f"{c.points:,}", f"{c.kept:,}", str(c.jobs),
            _ms(c.claim_read_self_s), _ms(c.domain_s), _ms(c.layouts["packed"].write_self_s),
            _ms(job), f"{job / mb:.3f}", _ms(c.pg_cpu_s()),
            _ms(c.layouts["packed"].write_wall_s),
        ])  # fmt: skip
    _table(
        ["size", "points", "kept", "jobs", "claim+read CPU ms", "domain CPU ms",
         "final txn CPU ms", "job CPU ms", "job CPU s / MB", "PG backend CPU ms / job",
         "final txn wall ms (median)"],
        rows,
    )  # fmt: skip
    print(
        f"Metadata per upload (gpx_files + gpx_route_stats, indexes included): "
        f"{db.meta_bytes_written:,.0f} B as the job leaves it (dead versions of its updates), "
        f"{db.meta_bytes_live:,.0f} B live (after VACUUM FULL)."
    )
    print()
    print(
        "### Kept points: a row per point (before gpx_tracks) vs a row per file (packed: the "
        "product's gpx_tracks), side by side "
        f"(TOAST compression {db.toast_compression})"
    )
    print()
    rows = []
    for c in db.classes:
        base = c.layouts["rows"]
        for name in capacity_db.LAYOUTS:
            lay = c.layouts[name]
            per_k = lay.bytes_per_file / max(c.kept, 1) * 1000
            rows.append([
                f"{c.size_mb:g} MB ({c.kept:,} kept)", name, f"{lay.bytes_per_file:,.0f}",
                f"{per_k:,.0f}", f"{base.bytes_per_file / max(lay.bytes_per_file, 1):.1f}x",
                _ms(lay.write_self_s), _ms(lay.write_pg_s), _ms(lay.write_wall_s),
                f"{lay.read_wall_ms:.2f}", f"{lay.read_self_ms:.2f}", f"{lay.read_pg_ms:.2f}",
                f"{lay.encode_ms:.2f}", f"{base.read_wall_ms / max(lay.read_wall_ms, 1e-9):.1f}x",
                f"{lay.body_bytes:,}", lay.same_as_rows,
            ])  # fmt: skip
    _table(
        ["size", "layout", "bytes / file", "bytes / 1,000 points", "rows / this bytes",
         "final txn CPU ms", "final txn PG ms", "final txn wall ms", "read wall ms",
         "read CPU ms", "read PG ms", "response encode ms", "rows / this read wall",
         "body bytes", "GeoJSON vs rows"],
        rows,
    )  # fmt: skip
    print(
        "bytes: pg_total_relation_size delta of the layout's table (heap, TOAST, indexes) over "
        "the class's jobs, in 8 KiB pages, so small classes round by up to a page per "
        "relation / jobs. Read = the row, then the track (service part, median of the reads; "
        "shared buffers warm); encode = TrackOut validation + JSON, FastAPI's part for a "
        "response_model (GC paused; none for stored bytes, sent as they are with "
        "Content-Encoding: gzip). PG CPU has 10 ms ticks: read it over the whole batch."
    )
    print()
    checked = len(db.samples_identical) + len(db.samples_different)
    print(
        f"Real recordings (tests/data/samples: several segments, no elevation, no times) "
        f"through rows and packed: {len(db.samples_identical)} of {checked} give identical "
        "GeoJSON"
        + (f"; different: {', '.join(db.samples_different)}" if db.samples_different else "")
        + "."
    )
    print()


def _print_stack(st: capacity_stack.StackResults, db: capacity_db.DbResults) -> None:
    print("## 2. The service: uvicorn API + Celery worker + PostgreSQL + its own redis-server")
    print()
    by_mb = {c.size_mb: c for c in db.classes}
    bench_job = by_mb.get(st.upload_mb)
    rows = []
    for label, batch, mb in (
        ("upload, Celery", st.celery, st.upload_mb),
        ("upload, Celery", st.celery_big, st.accept_mb),
        *(("upload, in-process (API processes it)", b, mb) for mb, b in st.in_process.items()),
    ):
        rows.append([
            label, f"{mb:g} MB", str(batch.count), _ms(batch.per("api")),
            _ms(batch.per("worker")) if batch.per("worker") else "-", _ms(batch.per("pg")),
            _ms(batch.per("redis")), f"{batch.wall_s / batch.count * 1000:.0f}",
        ])  # fmt: skip
    for label, batch in st.reads.items():
        rows.append([
            label, "-", str(batch.count), _ms(batch.per("api")), "-", _ms(batch.per("pg")),
            _ms(batch.per("redis")), f"{batch.wall_s / batch.count * 1000:.1f}",
        ])  # fmt: skip
    idle = st.idle
    rows.append([
        "idle, per second", "-", f"{idle.count} s", _ms(idle.per("api")),
        _ms(idle.per("worker")), _ms(idle.per("pg")), _ms(idle.per("redis")), "-",
    ])  # fmt: skip
    _table(
        ["what", "file", "n", "API CPU ms each", "worker CPU ms each", "PG CPU ms each",
         "Redis CPU ms each", "wall ms each (upload→all done / request)"],
        rows,
    )  # fmt: skip
    if bench_job is not None:
        real = st.celery.per("worker")
        print(
            f"Worker CPU per {st.upload_mb:g} MB job: {real * 1000:.1f} ms in a real Celery "
            f"worker vs {bench_job.job_cpu_s() * 1000:.1f} ms for the same job in one process "
            f"(section 1): Celery, events and the lease heartbeat add "
            f"{(real - bench_job.job_cpu_s()) * 1000:.1f} ms per job."
        )
        print()
    calls = st.celery.redis_calls
    calls.pop("config|resetstat", None)
    per_job = sum(calls.values()) / st.celery.count
    print(
        f"Redis per Celery job ({st.celery.count} jobs of {st.upload_mb:g} MB): "
        f"{per_job:.1f} commands, {st.celery.redis_usec / st.celery.count:.0f} µs of "
        f"Redis command time; {st.redis_keys_after / st.celery.count:.1f} keys left per job "
        f"(the result, {st.redis_result_key_b:.0f} B, expires after 1 h)."
    )
    print()
    _table(
        ["command", "per job"],
        [[name, f"{n / st.celery.count:.1f}"] for name, n in sorted(calls.items())],
    )
    idle_calls = dict(idle.redis_calls)
    idle_calls.pop("config|resetstat", None)
    print(
        f"Idle ({idle.count} s, 1 API with its reconciler every 5 s, 1 worker): "
        + ", ".join(f"{k} {v / idle.count:.1f}/s" for k, v in sorted(idle_calls.items()))
    )
    print()


def _print_s3(db: capacity_db.DbResults) -> dict[float, dict[str, int]]:
    print("## 3. S3 requests (part size 8 MiB, 512 KiB writes)")
    print()
    measured = s3_requests.measure([c.file_bytes for c in db.classes])
    rows, out = [], {}
    for c in db.classes:
        design = s3_requests.by_design(c.file_bytes)
        counted = measured.get(c.file_bytes) if measured else None
        cells = [f"{c.size_mb:g} MB"]
        for phase in ("upload", "processing", "download", "delete"):
            text = " + ".join(f"{n} {op}" for op, n in design[phase].items())
            if counted is not None:
                same = dict(counted[phase]) == dict(design[phase])
                text += " (counted: same)" if same else f" (counted: {dict(counted[phase])})"
            cells.append(text)
        rows.append(cells)
        up = design["upload"]
        out[c.size_mb] = {"puts": sum(n for op, n in up.items() if op != "HeadObject"),
                          "heads": up.get("HeadObject", 0)}  # fmt: skip
    _table(["size", "upload", "processing", "download", "delete"], rows)
    print(
        "Counted against a moto_server (botocore before-call events)."
        if measured
        else "By design only: contravento.storage.s3 is not in this tree yet (feat-s3), so "
        "nothing was counted; with it, this run counts the same calls against a moto_server."
    )
    print()
    print("Originals are stored as uploaded. The same bytes gzip-compressed (level 6), for scale:")
    print()
    gz_rows = []
    for c in db.classes:
        data = ensure_file(c.size_mb).read_bytes()
        t0 = time.process_time()
        packed = gzip.compress(data, compresslevel=6)
        cpu = time.process_time() - t0
        gz_rows.append([
            f"{c.size_mb:g} MB", f"{len(packed):,}", f"{len(data) / len(packed):.1f}x",
            _ms(cpu),
        ])  # fmt: skip
    samples = [p.read_bytes() for p in sorted(SAMPLES.glob("*.gpx"))]
    whole = sum(len(b) for b in samples)
    gz = sum(len(gzip.compress(b, compresslevel=6)) for b in samples)
    gz_rows.append(["real samples (all)", f"{gz:,}", f"{whole / gz:.1f}x", "-"])
    _table(["original", "gzip bytes", "ratio", "gzip CPU ms"], gz_rows)
    sweep = s3_requests.sweep_by_design(365_000_000)
    print(
        "The orphan sweep lists the whole originals prefix each run: after a year at "
        f"1,000,000 uploads a day that is {sweep['ListObjectsV2']:,} ListObjectsV2 per sweep."
    )
    print()
    return out


def _print_samples() -> float:
    print("## 4. Kept points of real recordings (tests/data/samples, default tolerance 5 m)")
    print()
    rows, kept = [], []
    for path in sorted(SAMPLES.glob("*.gpx")):
        try:
            summary = summarize(path.read_bytes())
        except GPXError:
            continue
        kept.append(summary.simplified.point_count)
        rows.append([
            path.name, f"{path.stat().st_size / 1e6:.2f}", f"{summary.track.point_count:,}",
            f"{summary.simplified.point_count:,}", f"{summary.stats.distance_km:.1f}",
        ])  # fmt: skip
    _table(["file", "MB", "points", "kept", "km"], rows)
    median = statistics.median(kept) if kept else 0.0
    print(f"Median kept points: {median:.0f} (max {max(kept or [0]):,}).")
    print()
    return float(median)


def _units(
    db: capacity_db.DbResults, st: capacity_stack.StackResults, s3: dict[float, dict[str, int]]
) -> Units | None:
    by_mb = {c.size_mb: c for c in db.classes}
    if any(mb not in by_mb for mb, _ in capacity_model.MIX):
        return None
    threshold = Settings().async_threshold_bytes
    small, track = by_mb.get(st.upload_mb), by_mb.get(10.0)
    if small is None or track is None:
        return None
    classes = tuple(
        ClassUnits(
            size_mb=mb, share=share, in_api=by_mb[mb].file_bytes <= threshold,
            job_cpu_s=by_mb[mb].job_cpu_s(), job_pg_s=by_mb[mb].pg_cpu_s(),
            kept=by_mb[mb].kept, bytes_rows=by_mb[mb].layouts["rows"].bytes_per_file,
            bytes_packed=by_mb[mb].layouts["packed"].bytes_per_file,
            s3_upload_puts=s3[mb]["puts"], s3_upload_heads=s3[mb]["heads"],
        )
        for mb, share in capacity_model.MIX
    )  # fmt: skip
    reads = list(st.reads.values())
    status, listing, track_small, track_big = reads
    per_point = (track_big.per("api") - track_small.per("api")) / max(track.kept - small.kept, 1)
    rows_read, packed_read = track.layouts["rows"], track.layouts["packed"]
    calls = sum(n for k, n in st.celery.redis_calls.items() if k != "config|resetstat")
    return Units(
        classes=classes,
        accept_cpu_s=st.celery.per("api"),
        accept_cpu_per_mb_s=max(
            (st.celery_big.per("api") - st.celery.per("api")) / (st.accept_mb - st.upload_mb), 0
        ),
        accept_mb=st.upload_mb,
        accept_pg_s=max(st.celery.per("pg") - small.pg_cpu_s(), 0.0),
        celery_overhead_s=max(st.celery.per("worker") - small.job_cpu_s(), 0.0),
        status_cpu_s=status.per("api"),
        list_cpu_s=listing.per("api"),
        track_cpu_fixed_s=track_small.per("api") - small.kept * per_point,
        track_cpu_per_point_s=per_point,
        track_saving_per_point_s=(rows_read.read_self_ms - packed_read.read_self_ms)
        / 1000
        / track.kept,
        read_pg_s=statistics.mean(b.per("pg") for b in reads),
        meta_bytes=db.meta_bytes_live,
        redis_cmds_per_celery_job=calls / st.celery.count,
        redis_usec_per_celery_job=st.celery.redis_usec / st.celery.count,
    )


def _print_model(units: Units, median_kept: float) -> None:
    print("## 5. The model")
    print()
    print(f"Assumptions: {capacity_model.assumptions()}.")
    print()
    mean_kept = sum(c.share * c.kept for c in units.classes)
    print(
        f"Kept points per upload in this mix: {mean_kept:.0f} (synthetic rides; the real "
        f"samples' median is {median_kept:.0f}); the issue's figure, 1,000, is shown as well."
    )
    print()
    rows = []
    for per_day in capacity_model.SCALES:
        p = capacity_model.plan(units, per_day)
        q = capacity_model.plan(units, per_day, layout="packed")
        thousand = per_day * 1000
        rows.append([
            f"{per_day:,}", f"{p.peak_per_s:.1f}",
            f"{p.api_cores:.2f} → {p.api_replicas} ({q.api_cores:.2f} → {q.api_replicas})",
            f"{p.worker_cores:.2f} → {p.worker_replicas}", f"{p.pg_cores:.2f}",
            f"{p.points_per_day / 1e6:,.1f} M ({thousand / 1e6:,.0f} M)",
            f"{p.pg_gb_day_rows:,.1f} / {p.pg_gb_day_rows * 30:,.0f} / "
            f"{p.pg_gb_day_rows * 365 / 1e3:,.2f} TB",
            f"{p.pg_gb_day_packed:,.1f} / {p.pg_gb_day_packed * 30:,.0f} / "
            f"{p.pg_gb_day_packed * 365 / 1e3:,.2f} TB",
            str(p.pg_connections_max), f"{p.redis_cmds_per_s:,.1f}",
            f"{p.s3_puts_day / 1e3:,.0f} k / {p.s3_gets_day / 1e3:,.0f} k",
            f"{p.bucket_gb_day:,.0f} / {p.bucket_gb_day * 365 / 1e3:,.1f} TB",
        ])  # fmt: skip
    _table(
        ["uploads/day", "peak uploads/s", "API cores → replicas (packed)",
         "worker cores → replicas", "PG cores (backends ÷ 50 %)", "points/day (at 1,000 each)",
         "PG GB day / month / year, rows", "same, packed", "PG connections (pool max)",
         "Redis cmd/s at peak", "S3 PUT / GET a day", "bucket GB a day / year"],
        rows,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--classes", nargs="*", default=[f"{mb:g}:{n}" for mb, n in DEFAULT_CLASSES.items()],
        help="size classes as MB:jobs (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--reads", type=int, default=20, help="track reads per layout")
    parser.add_argument("--uploads", type=int, default=20, help="Celery uploads for Redis")
    args = parser.parse_args(argv)
    classes = {float(c.split(":")[0]): int(c.split(":")[1]) for c in args.classes}
    started = time.monotonic()
    print(f"Machine: {machine()}, {versions()}")
    print(
        "Inputs: bench/gpxgen.py rides (GPX 1.1, 1 point/s, seed 0); settings' defaults "
        "(GPX_SIMPLIFY_TOLERANCE_M 5, GPX_ASYNC_THRESHOLD_MB 5)."
    )
    print()
    db = _section_db(classes, args.reads)
    _print_db(db)
    st = capacity_stack.run(
        upload_mb=1.0, uploads=args.uploads, accept_mb=10.0,
        in_process={1.0: 10, 5.0: 4}, reads=30, track_mb=10.0,
    )  # fmt: skip
    _print_stack(st, db)
    s3 = _print_s3(db)
    median_kept = _print_samples()
    units = _units(db, st, s3)
    if units is None:
        print("## 5. The model: needs the default size classes (0.1 1 5 10 50 MB).")
    else:
        _print_model(units, median_kept)
    print(f"Run time: {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
