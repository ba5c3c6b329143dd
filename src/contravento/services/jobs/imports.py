"""An archive's job: expand a bulk import (a zip) into files and jobs of its trip.

Run by process_gpx_file for a claimed row of format "zip", under the same lease, fencing,
time limits and retries as any job (machine.py owns the states). For each member, in order:
the directory's checks, then its bytes inflated in bounded chunks (domain/archive.py counts
them against the limits) straight into a storage writer while they are hashed; a member whose
first bytes are an activity (by content) becomes a gpx_files row, pending, in a transaction
that first checks the archive's lease is still ours; its job is handed to `spawn` (the
scheduler: in-process or Celery) at once, or left to the reconciler if there is none.
Members that are not activities, or break a member limit, are skipped with the reason; an
archive-level limit fails the import (the report keeps what was done). A run again (a retry,
a lease taken over) gives the same result: members whose bytes are already in the trip, created
by an earlier run of this import, are listed as created again, others as duplicates.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ...config import Settings
from ...db.models import ArchiveImport, GPXFile
from ...db.types import utcnow
from ...domain.archive import (
    DUPLICATE,
    ArchiveError,
    ArchiveLimits,
    Entry,
    Meter,
    Skip,
    base_name,
    list_members,
    open_archive,
)
from ..context import AppContext
from ..uploads import new_original_key, safe_filename
from . import machine
from .import_members import (
    Pending,
    Staged,
    abort_all,
    commit_all,
    delete_all,
    spool_archive,
    stage_member,
)
from .machine import Claim, JobStatus

log = structlog.get_logger("contravento.imports")

_SAVE_EVERY_S = 0.5  # the report is written at most this often while members are read
# members are written out in batches (one duplicate check, one transaction, one dispatch):
# at most this many, this many bytes held by their writers, or this long
_BATCH_MEMBERS = 16
_BATCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class NewJob:
    """A member's job, created pending, for the scheduler to dispatch."""

    gpx_file_id: uuid.UUID
    trip_id: uuid.UUID
    size_bytes: int
    sha256: str
    request_id: str | None


Spawn = Callable[[list[NewJob]], Awaitable[None]]


def archive_limits(settings: Settings) -> ArchiveLimits:
    mib = 1024 * 1024
    return ArchiveLimits(
        max_members=settings.archive_max_members,
        max_total_bytes=int(settings.archive_max_total_mb * mib),
        max_member_bytes=int(settings.archive_max_member_mb * mib),
        max_ratio=settings.archive_max_ratio,
    )


@dataclass
class _Report:
    members_found: int = 0
    created: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    saved_at: float = 0.0

    def skip(self, name: str, skip: Skip) -> None:
        self.skipped.append({"name": name, "reason_code": skip.code, "reason": skip.reason})

    def values(self) -> dict[str, Any]:
        return {
            "members_found": self.members_found,
            "created": list(self.created),
            "skipped": list(self.skipped),
            "updated_at": utcnow(),
        }


class _Superseded(Exception):
    """The archive's lease was lost: stop, write nothing more."""


