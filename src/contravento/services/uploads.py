"""Register an uploaded original: the object stored first, then the job row, before answering."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy import Table, and_, bindparam, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..db.models import GPXFile, Trip, User
from ..db.types import utcnow
from ..domain.formats import Sniffed, sniff
from ..storage import ObjectWriter, Storage, original_key
from .errors import TooManyPendingError, UnsupportedFileTypeError
from .jobs.machine import SERVICE_FAILURES, JobStatus
from .upload_admission import ACTIVE_COUNT, insert_if_room, update_if_room

log = structlog.get_logger("contravento.uploads")


@dataclass(frozen=True)
class StagedUpload:
    """A fully received upload, held by a storage writer (never in memory, never committed)."""

    gpx_file_id: uuid.UUID
    key: str  # where a new job's original is stored
    writer: ObjectWriter
    filename: str
    size_bytes: int
    sha256: str
    head: bytes  # first bytes, for the content check


def new_original_key(trip_id: uuid.UUID, gpx_file_id: uuid.UUID) -> str:
    now = utcnow()
    return original_key(
        year=now.year, month=now.month, trip_id=str(trip_id), gpx_file_id=str(gpx_file_id)
    )


def safe_filename(raw: str | None) -> str:
    """The name to show and send back: basename only, no control chars, bounded length."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip().strip(".") or "recorrido.gpx"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:8]) if dot else name[:200]
    return name


def recording_format(head: bytes) -> Sniffed:
    """What the upload is, by its content (the name and the client's type are ignored):
    a recording we read (maybe gzip-wrapped), a zip archive (a bulk import, expanded by its
    own job), or UnsupportedFileTypeError (415)."""
    found = sniff(head)
    if found.format is None and found.archive is None:
        raise UnsupportedFileTypeError()
    return found


async def find_duplicate(
    session: AsyncSession, *, trip_id: uuid.UUID, sha256: str
) -> GPXFile | None:
    return await session.scalar(
        select(GPXFile).where(GPXFile.trip_id == trip_id, GPXFile.sha256 == sha256)
    )


# The upload path's statements are built once, with bound parameters: building a select()
# (operators, coercions, cache key) on every request is a measurable share of an upload's CPU.
_DUPLICATE_AND_ACTIVE = (
    select(ACTIVE_COUNT, GPXFile)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(
        GPXFile,
        and_(GPXFile.trip_id == bindparam("trip_id"), GPXFile.sha256 == bindparam("sha256")),
    )
)
_FILES = cast(Table, GPXFile.__table__)


async def duplicate_and_active(
    session: AsyncSession, *, owner_id: uuid.UUID, trip_id: uuid.UUID, sha256: str
) -> tuple[GPXFile | None, int]:
    """The same bytes already in this trip, and the owner's jobs in ACTIVE_STATUSES, in one
    round trip."""
    params = {"active_owner": owner_id, "trip_id": trip_id, "sha256": sha256}
    row = (await session.execute(_DUPLICATE_AND_ACTIVE, params)).first()
    assert row is not None  # one row from the one-row subquery, joined or not
    return row[1], int(row[0] or 0)


_background: set[asyncio.Future[None]] = set()


def _start_in_thread(action: Callable[[], None]) -> asyncio.Future[None]:
    """A blocking storage call in a thread, held until it ends (whatever the request does)."""
    running = asyncio.ensure_future(asyncio.to_thread(action))
    _background.add(running)
    running.add_done_callback(_background.discard)
    return running


async def _commit_original(storage: Storage, writer: ObjectWriter, key: str, *, new: bool) -> None:
    """writer.commit in a thread (fsync and rename, or the last part and the completion of a
    multipart upload): it must not stall the event loop. If the request is cancelled meanwhile,
    a new object is deleted once the commit is over (no row will point to it); a restarted
    job's stays."""
    committing = _start_in_thread(lambda: writer.commit(key))

    def forget(_done: asyncio.Future[None]) -> None:
        _start_in_thread(lambda: _delete_quietly(storage, key))

    try:
        await asyncio.shield(committing)
    except asyncio.CancelledError:
        if new:
            committing.add_done_callback(forget)
        raise


def _delete_quietly(storage: Storage, key: str) -> None:
    """Cleanup after a failure: if the store is down too, the orphan sweep deletes it later."""
    try:
        storage.delete(key)
    except OSError as exc:
        log.warning("orphan_left_for_sweep", storage_key=key, error=str(exc))


async def discard(writer: ObjectWriter) -> None:
    """Drop an uncommitted upload (a no-op once committed), in a thread; a cancelled request
    does not interrupt it."""
    await asyncio.shield(_start_in_thread(writer.abort))


def _insert_values(row: GPXFile) -> dict[str, Any]:
    """Every column of the row (what `prepare` set included); unset ones are None."""
    return {column.key: getattr(row, column.key) for column in _FILES.columns}


def _failed_by_us(row: GPXFile) -> bool:
    return row.processing_status == JobStatus.FAILED and row.error_code in SERVICE_FAILURES


def _reset_for_retry(row: GPXFile, request_id: str | None) -> None:
    row.processing_status, row.processing_mode = JobStatus.PENDING, "background"
    row.celery_task_id = None
    row.attempts = 0
    row.error_code = row.error_message = row.processed_by = None
    row.started_at = row.finished_at = None
    row.request_id = request_id
    row.updated_at = utcnow()


