"""The job's unit costs measured in this process, and three ways to store the kept points.

For each size class, ``jobs`` job rows point at one stored original (a bench/gpxgen.py ride).
Each job runs the product's own steps here, one after the other, measured with
``time.process_time`` (this process: every thread) and the CPU of the PostgreSQL backends
serving the benchmark's database (``/proc/<pid>/stat``):

- claim (services/jobs/machine.claim) + read of the original (LocalStorage);
- the domain (contravento.domain.summarize, the settings' defaults);
- the final transaction, three ways, each on its own job rows:
  ``packed`` = the product's own services/jobs/process._finish (status fenced, the track as
  one gpx_tracks row, statistics); ``rows`` = the same transaction with a COPY of every kept
  point, as the product did before gpx_tracks (bench/legacy_rows.py); ``geojson`` = the same
  with the rendered response stored instead (bench/compact_track.py).

Then the storage each layout took (pg_total_relation_size deltas of its tables, indexes and
TOAST included) and the read of ``GET /gpx/{id}/track``: the service part (the row, then
the product's track_geojson for ``packed``, the old ORM read for ``rows``, the stored bytes
for ``geojson``) and the response model's validation + JSON encoding (FastAPI's work for a
``response_model``; none for stored bytes). The three bodies are compared: ``packed`` must
give the same GeoJSON as the rows did.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from bench import compact_track as compact
from bench import legacy_rows
from bench.cpu_meter import Meter, backends
from bench.gpxgen import ensure_file
from contravento.config import Settings
from contravento.db.models import GPXFile, Trip, User
from contravento.domain import GPXError, TrackSummary
from contravento.schemas.gpx import TrackOut
from contravento.services.context import AppContext
from contravento.services.gpx_files import track_geojson
from contravento.services.jobs import machine
from contravento.services.jobs.process import _finish, _run_domain, _stats_row, read_original
from contravento.storage import original_key

LAYOUTS = ("rows", "packed", "geojson")
LAYOUT_TABLES = {
    "rows": [legacy_rows.TABLE],
    "packed": ["gpx_tracks"],
    "geojson": [compact.GEOJSON_TABLE],
}
META_TABLES = ["gpx_files", "gpx_route_stats"]
_TRACK = TypeAdapter(TrackOut)


@dataclass
class Layout:
    write_self_s: float = 0.0  # per job: this process (the worker's side)
    write_pg_s: float = 0.0  # per job: the PostgreSQL backend
    write_wall_s: float = 0.0  # per job, median
    bytes_per_file: float = 0.0
    read_wall_ms: float = 0.0  # median, service part
    read_self_ms: float = 0.0
    read_pg_ms: float = 0.0
    encode_ms: float = 0.0  # response model validation + JSON (0 for stored bytes)
    body_bytes: int = 0  # what goes over the wire (gzip for the stored GeoJSON)
    same_as_rows: str = ""


@dataclass
class SizeClass:
    size_mb: float
    file_bytes: int
    jobs: int
    points: int = 0
    kept: int = 0
    claim_read_self_s: float = 0.0
    claim_pg_s: float = 0.0
    domain_s: float = 0.0
    layouts: dict[str, Layout] = field(default_factory=dict)

    def job_cpu_s(self, layout: str = "packed") -> float:
        """Worker-side CPU of one job (claim + read + domain + final transaction)."""
        return self.claim_read_self_s + self.domain_s + self.layouts[layout].write_self_s

    def pg_cpu_s(self, layout: str = "packed") -> float:
        return self.claim_pg_s + self.layouts[layout].write_pg_s


@dataclass
class DbResults:
    classes: list[SizeClass]
    meta_bytes_written: float  # gpx_files + gpx_route_stats per file, as left by the job
    meta_bytes_live: float  # the same after VACUUM FULL (dead versions gone)
    toast_compression: str
    samples_identical: list[str] = field(default_factory=list)  # real files: packed == rows
    samples_different: list[str] = field(default_factory=list)


async def _sizes(ctx: AppContext, tables: list[str]) -> int:
    async with ctx.sessions() as session:
        total = 0
        for table in tables:
            total += int(
                await session.scalar(text(f"SELECT pg_total_relation_size('{table}')")) or 0
            )
        return total


async def _new_jobs(ctx: AppContext, trip: Trip, key: str, size: int, count: int) -> list[Any]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with ctx.sessions() as session, session.begin():
        for file_id in ids:
            session.add(
                GPXFile(
                    id=file_id,
                    trip_id=trip.id,
                    owner_id=trip.owner_id,
                    original_filename="ride.gpx",
                    storage_key=key,
                    size_bytes=size,
                    sha256=hashlib.sha256(file_id.bytes).hexdigest(),
                    processing_status="pending",
                    processing_mode="celery",
                )
            )
    return ids


async def _claim(ctx: AppContext, file_id: uuid.UUID) -> machine.Claim:
    got = await machine.claim(ctx, file_id, worker="bench")
    if not isinstance(got, machine.Claim):
        raise RuntimeError(f"claim refused: {got}")
    return got


async def _finish_compact(
    ctx: AppContext, held: machine.Claim, summary: TrackSummary, layout: str
) -> None:
    """The product's final transaction with the points stored another way (rows, geojson)."""
    file_id = held.gpx_file_id
    async with ctx.sessions() as session, session.begin():
        if not await machine.complete(session, held):
            raise RuntimeError("lease lost in the bench")
        stats = _stats_row(file_id, summary)
        if layout == "rows":
            await legacy_rows.replace_rows(session, file_id, summary.simplified)
        else:
            row = await session.get_one(GPXFile, file_id)
            body = compact.geojson(row, stats.data, summary.simplified)
            await compact.write_geojson(session, file_id, compact.render(body))
        await session.execute(
            text("DELETE FROM gpx_route_stats WHERE gpx_file_id = :id"), {"id": file_id}
        )
        session.add(stats)