class _Expansion:
    def __init__(
        self, ctx: AppContext, held: Claim, cancel: threading.Event, spawn: Spawn | None
    ) -> None:
        self.ctx, self.held, self.cancel, self.spawn = ctx, held, cancel, spawn
        self.limits = archive_limits(ctx.settings)
        self.report = _Report()
        self.earlier: set[str] = set()  # members created by an earlier run of this import
        self.seen: set[str] = set()  # contents met in this run
        self.batch: list[Pending] = []
        self.batch_bytes = 0
        self.owner_id: uuid.UUID | None = None
        self.log = log.bind(gpx_file_id=str(held.gpx_file_id), trip_id=str(held.trip_id))

    async def start(self, members: int) -> None:
        """Load what an earlier run created, then reset the report (fenced)."""
        held = self.held
        async with self.ctx.sessions() as session, session.begin():
            if not await machine.still_held(session, held):
                raise _Superseded()
            self.owner_id = await session.scalar(
                select(GPXFile.owner_id).where(GPXFile.id == held.gpx_file_id)
            )
            before = await session.get(ArchiveImport, held.gpx_file_id)
            if before is not None:
                self.earlier = {str(c["gpx_file_id"]) for c in before.created}
            await session.execute(
                delete(ArchiveImport).where(ArchiveImport.gpx_file_id == held.gpx_file_id)
            )
            self.report.members_found = members
            session.add(ArchiveImport(gpx_file_id=held.gpx_file_id, **self.report.values()))
        self.report.saved_at = time.monotonic()

    async def save(self, session: Any) -> None:
        await session.execute(
            update(ArchiveImport)
            .where(ArchiveImport.gpx_file_id == self.held.gpx_file_id)
            .values(**self.report.values())
        )
        self.report.saved_at = time.monotonic()

    async def save_now(self) -> None:
        async with self.ctx.sessions() as session, session.begin():
            if not await machine.still_held(session, self.held):
                raise _Superseded()
            await self.save(session)

    async def save_if_due(self) -> None:
        if time.monotonic() - self.report.saved_at >= _SAVE_EVERY_S:
            await self.save_now()

    async def member(self, archive: zipfile.ZipFile, entry: Entry, meter: Meter) -> None:
        """Read one member; an activity joins the batch, written out by flush()."""
        file_id = uuid.uuid4()
        key = new_original_key(self.held.trip_id, file_id)
        staged = await asyncio.to_thread(
            stage_member, self.ctx.storage, archive, entry, meter, key, self.cancel
        )
        if isinstance(staged, Skip):
            self.report.skip(entry.name, staged)
            return
        self.batch.append(Pending(entry, staged, file_id, key))
        self.batch_bytes += staged.size
        due = time.monotonic() - self.report.saved_at >= _SAVE_EVERY_S
        if len(self.batch) >= _BATCH_MEMBERS or self.batch_bytes >= _BATCH_BYTES or due:
            await self.flush()

    async def flush(self) -> None:
        """The batch's members: duplicates dropped, the others committed to the store, then
        their rows in one fenced transaction, then their jobs handed to `spawn`."""
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        if not batch:
            return
        fresh: list[Pending] = []
        try:
            existing = await self._existing_many([p.staged.sha256 for p in batch])
            for p in batch:
                sha = p.staged.sha256
                if sha in existing:
                    self._known(p.entry, sha, existing[sha])
                elif sha in self.seen:  # twice in this archive
                    self.report.skip(p.entry.name, DUPLICATE)
                else:
                    fresh.append(p)
                    self.seen.add(sha)
            await asyncio.to_thread(commit_all, fresh, batch)
        except BaseException:
            await asyncio.to_thread(abort_all, batch)
            raise
        jobs = await self._insert_many(fresh)
        if jobs and self.spawn is not None:
            await self.spawn(jobs)

    async def discard_batch(self) -> None:
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        await asyncio.to_thread(abort_all, batch)

    async def _existing_many(self, shas: list[str]) -> dict[str, uuid.UUID]:
        async with self.ctx.sessions() as session:
            rows = await session.execute(
                select(GPXFile.sha256, GPXFile.id).where(
                    GPXFile.trip_id == self.held.trip_id, GPXFile.sha256.in_(shas)
                )
            )
            return {sha: file_id for sha, file_id in rows.all()}

    async def _insert_many(self, fresh: list[Pending]) -> list[NewJob]:
        if not fresh:
            return []
        values = [self._row(p.entry, p.staged, p.file_id, p.key) for p in fresh]
        for p in fresh:
            self._created(p.entry, p.file_id)
        try:
            async with self.ctx.sessions() as session, session.begin():
                if not await machine.still_held(session, self.held):
                    raise _Superseded()
                await session.execute(insert(GPXFile), values)
                await self.save(session)
        except IntegrityError:  # the same bytes raced in from an upload: one by one
            del self.report.created[-len(fresh) :]
            self.seen.difference_update(p.staged.sha256 for p in fresh)
            jobs = []
            for p in fresh:
                job = await self._insert(p.entry, p.staged, p.file_id, p.key)
                if job is not None:
                    jobs.append(job)
            return jobs
        except BaseException:
            del self.report.created[-len(fresh) :]
            await asyncio.to_thread(delete_all, self.ctx.storage, [p.key for p in fresh])
            raise
        held = self.held
        return [
            NewJob(p.file_id, held.trip_id, p.staged.size, p.staged.sha256, held.request_id)
            for p in fresh
        ]

    async def _existing(self, sha256: str) -> uuid.UUID | None:
        async with self.ctx.sessions() as session:
            found: uuid.UUID | None = await session.scalar(
                select(GPXFile.id).where(
                    GPXFile.trip_id == self.held.trip_id, GPXFile.sha256 == sha256
                )
            )
            return found

    def _known(self, entry: Entry, sha256: str, existing: uuid.UUID) -> None:
        """The member's bytes are already a file of the trip."""
        if str(existing) in self.earlier and sha256 not in self.seen:
            self._created(entry, existing)  # this import made it, in an earlier run
        else:
            self.report.skip(entry.name, DUPLICATE)
        self.seen.add(sha256)

    def _created(self, entry: Entry, file_id: uuid.UUID) -> None:
        self.report.created.append({"gpx_file_id": str(file_id), "name": entry.name})

    def _row(self, entry: Entry, staged: Staged, file_id: uuid.UUID, key: str) -> dict[str, Any]:
        held, now = self.held, utcnow()
        return {
            "id": file_id,
            "trip_id": held.trip_id,
            "owner_id": self.owner_id,
            "original_filename": safe_filename(base_name(entry.info.filename)),
            "storage_key": key,
            "size_bytes": staged.size,
            "sha256": staged.sha256,
            "format": str(staged.found.format),
            "compression": str(staged.found.compression) if staged.found.compression else None,
            "processing_status": JobStatus.PENDING,
            "processing_mode": "background",
            "attempts": 0,
            "request_id": held.request_id,
            "created_at": now,
            "updated_at": now,
            # handed to `spawn` right after the commit: the reconciler only steps in if that
            # never happens (a runner that died in between), REDISPATCH_AFTER_S later
            "dispatched_at": now,
        }

    async def _insert(
        self, entry: Entry, staged: Staged, file_id: uuid.UUID, key: str
    ) -> NewJob | None:
        """One member's row (after a batch met a race): a duplicate is listed as such."""
        held = self.held
        values = self._row(entry, staged, file_id, key)
        self._created(entry, file_id)
        self.seen.add(staged.sha256)
        try:
            async with self.ctx.sessions() as session, session.begin():
                if not await machine.still_held(session, held):
                    raise _Superseded()
                await session.execute(insert(GPXFile).values(**values))
                if time.monotonic() - self.report.saved_at >= _SAVE_EVERY_S:
                    await self.save(session)
        except (IntegrityError, _Superseded) as exc:
            self.report.created.pop()
            await asyncio.to_thread(self.ctx.storage.delete, key)
            if isinstance(exc, _Superseded):
                raise
            existing = await self._existing(staged.sha256)  # raced in from an upload
            if existing is None:
                raise
            self.seen.discard(staged.sha256)
            self._known(entry, staged.sha256, existing)
            return None
        except BaseException:
            self.report.created.pop()
            await asyncio.to_thread(self.ctx.storage.delete, key)
            raise
        return NewJob(file_id, held.trip_id, staged.size, staged.sha256, held.request_id)

    async def finish(self) -> bool:
        """One transaction: the archive's job completed (fenced, first) and its report."""
        async with self.ctx.sessions() as session, session.begin():
            if not await machine.complete(session, self.held):
                raise _Superseded()
            await self.save(session)
        return True