async def register_upload(
    session: AsyncSession,
    storage: Storage,
    *,
    transactions: async_sessionmaker[AsyncSession],
    owner: User,
    trip: Trip,
    staged: StagedUpload,
    max_active: int,
    request_id: str | None = None,
    prepare: Callable[[GPXFile], None] | None = None,
) -> tuple[GPXFile, bool]:
    """Store the original and create its pending job. Returns (file, created).

    `session` serves the checks (autocommit is fine); the write that makes a job active runs
    in a transaction of `transactions`, where the limit of `max_active` jobs per owner holds
    under concurrency (upload_admission).
    The same bytes uploaded again to the same trip return the existing file (created=False),
    unless its job failed for a reason of the service (SERVICE_FAILURES): then the original
    is stored again and the job restarts from zero (created=True).
    Whatever fails, the writer is aborted and a stored object deleted: nothing stays behind.
    `prepare` may set fields of the new row before its INSERT (the dispatcher's routing).
    """
    # Plain ids, read before anything can roll the session back: a rollback expires the
    # dependency's `trip` and `owner`, and reloading them lazily is not possible under asyncio.
    trip_id, owner_id = trip.id, owner.id
    try:
        prepare = _with_format(recording_format(staged.head), prepare)
        existing, active = await duplicate_and_active(
            session, owner_id=owner_id, trip_id=trip_id, sha256=staged.sha256
        )
        # Give the check's connection back before the admission checks one out: a request
        # holding one connection while it waits for a second deadlocks a burst as large as
        # the pool (seen in CI: 16 parallel uploads on SQLite's pool of 15, all 500 after 30 s).
        await session.commit()
        if existing is not None and not _failed_by_us(existing):
            return existing, False
        if active >= max_active:  # cheap early answer; the admission below is what holds
            raise TooManyPendingError(max_active)
        if existing is not None:
            # the job failed for a reason of ours, not of the file: these bytes start it again
            return await _restart(
                session, storage, transactions, existing, staged, max_active, request_id, prepare
            ), True
        return await _create(
            session, storage, transactions, owner_id, trip_id, staged, max_active, request_id,
            prepare,
        )  # fmt: skip
    finally:
        await discard(staged.writer)


async def _restart(
    session: AsyncSession,
    storage: Storage,
    transactions: async_sessionmaker[AsyncSession],
    existing: GPXFile,
    staged: StagedUpload,
    max_active: int,
    request_id: str | None,
    prepare: Callable[[GPXFile], None] | None,
) -> GPXFile:
    await _commit_original(storage, staged.writer, existing.storage_key, new=False)
    session.expunge(existing)  # changed below by a guarded UPDATE, not by the unit of work
    _reset_for_retry(existing, request_id)
    if prepare is not None:
        prepare(existing)
    values = {k: v for k, v in _insert_values(existing).items() if k not in _IDENTITY}
    async with transactions() as tx, tx.begin():
        admitted = await update_if_room(
            tx, file_id=existing.id, owner_id=existing.owner_id, values=values,
            max_active=max_active,
        )  # fmt: skip
    if not admitted:
        raise TooManyPendingError(max_active)
    return existing


def _with_format(
    found: Sniffed, prepare: Callable[[GPXFile], None] | None
) -> Callable[[GPXFile], None]:
    """`prepare`, after recording on the row what its content is."""

    def prepare_row(row: GPXFile) -> None:
        row.format = str(found.archive or found.format)  # "zip": an import (jobs/imports.py)
        row.compression = str(found.compression) if found.compression else None
        if prepare is not None:
            prepare(row)

    return prepare_row


_IDENTITY = frozenset({"id", "trip_id", "owner_id", "storage_key", "sha256", "created_at"})


async def _create(
    session: AsyncSession,
    storage: Storage,
    transactions: async_sessionmaker[AsyncSession],
    owner_id: uuid.UUID,
    trip_id: uuid.UUID,
    staged: StagedUpload,
    max_active: int,
    request_id: str | None,
    prepare: Callable[[GPXFile], None] | None,
) -> tuple[GPXFile, bool]:
    key = staged.key
    await _commit_original(storage, staged.writer, key, new=True)
    now = utcnow()
    row = GPXFile(
        id=staged.gpx_file_id,
        trip_id=trip_id,
        owner_id=owner_id,
        original_filename=staged.filename,
        storage_key=key,
        size_bytes=staged.size_bytes,
        sha256=staged.sha256,
        processing_status=JobStatus.PENDING,
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
        async with transactions() as tx, tx.begin():
            admitted = await insert_if_room(tx, _insert_values(row), max_active=max_active)
    except IntegrityError:  # the same bytes raced in from a parallel request
        await asyncio.to_thread(_delete_quietly, storage, key)
        existing = await find_duplicate(session, trip_id=trip_id, sha256=staged.sha256)
        if existing is None:
            raise
        return existing, False
    except asyncio.CancelledError:
        # The COMMIT may have landed before the cancellation: keep the original (an object no
        # row points to is harmless, and the orphan sweep removes it; a row without it is not).
        raise
    except BaseException:
        await asyncio.to_thread(_delete_quietly, storage, key)
        raise
    if not admitted:
        await asyncio.to_thread(_delete_quietly, storage, key)
        raise TooManyPendingError(max_active)
    return row, True