async def _read(ctx: AppContext, layout: str, file_id: uuid.UUID) -> dict[str, Any] | bytes:
    async with ctx.sessions() as session:
        query = select(GPXFile).where(GPXFile.id == file_id)
        if layout != "geojson":
            query = query.options(selectinload(GPXFile.stats))
        row = (await session.scalars(query)).one()
        if layout == "rows":
            return await legacy_rows.read_feature(session, row)
        if layout == "packed":
            return await track_geojson(session, row=row)
        return await compact.read_geojson(session, file_id)


def _encode(body: dict[str, Any]) -> bytes:
    """What FastAPI does with a response_model: validate, then serialize to JSON."""
    return _TRACK.dump_json(_TRACK.validate_python(body))


async def _measure_class(
    ctx: AppContext, trip: Trip, size_mb: float, jobs: int, reads: int
) -> SizeClass:
    path = ensure_file(size_mb)
    data = path.read_bytes()
    key = original_key(year=2026, month=12, trip_id=str(trip.id), gpx_file_id=f"c{size_mb:g}")
    writer = ctx.storage.open_writer(key)
    writer.write(data)
    writer.commit(key)
    meter = Meter(pg=backends(ctx.engine.url.database or ""))
    result = SizeClass(size_mb, len(data), jobs)
    summary = _run_domain(ctx, data, _never())
    result.points, result.kept = summary.track.point_count, summary.simplified.point_count
    first_ids: dict[str, uuid.UUID] = {}
    for layout in LAYOUTS:
        ids = await _new_jobs(ctx, trip, key, len(data), jobs)
        first_ids[layout] = ids[0]
        before = await _sizes(ctx, LAYOUT_TABLES[layout])
        claims, claim_cpu = [], {"self": 0.0, "pg": 0.0}
        for file_id in ids:
            started = meter.start()
            held = await _claim(ctx, file_id)
            await _to_thread(read_original, ctx, held.storage_key)
            for name, value in meter.stop(started).items():
                claim_cpu[name] += value
            claims.append(held)
        if layout == "rows":
            result.claim_read_self_s = claim_cpu["self"] / jobs
            result.claim_pg_s = claim_cpu["pg"] / jobs
            started = meter.start()
            for _ in range(jobs):
                summary = _run_domain(ctx, data, _never())
            result.domain_s = meter.stop(started)["self"] / jobs
        walls = []
        started = meter.start()
        for held in claims:
            t0 = time.perf_counter()
            if layout == "packed":
                if not await _finish(ctx, held, summary):
                    raise RuntimeError("lease lost in the bench")
            else:
                await _finish_compact(ctx, held, summary, layout)
            walls.append(time.perf_counter() - t0)
        spent = meter.stop(started)
        stored = await _sizes(ctx, LAYOUT_TABLES[layout]) - before
        result.layouts[layout] = Layout(
            write_self_s=spent["self"] / jobs,
            write_pg_s=spent["pg"] / jobs,
            write_wall_s=statistics.median(walls),
            bytes_per_file=stored / jobs,
        )
    await _measure_reads(ctx, meter, result, first_ids, reads)
    return result


