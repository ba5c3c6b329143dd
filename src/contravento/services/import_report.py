"""GET /imports/{id}: a bulk import's progress, read from its archive's row and report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import ArchiveImport, GPXFile, User
from ..domain.archive import ARCHIVE_FORMAT
from .errors import ImportNotFoundError


@dataclass(frozen=True)
class ImportReport:
    id: uuid.UUID
    trip_id: uuid.UUID
    status: str  # the archive's job status: pending | processing | completed | failed
    members_found: int
    created: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    error_code: str | None
    error_message: str | None


async def get_import(session: AsyncSession, *, owner: User, import_id: uuid.UUID) -> ImportReport:
    """Another user's import, or a file that is no archive, is a 404."""
    found = (
        await session.execute(
            select(GPXFile, ArchiveImport)
            .outerjoin(ArchiveImport, ArchiveImport.gpx_file_id == GPXFile.id)
            .where(
                GPXFile.id == import_id,
                GPXFile.owner_id == owner.id,
                GPXFile.format == ARCHIVE_FORMAT,
            )
        )
    ).first()
    if found is None:
        raise ImportNotFoundError()
    row, report = found
    return ImportReport(
        id=row.id,
        trip_id=row.trip_id,
        status=row.processing_status,  # a retry waiting is still `pending`
        members_found=report.members_found if report else 0,
        created=list(report.created) if report else [],
        skipped=list(report.skipped) if report else [],
        error_code=row.error_code,
        error_message=row.error_message,
    )
