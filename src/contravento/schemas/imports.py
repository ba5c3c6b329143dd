from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel


class ImportedMember(BaseModel):
    gpx_file_id: uuid.UUID
    name: str  # the member's path inside the archive, for display only


class SkippedMember(BaseModel):
    name: str
    reason_code: str
    reason: str  # Spanish


class ImportOut(BaseModel):
    """A bulk import (a zip uploaded to POST /trips/{id}/gpx) and what became of its members."""

    id: uuid.UUID
    trip_id: uuid.UUID
    status: Literal["pending", "processing", "completed", "failed"]
    members_found: int
    created: list[ImportedMember]
    skipped: list[SkippedMember]
    error_code: str | None = None  # failed: why the archive as a whole was refused
    error_message: str | None = None