async def _measure_reads(
    ctx: AppContext,
    meter: Meter,
    result: SizeClass,
    first_ids: dict[str, uuid.UUID],
    reads: int,
) -> None:
    rows_body: dict[str, Any] = {}
    for layout in LAYOUTS:
        file_id = first_ids[layout]
        body = await _read(ctx, layout, file_id)  # warm: the pages in shared buffers
        gc.collect()
        walls = []
        started = meter.start()
        for _ in range(reads):
            t0 = time.perf_counter()
            body = await _read(ctx, layout, file_id)
            walls.append(time.perf_counter() - t0)
        spent = meter.stop(started)
        out = result.layouts[layout]
        out.read_wall_ms = statistics.median(walls) * 1000
        out.read_self_ms = spent["self"] / reads * 1000
        out.read_pg_ms = spent["pg"] / reads * 1000
        if isinstance(body, bytes):
            out.body_bytes, out.encode_ms = len(body), 0.0
        else:
            gc.collect()
            gc.disable()  # a full collection of this process's heap is not the encoder's cost
            try:
                t0 = time.process_time()
                for _ in range(reads):
                    encoded = _encode(body)
                out.encode_ms = (time.process_time() - t0) / reads * 1000
            finally:
                gc.enable()
            out.body_bytes = len(encoded)
        other = json.loads(gzip.decompress(body)) if isinstance(body, bytes) else body
        if layout == "rows":
            rows_body = _normalised(other)
            out.same_as_rows = "(reference)"
        else:
            out.same_as_rows = "identical" if _normalised(other) == rows_body else "DIFFERENT"


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    """The body through JSON, without the file's own id (each layout reads its own row)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    copy["properties"]["gpx_file_id"] = "-"
    return copy


def _never() -> Any:
    import threading

    return threading.Event()


async def _to_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def _check_samples(
    ctx: AppContext, trip: Trip, paths: list[Path]
) -> tuple[list[str], list[str]]:
    """Real recordings (several segments, no elevation, no times) through today's rows and
    the packed layout: the same GeoJSON from both?"""
    same: list[str] = []
    different: list[str] = []
    for path in paths:
        data = path.read_bytes()
        try:
            summary = _run_domain(ctx, data, _never())
        except GPXError:
            continue
        key = original_key(year=2026, month=12, trip_id=str(trip.id), gpx_file_id=path.stem)
        ids = await _new_jobs(ctx, trip, key, len(data), 2)
        for layout, file_id in zip(("rows", "packed"), ids, strict=True):
            held = await _claim(ctx, file_id)
            if layout == "packed":
                await _finish(ctx, held, summary)
            else:
                await _finish_compact(ctx, held, summary, layout)
        bodies = [
            await _read(ctx, layout, i) for layout, i in zip(("rows", "packed"), ids, strict=True)
        ]
        a, b = (_normalised(x) for x in bodies if isinstance(x, dict))
        (same if a == b else different).append(path.name)
    return same, different


async def _toast_compression(ctx: AppContext) -> str:
    """lz4 when this server was built with it (PostgreSQL 14+), else pglz."""
    async with ctx.sessions() as session:
        try:
            await session.execute(text("CREATE TEMP TABLE lz4_probe (b bytea COMPRESSION lz4)"))
            return "lz4"
        except Exception:
            return "pglz"


async def run(
    database_url: str,
    storage_dir: Path,
    classes: dict[float, int],
    reads: int,
    samples: list[Path] | None = None,
) -> DbResults:
    settings = Settings(
        database_url=database_url, storage_dir=storage_dir, app_env="development",
        auto_migrate=False, celery_enabled=False,
    )  # fmt: skip
    ctx = AppContext.create(settings, pool_size=2)
    try:
        compression = await _toast_compression(ctx)
        async with ctx.sessions() as session, session.begin():
            for statement in compact.ddl(compression):
                await session.execute(text(statement))
            await legacy_rows.create_table(session)
            user = User(email="bench@example.com", display_name="Bench", password_hash="-")
            session.add(user)
            await session.flush()
            trip = Trip(owner_id=user.id, title="Bench")
            session.add(trip)
        meta_before = await _sizes(ctx, META_TABLES)
        results = [
            await _measure_class(ctx, trip, size, jobs, reads) for size, jobs in classes.items()
        ]
        files = sum(c.jobs for c in results) * len(LAYOUTS)
        written = (await _sizes(ctx, META_TABLES) - meta_before) / files
        async with ctx.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in META_TABLES:
                await conn.execute(text(f"VACUUM FULL {table}"))
        live = await _sizes(ctx, META_TABLES) / files
        same, different = await _check_samples(ctx, trip, samples or [])
        return DbResults(results, written, live, compression, same, different)
    finally:
        await ctx.dispose()
