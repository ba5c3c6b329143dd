"""The capacity model: measured unit costs x an assumed traffic -> hosts, storage, requests.

Pure arithmetic on the figures bench/capacity.py measures; every assumption is a named
constant here and is printed with the table (docs/capacity.md argues for each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# (size class MB, share of uploads): most uploads are 0.2-3 MB GPX, a few 10-50 MB
MIX: tuple[tuple[float, float], ...] = ((0.1, 0.12), (1.0, 0.75), (5.0, 0.08), (10.0, 0.04),
                                        (50.0, 0.01))  # fmt: skip
PEAK_FACTOR = 5.0  # busiest hour (a spring/summer Sunday late morning) / the mean hour
STATUS_POLLS_IN_API = 2  # the web page polls every 700 ms; an in-process job ends in <0.5 s
STATUS_POLLS_CELERY = 4
TRACK_READS = 4  # the page opens the track after processing, then a few later views
LIST_READS = 2  # the trip's file list, after the upload and once processing ends
API_CPU_TARGET = 0.6  # an API process (one event loop: one core) is sized to 60 % at peak
WORKER_CPU_TARGET = 0.8  # the queue absorbs bursts; KEDA adds workers on its length
PG_CPU_TARGET = 0.5  # backends only: WAL writer, checkpointer, autovacuum come on top
API_POOL_MAX = 20  # DB_POOL_SIZE 10 + the same overflow, per API process
WORKER_POOL_MAX = 20  # WORKER_DB_POOL_SIZE 10 + overflow, per worker (concurrency 1)
SCALES = (10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class ClassUnits:
    size_mb: float
    share: float
    in_api: bool  # at or under GPX_ASYNC_THRESHOLD_MB: processed by the API process
    job_cpu_s: float  # claim + read + domain + final transaction, the runner's side
    job_pg_s: float
    kept: int
    bytes_rows: float  # gpx_trackpoints per file, indexes included
    bytes_packed: float
    s3_upload_puts: int  # PUT-class requests of the upload (Put/Create/Part/Complete)
    s3_upload_heads: int


@dataclass(frozen=True)
class Units:
    classes: tuple[ClassUnits, ...]
    accept_cpu_s: float  # the API's CPU for one upload routed to Celery, at `accept_mb`
    accept_cpu_per_mb_s: float
    accept_mb: float
    accept_pg_s: float
    celery_overhead_s: float  # a real worker's CPU per job beyond the job itself
    status_cpu_s: float
    list_cpu_s: float
    track_cpu_fixed_s: float  # GET track as the product serves it (packed): fixed + per point
    track_cpu_per_point_s: float
    track_saving_per_point_s: float  # what the packed layout saves per kept point over rows
    read_pg_s: float  # PostgreSQL per read request (mean of the measured reads)
    meta_bytes: float  # gpx_files + gpx_route_stats per upload (live)
    redis_cmds_per_celery_job: float
    redis_usec_per_celery_job: float


@dataclass
class Plan:
    per_day: int
    peak_per_s: float
    api_cores: float
    api_replicas: int
    worker_cores: float
    worker_replicas: int
    pg_cores: float
    points_per_day: float
    pg_gb_day_rows: float
    pg_gb_day_packed: float
    pg_connections_max: int
    redis_cmds_per_s: float
    s3_puts_day: float
    s3_gets_day: float
    bucket_gb_day: float
    notes: list[str] = field(default_factory=list)


def _accept(units: Units, size_mb: float) -> float:
    return units.accept_cpu_s + (size_mb - units.accept_mb) * units.accept_cpu_per_mb_s


def api_cpu_per_upload(units: Units, c: ClassUnits, layout: str = "rows") -> float:
    track = units.track_cpu_fixed_s + c.kept * units.track_cpu_per_point_s
    if layout == "rows":  # measured on the packed product: rows cost this much more
        track += c.kept * units.track_saving_per_point_s
    polls = STATUS_POLLS_IN_API if c.in_api else STATUS_POLLS_CELERY
    processing = c.job_cpu_s if c.in_api else 0.0
    reads = polls * units.status_cpu_s + LIST_READS * units.list_cpu_s + TRACK_READS * track
    return _accept(units, c.size_mb) + processing + reads


def plan(units: Units, per_day: int, layout: str = "rows") -> Plan:
    peak = per_day / 86_400 * PEAK_FACTOR
    api = sum(c.share * api_cpu_per_upload(units, c, layout) for c in units.classes) * peak
    queued = [c for c in units.classes if not c.in_api]
    worker = sum(c.share * (c.job_cpu_s + units.celery_overhead_s) for c in queued) * peak
    reads = STATUS_POLLS_IN_API + LIST_READS + TRACK_READS
    pg = peak * (
        units.accept_pg_s
        + sum(c.share * c.job_pg_s for c in units.classes)
        + reads * units.read_pg_s
    )
    api_replicas = max(2, math.ceil(api / API_CPU_TARGET))
    worker_replicas = max(2, math.ceil(worker / WORKER_CPU_TARGET))
    points = per_day * sum(c.share * c.kept for c in units.classes)
    celery_share = sum(c.share for c in units.classes if not c.in_api)
    return Plan(
        per_day=per_day,
        peak_per_s=peak,
        api_cores=api,
        api_replicas=api_replicas,
        worker_cores=worker,
        worker_replicas=worker_replicas,
        pg_cores=pg / PG_CPU_TARGET,
        points_per_day=points,
        pg_gb_day_rows=per_day
        * (units.meta_bytes + sum(c.share * c.bytes_rows for c in units.classes))
        / 1e9,
        pg_gb_day_packed=per_day
        * (units.meta_bytes + sum(c.share * c.bytes_packed for c in units.classes))
        / 1e9,
        pg_connections_max=api_replicas * API_POOL_MAX + worker_replicas * WORKER_POOL_MAX,
        redis_cmds_per_s=peak * celery_share * units.redis_cmds_per_celery_job,
        s3_puts_day=per_day * sum(c.share * c.s3_upload_puts for c in units.classes),
        # HeadObject + GetObject (processing) + one download in ten uploads
        s3_gets_day=per_day * sum(c.share * (c.s3_upload_heads + 1.1) for c in units.classes),
        bucket_gb_day=per_day * sum(c.share * c.size_mb for c in units.classes) / 1e3,
    )


def assumptions() -> str:
    mix = ", ".join(f"{mb:g} MB {share:.0%}" for mb, share in MIX)
    return (
        f"mix {mix}; peak hour = {PEAK_FACTOR:g}x the mean hour; per upload "
        f"{STATUS_POLLS_IN_API} status polls ({STATUS_POLLS_CELERY} via Celery), "
        f"{LIST_READS} list reads, {TRACK_READS} track reads; API sized at "
        f"{API_CPU_TARGET:.0%} of a core per process at peak, workers at "
        f"{WORKER_CPU_TARGET:.0%}, PostgreSQL backends at {PG_CPU_TARGET:.0%} of the cores"
    )
