"""`contravento backfill-tracks`: the legacy per-point rows of files processed before
gpx_tracks existed, converted into one gpx_tracks row each.

File by file, each in its own transaction: the file's row is locked first (PostgreSQL: a
job finishing it meanwhile waits, then replaces what this wrote), only a completed file is
converted (a pending or running job writes its own track and deletes the rows itself), and
its legacy rows are deleted in the same transaction. Idempotent and resumable: a file that
already has a gpx_tracks row only loses its leftover rows; a second run finds nothing to do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import GPXFile, GPXTrack, Trackpoint
from ..db.trackpoints import delete_legacy_rows, load_legacy_track
from ..db.tracks import insert_track
from .jobs.machine import JobStatus

log = structlog.get_logger("contravento.backfill")

Outcome = Literal["converted", "cleaned", "skipped", "gone"]


@dataclass
class BackfillReport:
    converted: int = 0  # packed from their rows, rows deleted
    cleaned: int = 0  # already had a gpx_tracks row: only the leftover rows deleted
    skipped: int = 0  # not completed: their rows stay until a run completes them
    points: int = 0  # points written into gpx_tracks


async def _files_with_rows(
    sessions: async_sessionmaker[AsyncSession], after: uuid.UUID | None, batch: int
) -> list[uuid.UUID]:
    """The next `batch` files (by id, after `after`) that still have legacy rows."""
    query = (
        select(GPXFile.id)
        .where(exists().where(Trackpoint.gpx_file_id == GPXFile.id))
        .order_by(GPXFile.id)
        .limit(batch)
    )
    if after is not None:
        query = query.where(GPXFile.id > after)
    async with sessions() as session:
        return list(await session.scalars(query))


async def convert_file(
    sessions: async_sessionmaker[AsyncSession], gpx_file_id: uuid.UUID
) -> tuple[Outcome, int]:
    """One file in one transaction: (what happened, points written)."""
    async with sessions() as session, session.begin():
        status = await session.scalar(
            select(GPXFile.processing_status).where(GPXFile.id == gpx_file_id).with_for_update()
        )
        if status is None:
            return "gone", 0
        if status != JobStatus.COMPLETED:
            return "skipped", 0
        has_track = await session.scalar(
            select(exists().where(GPXTrack.gpx_file_id == gpx_file_id))
        )
        points = 0
        outcome: Outcome = "cleaned"
        if not has_track:
            packed = await load_legacy_track(session, gpx_file_id)
            await insert_track(session, gpx_file_id, packed, replace=False)
            points, outcome = packed.point_count, "converted"
        await delete_legacy_rows(session, gpx_file_id)
    return outcome, points


async def backfill_tracks(
    sessions: async_sessionmaker[AsyncSession], *, batch: int = 500
) -> BackfillReport:
    """Every file with legacy rows, `batch` ids per listing query, one transaction each."""
    if batch < 1:
        raise ValueError("batch must be >= 1")
    report, after = BackfillReport(), None
    while ids := await _files_with_rows(sessions, after, batch):
        for file_id in ids:
            outcome, points = await convert_file(sessions, file_id)
            if outcome == "converted":
                report.converted += 1
                report.points += points
            elif outcome == "cleaned":
                report.cleaned += 1
            elif outcome == "skipped":
                report.skipped += 1
        after = ids[-1]
        log.info("tracks_backfilled", **vars(report), last_gpx_file_id=str(after))
    return report
