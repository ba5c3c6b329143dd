"""Register an uploaded original: durable file first, then the job row, before answering."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import GPXFile, Trip, User
from ..db.types import utcnow
from ..storage import Storage
from ..storage.local import original_key
from .errors import TooManyPendingError, UnsupportedFileTypeError

ACTIVE_STATUSES = ("pending", "processing")


@dataclass(frozen=True)
class StagedUpload:
    """A fully received upload in a temp file of the storage (never in memory)."""

    gpx_file_id: uuid.UUID
    temp_path: Path
    filename: str
    size_bytes: int
    sha256: str
    head: bytes  # first bytes, for the content check


def safe_filename(raw: str | None) -> str:
    """The name to show and send back: basename only, no control chars, bounded length."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip().strip(".") or "recorrido.gpx"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:8]) if dot else name[:200]
    return name


def check_looks_like_gpx(filename: str, head: bytes) -> None:
    if not filename.lower().endswith(".gpx"):
        raise UnsupportedFileTypeError()
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM: the parser decides
        return
    if not text.startswith(b"<"):
        raise UnsupportedFileTypeError()


async def find_duplicate(
    session: AsyncSession, *, trip_id: uuid.UUID, sha256: str
) -> GPXFile | None:
    return await session.scalar(
        select(GPXFile).where(GPXFile.trip_id == trip_id, GPXFile.sha256 == sha256)
    )


# The upload path's statements are built once, with bound parameters: building a select()
# (operators, coercions, cache key) on every request is a measurable share of an upload's CPU.
_ACTIVE_COUNT = (
    select(func.count())
    .select_from(GPXFile)
    .where(
        GPXFile.owner_id == bindparam("owner_id"),
        GPXFile.processing_status.in_(ACTIVE_STATUSES),
    )
    .scalar_subquery()
)
_DUPLICATE_AND_ACTIVE = (
    select(_ACTIVE_COUNT, GPXFile)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(
        GPXFile,
        and_(GPXFile.trip_id == bindparam("trip_id"), GPXFile.sha256 == bindparam("sha256")),
    )
)
_FILES = cast(Table, GPXFile.__table__)
_INSERT_FILE = insert(_FILES)


async def duplicate_and_active(
    session: AsyncSession, *, owner_id: uuid.UUID, trip_id: uuid.UUID, sha256: str
) -> tuple[GPXFile | None, int]:
    """The same bytes already in this trip, and the owner's jobs in ACTIVE_STATUSES, in one
    round trip."""
    params = {"owner_id": owner_id, "trip_id": trip_id, "sha256": sha256}
    row = (await session.execute(_DUPLICATE_AND_ACTIVE, params)).first()
    assert row is not None  # one row from the one-row subquery, joined or not
    return row[1], int(row[0] or 0)


async def _commit_original(storage: Storage, temp: Path, key: str, *, new: bool) -> None:
    """storage.commit_temp in a thread: the rename and its directory fsync wait for the disk,
    and must not stall the event loop. If the request is cancelled meanwhile, a new file is
    removed once the move is over (no row will point to it); a restarted job's stays."""
    moving = asyncio.ensure_future(asyncio.to_thread(storage.commit_temp, temp, key))
    try:
        await asyncio.shield(moving)
    except asyncio.CancelledError:
        if new:
            moving.add_done_callback(lambda _done: storage.delete(key))
        raise


def _insert_values(row: GPXFile) -> dict[str, Any]:
    """Every column of the row (what `prepare` set included); unset ones are None."""
    return {column.key: getattr(row, column.key) for column in _FILES.columns}


# Failures of the service, not of the file: uploading the same bytes again retries the job.
RETRYABLE_FAILURES = frozenset(
    {"GPX_PROCESSING_FAILED", "GPX_PROCESSING_ERROR", "GPX_PROCESSING_TIMEOUT", "GPX_FILE_MISSING"}
)


def _failed_by_us(row: GPXFile) -> bool:
    return row.processing_status == "failed" and row.error_code in RETRYABLE_FAILURES


def _reset_for_retry(row: GPXFile, request_id: str | None) -> None:
    row.processing_status, row.processing_mode, row.celery_task_id = "pending", "background", None
    row.attempts = 0
    row.error_code = row.error_message = row.processed_by = None
    row.started_at = row.finished_at = None
    row.request_id = request_id
    row.updated_at = utcnow()


async def register_upload(
    session: AsyncSession,
    storage: Storage,
    *,
    owner: User,
    trip: Trip,
    staged: StagedUpload,
    max_active: int,
    request_id: str | None = None,
    prepare: Callable[[GPXFile], None] | None = None,
) -> tuple[GPXFile, bool]:
    """Store the original and create its pending job. Returns (file, created).

    The same bytes uploaded again to the same trip return the existing file (created=False),
    unless its job failed for a reason of the service (RETRYABLE_FAILURES): then the original
    is stored again and the job restarts from zero (created=True).
    Whatever fails, the temp file is removed: nothing half-written stays behind.
    `prepare` may set fields of the new row before its INSERT (the dispatcher's routing).
    """
    # Plain ids, read before anything can roll the session back: a rollback expires the
    # dependency's `trip` and `owner`, and reloading them lazily is not possible under asyncio.
    trip_id, owner_id = trip.id, owner.id
    try:
        check_looks_like_gpx(staged.filename, staged.head)
        existing, active = await duplicate_and_active(
            session, owner_id=owner_id, trip_id=trip_id, sha256=staged.sha256
        )
        if existing is not None:
            if not _failed_by_us(existing):
                return existing, False
            if active >= max_active:
                raise TooManyPendingError(max_active)
            # the job failed for a reason of ours, not of the file: these bytes start it again
            await _commit_original(storage, staged.temp_path, existing.storage_key, new=False)
            _reset_for_retry(existing, request_id)
            if prepare is not None:
                prepare(existing)
            await session.commit()
            return existing, True
        if active >= max_active:
            raise TooManyPendingError(max_active)
        now = utcnow()
        key = original_key(
            year=now.year,
            month=now.month,
            trip_id=str(trip_id),
            gpx_file_id=str(staged.gpx_file_id),
        )
        await _commit_original(storage, staged.temp_path, key, new=True)
        row = GPXFile(
            id=staged.gpx_file_id,
            trip_id=trip_id,
            owner_id=owner_id,
            original_filename=staged.filename,
            storage_key=key,
            size_bytes=staged.size_bytes,
            sha256=staged.sha256,
            processing_status="pending",
            processing_mode="background",
            celery_task_id=None,
            attempts=0,
            request_id=request_id,
            created_at=now,
            updated_at=now,
        )
        if prepare is not None:
            prepare(row)
        try:
            # a Core INSERT of the row's values: the returned `row` stays a plain (transient)
            # object, and the unit of work's flush machinery is not needed for one new row
            await session.execute(_INSERT_FILE, _insert_values(row))
            await session.commit()
        except IntegrityError:  # the same bytes raced in from a parallel request
            await session.rollback()
            storage.delete(key)
            existing = await find_duplicate(session, trip_id=trip_id, sha256=staged.sha256)
            if existing is None:
                raise
            return existing, False
        except asyncio.CancelledError:
            # The INSERT commits by itself and may have landed before the cancellation: keep
            # the original (a file no row points to is harmless; a row without its file is not).
            raise
        except BaseException:
            storage.delete(key)
            raise
        return row, True
    finally:
        staged.temp_path.unlink(missing_ok=True)
