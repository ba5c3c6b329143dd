from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .common import Text

Status = Literal["pending", "processing", "completed", "failed"]
Mode = Literal["background", "celery"]
# domain.formats, decided by the content; "zip": a bulk import (GET /imports/{id})
Format = Literal["gpx", "fit", "tcx", "zip"]
Compression = Literal["gzip"]


class UploadOut(BaseModel):
    gpx_file_id: uuid.UUID
    trip_id: uuid.UUID
    processing_status: Status
    processing_mode: Mode
    status_url: str  # an archive's: GET /imports/{import_id}
    task_id: str | None = None
    duplicate: bool = False
    # duplicate: the file that holds this ride (the existing file itself for the same bytes,
    # or the file a same-ride duplicate points at); None for a new upload
    duplicate_of: uuid.UUID | None = None
    import_id: uuid.UUID | None = None  # a zip: the bulk import its job expands


class GPXFilePatch(BaseModel):
    """A stage's own name; null or empty (blank) gives it back its file name."""

    title: Text | None = Field(max_length=200)


class StatusOut(BaseModel):
    gpx_file_id: uuid.UUID
    trip_id: uuid.UUID
    title: str  # the stage's own name, or the original file name until it has one
    original_filename: str
    size_bytes: int
    format: Format
    compression: Compression | None
    processing_status: Status
    processing_mode: Mode
    task_id: str | None
    attempts: int
    error_code: str | None
    error_message: str | None
    processed_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # route_stats.data: our figures with each headline value in place, and for FIT (TCX) the
    # device's own totals: `device`, `headline` ("computed"|"device" per field), `indoor`,
    # `parse_warnings` (FIT_TRUNCATED, FIT_CRC_MISMATCH); rules in docs/domain.md
    stats: dict[str, Any] | None = None
    # failed DUPLICATE_RIDE: the completed file of the trip that holds the same ride
    duplicate_of: uuid.UUID | None = None


class JobEventOut(StatusOut):
    """The data of each event of GET /gpx/{id}/events: the status body, and when a job that
    is `retrying` will be attempted again."""

    next_attempt_at: datetime | None = None


class GPXFileSummary(BaseModel):
    gpx_file_id: uuid.UUID
    title: str
    original_filename: str
    size_bytes: int
    format: Format
    compression: Compression | None
    processing_status: Status
    processing_mode: Mode
    error_code: str | None
    error_message: str | None
    created_at: datetime
    distance_km: float | None = None
    elevation_gain_m: float | None = None
    moving_time_s: float | None = None
    start_time: datetime | None = None
    # the ride's own clock and whether its times held (stats of the same names); null for a
    # file not processed yet, or processed before they existed
    start_time_local: str | None = None
    timezone: str | None = None
    time_quality: str | None = None
    duplicate_of: uuid.UUID | None = None  # as in the status


class TrackOut(BaseModel):
    """GeoJSON Feature of the simplified route plus an elevation profile for a chart."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]
    profile: list[list[float]]  # [distance_km, elevation_m]


class ProfileOut(BaseModel):
    """A ride's profile for drawing: equal-length arrays, null where a sample has no value;
    a sensor is null when the file never recorded it."""

    resolution: Literal["full", "simplified"]
    source_point_count: int
    sample_count: int
    distance_km: list[float]
    elevation_m: list[float | None]
    hr: list[float | None] | None
    cadence: list[float | None] | None
    power: list[float | None] | None
