"""What the database holds of a file's kept points, whichever way they are stored."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contravento.db.models import GPXTrack, Trackpoint
from contravento.domain import SimplifiedTrack
from contravento.domain.packed_track import PackedTrack
from tests.legacy_track import legacy_records, row_dicts

Sessions = async_sessionmaker[AsyncSession]


async def stored_points(sessions: Sessions, file_id: uuid.UUID) -> int:
    """The kept points stored for the file: its gpx_tracks row's count plus any legacy
    gpx_trackpoints rows (a file never has both, so a double-stored track shows as a sum
    that matches no statistic)."""
    async with sessions() as session:
        packed = await session.scalar(
            select(GPXTrack.point_count).where(GPXTrack.gpx_file_id == file_id)
        )
        legacy = await session.scalar(
            select(func.count()).select_from(Trackpoint).where(Trackpoint.gpx_file_id == file_id)
        )
    return int(packed or 0) + int(legacy or 0)


async def stored_track(sessions: Sessions, file_id: uuid.UUID) -> PackedTrack | None:
    """The file's gpx_tracks row as it is stored (None: no row)."""
    async with sessions() as session:
        row = await session.get(GPXTrack, file_id)
        if row is None:
            return None
        return PackedTrack(row.format, row.point_count, row.segment_count, bytes(row.packed))


async def legacy_row_count(sessions: Sessions, file_id: uuid.UUID | None = None) -> int:
    """gpx_trackpoints rows (of one file, or all)."""
    query = select(func.count()).select_from(Trackpoint)
    if file_id is not None:
        query = query.where(Trackpoint.gpx_file_id == file_id)
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


async def make_legacy(sessions: Sessions, file_id: uuid.UUID, track: SimplifiedTrack) -> int:
    """Leave the file as the code before gpx_tracks left it: no gpx_tracks row, one
    gpx_trackpoints row per kept point (the old writer's values). Returns the rows."""
    rows = row_dicts(file_id, legacy_records(track))
    async with sessions() as session, session.begin():
        await session.execute(GPXTrack.__table__.delete().where(GPXTrack.gpx_file_id == file_id))
        await session.execute(
            Trackpoint.__table__.delete().where(Trackpoint.gpx_file_id == file_id)
        )
        if rows:
            await session.execute(insert(Trackpoint), rows)
    return len(rows)
