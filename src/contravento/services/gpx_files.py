"""Reading and deleting a cyclist's GPX files; the track as GeoJSON with a profile."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ..db.models import GPXFile, RouteStatsRow, Trip, User
from ..db.profiles import load_profile
from ..db.trackpoints import load_legacy_track
from ..db.tracks import load_track
from ..domain.archive import ARCHIVE_FORMAT
from ..domain.packed_profile import unpack_profile
from ..domain.packed_track import PackedTrack, unpack
from ..storage import ObjectReader, Storage
from .errors import ArchiveHasNoTrackError, GPXFileNotFoundError, TrackNotReadyError
from .jobs.machine import JobStatus
from .profile_body import profile_body, simplified_profile
from .track_body import feature

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
        .where(GPXFile.trip_id == trip.id, GPXFile.format != ARCHIVE_FORMAT)  # imports: no stage
        # by the ride's own date; files without one (unprocessed, no times) last, by upload
        .order_by(
            RouteStatsRow.start_time.is_(None),
            RouteStatsRow.start_time,
            GPXFile.created_at,
            GPXFile.id,
        )
    )
    return [(f, s) for f, s in rows.all()]


async def rename_file(session: AsyncSession, *, row: GPXFile, title: str | None) -> GPXFile:
    """A stage's own name; None or blank gives it back its file name."""
    row.title = (title or "").strip() or None
    await session.commit()
    return row


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


# Bump when the body of GET /gpx/{id}/track (or /profile) changes shape, so clients' cached
# copies expire.
TRACK_BODY_VERSION = 1
PROFILE_BODY_VERSION = 1


def track_etag(row: GPXFile, kind: str = "track") -> str:
    """A strong ETag for the track (or the profile) of a completed file. Its body depends
    only on what one processing run wrote (points, profile, statistics: a new run has a new
    finished_at) and on the file's own row, so this is known before anything is read."""
    if row.format == ARCHIVE_FORMAT:
        raise ArchiveHasNoTrackError()
    if row.processing_status != JobStatus.COMPLETED:
        raise TrackNotReadyError()
    finished = row.finished_at.isoformat() if row.finished_at else "-"
    version = TRACK_BODY_VERSION if kind == "track" else f"{kind}-{PROFILE_BODY_VERSION}"
    parts = (version, row.id, row.trip_id, row.attempts, finished, row.original_filename)
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return f'"{digest[:32]}"'


async def _stored_track(session: AsyncSession, row: GPXFile) -> PackedTrack:
    packed = await load_track(session, row.id)
    if packed is None:  # processed before gpx_tracks: until `contravento backfill-tracks`
        packed = await load_legacy_track(session, row.id)
    return packed


async def track_geojson(session: AsyncSession, *, row: GPXFile) -> dict[str, Any]:
    """The file's track (one gpx_tracks row; the legacy per-point rows of a file processed
    before it existed) as a GeoJSON Feature with its elevation profile."""
    if row.processing_status != JobStatus.COMPLETED:
        raise TrackNotReadyError()
    return feature(
        unpack(await _stored_track(session, row)),
        gpx_file_id=str(row.id),
        trip_id=str(row.trip_id),
        name=row.original_filename,
        stats=row.stats.data if row.stats is not None else {},
    )


async def profile_series(session: AsyncSession, *, row: GPXFile) -> dict[str, Any]:
    """The drawing profile computed from the full points while the job ran; for a file
    processed before gpx_profiles existed, one from its stored simplified track."""
    if row.processing_status != JobStatus.COMPLETED:
        raise TrackNotReadyError()
    packed = await load_profile(session, row.id)
    if packed is not None:
        return profile_body(unpack_profile(packed), "full")
    columns = unpack(await _stored_track(session, row))
    return profile_body(simplified_profile(columns), "simplified")
