"""A job's status body, shared by GET /gpx/{id}/status, the file listing and the events."""

from __future__ import annotations

from typing import Any

from ..db.models import GPXFile
from ..schemas.gpx import StatusOut


def file_fields(row: GPXFile) -> dict[str, Any]:
    """What the file listing and the status share about a job."""
    return {
        "gpx_file_id": row.id,
        "title": row.title or row.original_filename,
        "original_filename": row.original_filename,
        "size_bytes": row.size_bytes,
        "format": row.format,
        "compression": row.compression,
        "processing_status": row.processing_status,
        "processing_mode": row.processing_mode,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "created_at": row.created_at,
        "duplicate_of": row.duplicate_of_id,
    }


def status_out(row: GPXFile) -> StatusOut:
    completed = row.stats is not None and row.processing_status == "completed"
    return StatusOut(
        **file_fields(row),
        trip_id=row.trip_id,
        task_id=row.celery_task_id,
        attempts=row.attempts,
        processed_by=row.processed_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        stats=row.stats.data if completed and row.stats is not None else None,
    )
