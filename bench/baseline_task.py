"""The baseline pipeline, the way the original design describes it, as a Celery task.

Loaded into the same worker processes as ours with ``celery ... worker -I bench.baseline_task``
(never part of ``src/``). For an already stored upload (by ``gpx_file_id``) it reads the
original from storage, ``gpxpy.parse``-s it, computes gpxpy's statistics (``length_2d``,
``get_uphill_downhill``, ``get_moving_data``), simplifies with gpxpy's Douglas-Peucker
(``GPX.simplify(max_distance)``, the same tolerance as ours) and writes the kept points with
one ORM ``INSERT`` per trackpoint (into ``bench_trackpoints``, the bench's own copy of the
per-point table the original design has: bench/legacy_rows.py), then touches the job row, all
in one transaction. It returns
wall-clock start/finish times and its own peak RSS (VmHWM, reset at the start of the task).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import gpxpy
from sqlalchemy import delete, insert

from bench.legacy_rows import BenchTrackpoint, create_table
from contravento.db.models import GPXFile
from contravento.db.types import utcnow
from contravento.services.context import AppContext
from contravento.worker.app import app
from contravento.worker.base import DatabaseTask

TASK_NAME = "bench.baseline"
_SENSORS = {"hr": "hr", "cad": "cadence", "power": "power"}


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sensors(point: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for ext in point.extensions:
        for element in ext.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag in _SENSORS and element.text:
                with contextlib.suppress(ValueError):
                    out[_SENSORS[tag]] = float(element.text)
    return out


async def run_baseline(ctx: AppContext, file_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.sessions() as session, session.begin():
        await create_table(session)  # IF NOT EXISTS, before the clock starts
    _reset_peak()
    started = time.time()
    async with ctx.sessions() as session:
        row = await session.get(GPXFile, file_id)
        assert row is not None
        key = row.storage_key
    data = ctx.storage.read(key)
    gpx = gpxpy.parse(data.decode("utf-8"))
    del data
    points_in = gpx.get_track_points_no()
    length_m = gpx.length_2d()
    gpx.get_uphill_downhill()
    gpx.get_moving_data()
    parsed_at = time.time()
    gpx.simplify(max_distance=ctx.settings.gpx_simplify_tolerance_m)
    simplified_at = time.time()
    seq = 0
    async with ctx.sessions() as session, session.begin():
        await session.execute(delete(BenchTrackpoint).where(BenchTrackpoint.gpx_file_id == file_id))
        segment_index = 0
        for track in gpx.tracks:
            for segment in track.segments:
                along = 0.0
                previous = None
                for point in segment.points:
                    if previous is not None:
                        along += point.distance_2d(previous) or 0.0
                    previous = point
                    await session.execute(
                        insert(BenchTrackpoint).values(
                            gpx_file_id=file_id,
                            seq=seq,
                            segment=segment_index,
                            lat=point.latitude,
                            lon=point.longitude,
                            ele=point.elevation,
                            time=point.time,
                            distance_km=along / 1000.0,
                            **_sensors(point),
                        )
                    )
                    seq += 1
                segment_index += 1
        job = await session.get(GPXFile, file_id)
        assert job is not None
        job.updated_at = utcnow()
    finished = time.time()
    return {
        "started": started,
        "parsed": parsed_at,
        "simplified": simplified_at,
        "finished": finished,
        "points": points_in,
        "kept": seq,
        "distance_km": length_m / 1000.0,
        "peak_mib": _peak_mib(),
    }


@app.task(bind=True, base=DatabaseTask, name=TASK_NAME)  # type: ignore[misc,untyped-decorator,unused-ignore]
def baseline_process(self: DatabaseTask, gpx_file_id: str) -> dict[str, Any]:
    return self.run_async(run_baseline(self.ctx, uuid.UUID(gpx_file_id)))