async def expand_archive(
    ctx: AppContext, held: Claim, *, cancel: threading.Event, spawn: Spawn | None
) -> bool:
    """Expand the claimed archive; False if its lease was lost (nothing more written).
    ArchiveError: the import fails (its report saved first); transient errors propagate for
    the scheduler to retry the whole job."""
    expansion = _Expansion(ctx, held, cancel, spawn)
    spool = await asyncio.to_thread(spool_archive, ctx.storage, held.storage_key)
    try:
        archive = await asyncio.to_thread(open_archive, spool)
        with archive:
            try:
                entries = list_members(archive, expansion.limits)
                await expansion.start(len(entries))
                meter = Meter(expansion.limits)
                for entry in entries:
                    await expansion.member(archive, entry, meter)
                    await expansion.save_if_due()
                await expansion.flush()
            except ArchiveError as exc:
                expansion.log.info("import_failed", error_code=exc.code, detail=exc.detail)
                if expansion.owner_id is not None:  # the report was started: keep what was done
                    await expansion.flush()
                    await expansion.save_now()
                raise
            done = await expansion.finish()
    except _Superseded:
        return False
    except asyncio.CancelledError:
        cancel.set()  # a member being read in its thread stops at its next chunk
        raise
    finally:
        await expansion.discard_batch()  # writers of a batch an error left unwritten
        await asyncio.to_thread(spool.close)
    r = expansion.report
    expansion.log.info(
        "import_expanded", members=r.members_found, created=len(r.created), skipped=len(r.skipped)
    )
    return done
