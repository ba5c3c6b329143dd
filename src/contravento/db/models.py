"""ORM models (SQLAlchemy 2, typed). API schemas live apart, in contravento.schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Trip(Base):
    __tablename__ = "trips"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    gpx_files: Mapped[list[GPXFile]] = relationship(
        back_populates="trip", cascade="all, delete-orphan", passive_deletes=True
    )


class GPXFile(Base):
    """An uploaded original and the job that turns it into a route (the source of truth)."""

    __tablename__ = "gpx_files"
    __table_args__ = (
        UniqueConstraint("trip_id", "sha256", name="uq_gpx_files_trip_sha256"),
        Index("ix_gpx_files_status_updated", "processing_status", "updated_at"),
        Index("ix_gpx_files_status_lease", "processing_status", "lease_expires_at"),
        Index("ix_gpx_files_finished_at", "finished_at"),  # /metrics: finished in the window
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    trip_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("trips.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    original_filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(200), default=None)  # None: the file name
    storage_key: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8), default="gpx")  # domain.formats.TrackFormat
    compression: Mapped[str | None] = mapped_column(String(8), default=None)  # "gzip" or None
    processing_status: Mapped[str] = mapped_column(String(20), default="pending")  # JobStatus
    processing_mode: Mapped[str] = mapped_column(String(20), default="background")
    celery_task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    processed_by: Mapped[str | None] = mapped_column(String(255), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # the job's lease, held by the run whose fencing number is `attempts` (services/jobs/machine)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # a job that failed DUPLICATE_RIDE: the completed file of the same ride (domain/same_ride)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="SET NULL"), default=None
    )

    trip: Mapped[Trip] = relationship(back_populates="gpx_files")
    stats: Mapped[RouteStatsRow | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class RouteStatsRow(Base):
    """Statistics of a processed file: key figures as columns, the full set as JSON."""

    __tablename__ = "gpx_route_stats"

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="CASCADE"), primary_key=True
    )
    distance_km: Mapped[float] = mapped_column(Float)
    elevation_gain_m: Mapped[float | None] = mapped_column(Float)
    elevation_loss_m: Mapped[float | None] = mapped_column(Float)
    moving_time_s: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)  # elapsed: first to last time
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    point_count: Mapped[int] = mapped_column(Integer)
    simplified_point_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class GPXTrack(Base):
    """The kept (simplified) points of a processed file: one row, the columns packed in one
    blob (domain/packed_track.py). On PostgreSQL `packed` is compressed with lz4 where the
    server has it (the migration sets it); SQLite stores it plain."""

    __tablename__ = "gpx_tracks"

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[int] = mapped_column(SmallInteger)
    point_count: Mapped[int] = mapped_column(Integer)
    segment_count: Mapped[int] = mapped_column(Integer)
    packed: Mapped[bytes] = mapped_column(LargeBinary)


class GPXProfile(Base):
    """A processed file's drawing profile (domain/profile.py), computed from the full points
    while the job runs: ``columns`` flags which float32 columns ``packed`` holds
    (domain/packed_profile.py)."""

    __tablename__ = "gpx_profiles"

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="CASCADE"), primary_key=True
    )
    source_point_count: Mapped[int] = mapped_column(Integer)
    sample_count: Mapped[int] = mapped_column(Integer)
    columns: Mapped[int] = mapped_column(SmallInteger)
    packed: Mapped[bytes] = mapped_column(LargeBinary)


class Trackpoint(Base):
    """LEGACY: a kept point of a file processed before gpx_tracks existed, one row each.

    Only read (services/gpx_files.py) until `contravento backfill-tracks` has converted every
    file; a job that completes deletes its file's rows here and writes its GPXTrack."""

    __tablename__ = "gpx_trackpoints"

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="CASCADE"), primary_key=True
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


class ArchiveImport(Base):
    """The report of a bulk import: an archive (a gpx_files row of format "zip", whose job
    expands it) and what became of its members. `created`: [{gpx_file_id, name}];
    `skipped`: [{name, reason_code, reason}] (services/jobs/imports.py writes both)."""

    __tablename__ = "gpx_imports"

    gpx_file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gpx_files.id", ondelete="CASCADE"), primary_key=True
    )
    members_found: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
