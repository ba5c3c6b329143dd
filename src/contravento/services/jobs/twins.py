"""The same ride already in the trip, looked up in a job's final transaction.

A ride uploaded again in another format (FIT from the device, GPX from an app, a gzip of
either) has other bytes, so the upload's SHA-256 check cannot see it; only its parsed start
and distance can (domain/same_ride.py). The lookup runs inside the job's final transaction,
after its fenced status UPDATE, so two twins finishing at once never both complete:
- PostgreSQL: a transaction-level advisory lock per trip, taken first, serialises the
  finishers of one trip (each sees the other's COMMIT, READ COMMITTED);
- SQLite: the status UPDATE takes the database's one write lock before the lookup reads.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ...db.models import GPXFile, RouteStatsRow
from ...domain.same_ride import START_TOLERANCE, RideKey, same_ride
from .machine import Failure, JobStatus

DUPLICATE_RIDE = "DUPLICATE_RIDE"
# the advisory locks' first key: the namespace of "finishing a job of trip <second key>"
_LOCK_NAMESPACE = 0x43565452  # "CVTR"


@dataclass(frozen=True)
class Twin:
    gpx_file_id: uuid.UUID
    name: str  # the stage's title, or its file name


def duplicate_failure(twin: Twin) -> Failure:
    return Failure(
        DUPLICATE_RIDE,
        f"Esta actividad ya está en el viaje como «{twin.name}» (empieza a la misma hora y "
        "recorre la misma distancia), así que no se ha añadido otra vez.",
    )


async def lock_trip(session: AsyncSession, trip_id: uuid.UUID) -> None:
    """PostgreSQL: hold the trip's finishing lock until this transaction ends (SQLite: a
    no-op; its writes are serialised anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = zlib.crc32(trip_id.bytes) - (1 << 31)  # a signed int4
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
        {"namespace": _LOCK_NAMESPACE, "key": key},
    )


async def find_twin(
    session: AsyncSession, *, trip_id: uuid.UUID, gpx_file_id: uuid.UUID, ride: RideKey
) -> Twin | None:
    """The oldest completed file of the trip holding the same ride, other than this one."""
    if ride.start_time is None:
        return None
    rows = await session.execute(
        select(
            GPXFile.id,
            GPXFile.title,
            GPXFile.original_filename,
            RouteStatsRow.start_time,
            RouteStatsRow.distance_km,
        )
        .join(RouteStatsRow, RouteStatsRow.gpx_file_id == GPXFile.id)
        .where(
            GPXFile.trip_id == trip_id,
            GPXFile.id != gpx_file_id,
            GPXFile.processing_status == JobStatus.COMPLETED,
            RouteStatsRow.start_time.between(
                ride.start_time - START_TOLERANCE, ride.start_time + START_TOLERANCE
            ),
        )
        .order_by(GPXFile.created_at, GPXFile.id)
    )
    for file_id, title, filename, start, distance in rows.all():
        if same_ride(ride, RideKey(start, distance)):
            return Twin(file_id, title or filename)
    return None
