"""Reading and deleting a cyclist's GPX files; the track as GeoJSON with a profile."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ..db.models import GPXFile, RouteStatsRow, Trip, User
from ..db.trackpoints import load_trackpoints
from ..storage import ObjectReader, Storage
from .errors import GPXFileNotFoundError, TrackNotReadyError
from .jobs.machine import JobStatus

log = structlog.get_logger("contravento.files")


async def get_owned_file(
    session: AsyncSession, *, owner: User, gpx_file_id: uuid.UUID, with_stats: bool = False
) -> GPXFile:
    query = select(GPXFile).where(GPXFile.id == gpx_file_id, GPXFile.owner_id == owner.id)
    if with_stats:
        query = query.options(selectinload(GPXFile.stats))
    row = await session.scalar(query)
    if row is None:
        raise GPXFileNotFoundError()
    return row


async def list_trip_files(
    session: AsyncSession, *, trip: Trip
) -> list[tuple[GPXFile, RouteStatsRow | None]]:
    rows = await session.execute(
        select(GPXFile, RouteStatsRow)
        .outerjoin(RouteStatsRow, RouteStatsRow.gpx_file_id == GPXFile.id)
        .where(GPXFile.trip_id == trip.id)
        .order_by(GPXFile.created_at, GPXFile.id)
    )
    return [(f, s) for f, s in rows.all()]


async def delete_file(session: AsyncSession, storage: Storage, *, row: GPXFile) -> None:
    """The row first, then its original (an object left by a failed delete is an orphan the
    sweep removes; a row whose original is gone would be a lie)."""
    key = row.storage_key
    await session.delete(row)
    await session.commit()
    await delete_originals(storage, [key])


async def delete_originals(storage: Storage, keys: list[str]) -> None:
    """Delete stored originals off the event loop; a store that fails leaves orphans for the
    sweep (services/orphans.py), never an error for a delete that has already committed."""

    def delete_all() -> None:
        for key in keys:
            try:
                storage.delete(key)
            except OSError as exc:
                log.warning("orphan_left_for_sweep", storage_key=key, error=str(exc))

    await asyncio.to_thread(delete_all)


async def open_original(storage: Storage, *, row: GPXFile) -> ObjectReader:
    try:
        return await asyncio.to_thread(storage.open_reader, row.storage_key)
    except FileNotFoundError as exc:
        raise GPXFileNotFoundError("El archivo original ya no está disponible.") from exc


async def track_geojson(session: AsyncSession, *, row: GPXFile) -> dict[str, Any]:
    if row.processing_status != JobStatus.COMPLETED:
        raise TrackNotReadyError()
    points = await load_trackpoints(session, row.id)
    lines: list[list[list[float]]] = []
    times: list[list[str | None]] = []
    profile: list[list[float]] = []
    current = -1
    for p in points:
        if p.segment != current:
            lines.append([])
            times.append([])
            current = p.segment
        coord = [round(p.lon, 7), round(p.lat, 7)]
        if p.ele is not None:
            coord.append(round(p.ele, 1))
            profile.append([round(p.distance_km, 4), round(p.ele, 1)])
        lines[-1].append(coord)
        times[-1].append(p.time.isoformat().replace("+00:00", "Z") if p.time else None)
    geometry: dict[str, Any]
    if len(lines) == 1:
        geometry = {"type": "LineString", "coordinates": lines[0]}
        coord_times: list[Any] = times[0]
    else:
        geometry = {"type": "MultiLineString", "coordinates": lines}
        coord_times = times
    stats = row.stats.data if row.stats is not None else {}
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "gpx_file_id": str(row.id),
            "trip_id": str(row.trip_id),
            "name": row.original_filename,
            "point_count": len(points),
            "coordTimes": coord_times,
            "distance_km": stats.get("distance_km"),
            "bbox": [
                stats.get("min_lon"),
                stats.get("min_lat"),
                stats.get("max_lon"),
                stats.get("max_lat"),
            ],
        },
        "profile": profile,
    }
