"""Bulk trackpoint writes: COPY on PostgreSQL, one executemany INSERT elsewhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import SimplifiedTrack
from .models import Trackpoint

COLUMNS = (
    "gpx_file_id", "seq", "segment", "lat", "lon", "ele", "time",
    "distance_km", "hr", "cadence", "power",
)  # fmt: skip


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]  # NaN -> None


def _times(values: np.ndarray) -> list[datetime | None]:
    out: list[datetime | None] = []
    for v in values.astype("datetime64[us]").tolist():
        out.append(v.replace(tzinfo=UTC) if v is not None else None)
    return out


def trackpoint_records(gpx_file_id: uuid.UUID, track: SimplifiedTrack) -> list[tuple[Any, ...]]:
    """One tuple per kept point, in COLUMNS order."""
    records: list[tuple[Any, ...]] = []
    seq = 0
    for index, (segment, along) in enumerate(zip(track.segments, track.distance_km, strict=True)):
        n = len(segment)
        nan = np.full(n, np.nan)
        columns = zip(
            segment.lat.tolist(),
            segment.lon.tolist(),
            _nullable(segment.ele),
            _times(segment.time),
            along.tolist(),
            _nullable(segment.sensors.get("hr", nan)),
            _nullable(segment.sensors.get("cadence", nan)),
            _nullable(segment.sensors.get("power", nan)),
            strict=True,
        )
        for offset, (lat, lon, ele, when, dist, hr, cad, pw) in enumerate(columns):
            records.append(
                (gpx_file_id, seq + offset, index, lat, lon, ele, when, dist, hr, cad, pw)
            )
        seq += n
    return records


async def replace_trackpoints(
    session: AsyncSession, gpx_file_id: uuid.UUID, track: SimplifiedTrack
) -> int:
    """Delete the file's trackpoints and write the new ones, inside the caller's transaction."""
    await session.execute(delete(Trackpoint).where(Trackpoint.gpx_file_id == gpx_file_id))
    records = trackpoint_records(gpx_file_id, track)
    if not records:
        return 0
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            Trackpoint.__tablename__, records=records, columns=list(COLUMNS)
        )
    else:
        await session.execute(
            insert(Trackpoint), [dict(zip(COLUMNS, r, strict=True)) for r in records]
        )
    return len(records)


async def load_trackpoints(session: AsyncSession, gpx_file_id: uuid.UUID) -> list[Trackpoint]:
    rows = await session.scalars(
        select(Trackpoint).where(Trackpoint.gpx_file_id == gpx_file_id).order_by(Trackpoint.seq)
    )
    return list(rows)
