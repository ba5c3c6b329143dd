"""GET /imports/{id}: the progress of a bulk import (a zip uploaded to POST /trips/{id}/gpx)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from ..schemas.imports import ImportOut
from ..services import import_report
from ..services.errors import ImportNotFoundError
from .deps import CurrentUser, SessionDep, _parse_id

router = APIRouter(tags=["imports"])


@router.get("/imports/{import_id}", response_model=ImportOut)
async def get_import(import_id: str, user: CurrentUser, session: SessionDep) -> ImportOut:
    """Members found, the files created (each `gpx_file_id`, whose own job parses it) and
    those skipped with the reason; `status` is the archive's job."""
    report = await import_report.get_import(
        session, owner=user, import_id=_parse_id(import_id, ImportNotFoundError)
    )
    return ImportOut.model_validate(asdict(report))
