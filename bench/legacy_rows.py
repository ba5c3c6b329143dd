"""The track as one row per kept point, the way the product stored it before gpx_tracks: the
``rows`` layout of bench/capacity.py and the baseline pipeline's target (bench/baseline_task.py).

The bench keeps its own copy of that table (``bench_trackpoints``: gpx_trackpoints' columns,
primary key and foreign key), so its figures do not depend on the product's legacy table,
which a later migration drops. Writing is the product's old bulk path (COPY of every kept
point); reading is the old ``track_geojson``: the rows as ORM objects, rounded one by one
(tests/legacy_track.py holds that body, the reference the packed track is checked against).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Float, ForeignKey, Integer, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contravento.db.models import GPXFile
from contravento.db.types import UTCDateTime
from contravento.domain import SimplifiedTrack
from tests.legacy_track import legacy_feature, legacy_records

TABLE = "bench_trackpoints"


class _Base(DeclarativeBase):
    pass


class BenchTrackpoint(_Base):
    """A row of bench_trackpoints (the columns of the product's gpx_trackpoints)."""

    __tablename__ = TABLE

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(GPXFile.id, ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment: Mapped[int] = mapped_column(Integer)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    ele: Mapped[float | None] = mapped_column(Float)
    time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    distance_km: Mapped[float] = mapped_column(Float)
    hr: Mapped[float | None] = mapped_column(Float)
    cadence: Mapped[float | None] = mapped_column(Float)
    power: Mapped[float | None] = mapped_column(Float)


_TABLE = cast(Table, BenchTrackpoint.__table__)
COLUMNS = tuple(column.name for column in _TABLE.columns)


async def create_table(session: AsyncSession) -> None:
    """CREATE TABLE IF NOT EXISTS, from the class above (its DDL is written nowhere else)."""
    connection = await session.connection()
    await connection.run_sync(lambda sync: _TABLE.create(sync, checkfirst=True))


async def replace_rows(
    session: AsyncSession, gpx_file_id: uuid.UUID, track: SimplifiedTrack
) -> int:
    """The old replace_trackpoints: delete the file's rows, COPY the new ones (PostgreSQL)."""
    await session.execute(delete(BenchTrackpoint).where(BenchTrackpoint.gpx_file_id == gpx_file_id))
    records = [
        (gpx_file_id, *(getattr(r, name) for name in COLUMNS[1:])) for r in legacy_records(track)
    ]
    if not records:
        return 0
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(TABLE, records=records, columns=list(COLUMNS))
    return len(records)


async def read_feature(session: AsyncSession, row: GPXFile) -> dict[str, Any]:
    """The old track_geojson (the row's stats loaded): ORM rows in seq order, then the body."""
    points = list(
        await session.scalars(
            select(BenchTrackpoint)
            .where(BenchTrackpoint.gpx_file_id == row.id)
            .order_by(BenchTrackpoint.seq)
        )
    )
    return legacy_feature(
        points,
        gpx_file_id=str(row.id),
        trip_id=str(row.trip_id),
        name=row.original_filename,
        stats=row.stats.data if row.stats is not None else {},
    )
