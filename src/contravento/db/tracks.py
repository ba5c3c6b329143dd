"""A file's simplified track as one gpx_tracks row (the columns packed by domain/packed_track)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import SimplifiedTrack
from ..domain.packed_track import PackedTrack, pack
from .models import GPXTrack
from .trackpoints import delete_legacy_rows


async def replace_track(
    session: AsyncSession, gpx_file_id: uuid.UUID, track: SimplifiedTrack
) -> int:
    """Write the file's track in the caller's transaction, replacing any earlier one (and the
    legacy per-point rows of a file processed before gpx_tracks existed: a file never has
    both). Three statements whatever the point count. Returns the points stored."""
    packed = pack(track)
    await delete_legacy_rows(session, gpx_file_id)
    await insert_track(session, gpx_file_id, packed, replace=True)
    return packed.point_count


async def insert_track(
    session: AsyncSession, gpx_file_id: uuid.UUID, packed: PackedTrack, *, replace: bool
) -> None:
    if replace:
        await session.execute(delete(GPXTrack).where(GPXTrack.gpx_file_id == gpx_file_id))
    await session.execute(
        insert(GPXTrack).values(
            gpx_file_id=gpx_file_id,
            format=packed.format,
            point_count=packed.point_count,
            segment_count=packed.segment_count,
            packed=packed.data,
        )
    )


async def load_track(session: AsyncSession, gpx_file_id: uuid.UUID) -> PackedTrack | None:
    """The file's packed track, or None if it has none (not processed, or processed before
    gpx_tracks existed and not yet converted by `contravento backfill-tracks`)."""
    row = (
        await session.execute(
            select(
                GPXTrack.format, GPXTrack.point_count, GPXTrack.segment_count, GPXTrack.packed
            ).where(GPXTrack.gpx_file_id == gpx_file_id)
        )
    ).one_or_none()
    if row is None:
        return None
    fmt, count, segments, data = row
    return PackedTrack(int(fmt), int(count), int(segments), bytes(data))
