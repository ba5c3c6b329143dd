"""The job's state machine: states, transitions, attempts, leases and the retry schedule.

Every change of a job's status goes through this module, as one conditional UPDATE on its row
(the row is the source of truth; no lock is held between statements):

    pending ──claim──▶ processing ──complete──▶ completed
       ▲                  │  ├──fail──────────▶ failed      (the file's fault, a time limit)
       └──retry (delay)───┘  └──retry, no attempts left──▶ failed (GPX_PROCESSING_FAILED)
    processing, lease expired ──claim──▶ processing          (its runner died)

A claim takes a `pending` row that is due, or a `processing` row whose lease has expired; it
adds one to `attempts`, and that number is the run's fencing token: renewals and the final
write only touch the row while it still carries it, so a run presumed dead that comes back
late changes nothing. Every claim counts as an attempt, crashes included; a row claimed with
no attempts left fails. Retries wait RETRY_BASE_S * 2**(n-1) (+ jitter) in `next_attempt_at`.

Every transition that changed a row also announces it (notify.announce) in the same
transaction: PostgreSQL delivers that at COMMIT, so the live streams (GET /gpx/{id}/events)
re-read the row after the change is visible, never before, wherever it was made.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...config import Settings
from ...db.models import GPXFile
from ...db.types import utcnow
from ..context import AppContext
from .notify import announce


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE = (JobStatus.PENDING, JobStatus.PROCESSING)
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)
RETRYING = "retrying"  # what a client is told of a pending job waiting for its next attempt


def public_state(
    status: str, attempts: int, next_attempt_at: datetime | None, now: datetime
) -> str:
    """The state a client sees: the status, or `retrying` for a pending job that already
    failed an attempt and waits until next_attempt_at."""
    waiting = next_attempt_at is not None and next_attempt_at > now
    if status == JobStatus.PENDING and attempts > 0 and waiting:
        return RETRYING
    return str(status)


@dataclass(frozen=True)
class Failure:
    """Why a job failed: a stable code and the Spanish message the cyclist reads."""

    code: str
    message: str


EXHAUSTED = Failure(
    "GPX_PROCESSING_FAILED",
    "No se pudo procesar el archivo tras varios intentos por un problema temporal del servicio. "
    "Vuelve a subirlo más tarde.",
)
TIMEOUT = Failure(
    "GPX_PROCESSING_TIMEOUT", "El procesamiento del archivo tardó demasiado y se ha cancelado."
)
INTERNAL = Failure(
    "GPX_PROCESSING_ERROR",
    "No se pudo procesar el archivo por un error interno. Lo revisaremos; "
    "puedes descargar el original o volver a subirlo más tarde.",
)
# Failures of the service, not of the file: uploading the same bytes again restarts the job.
SERVICE_FAILURES = frozenset({EXHAUSTED.code, TIMEOUT.code, INTERNAL.code, "GPX_FILE_MISSING"})


class RetryPolicy:
    """The one attempts rule and retry schedule, for Celery and in-process jobs alike."""

    def __init__(self, settings: Settings) -> None:
        self.max_attempts = max(settings.max_attempts, 1)
        self.base_s = settings.retry_base_s
        self.jitter_s = settings.retry_jitter_s

    def may_attempt(self, attempts_done: int) -> bool:
        return attempts_done < self.max_attempts

    def delay_s(self, attempts_done: int) -> float:
        """After the n-th failed attempt: base * 2**(n-1), plus 0..jitter (60, 120, 240 s)."""
        return float(self.base_s * 2.0 ** max(attempts_done - 1, 0)) + random.uniform(
            0.0, self.jitter_s
        )

    @property
    def longest_delay_s(self) -> float:
        return float(self.base_s * 2.0 ** max(self.max_attempts - 2, 0) + self.jitter_s)


@dataclass(frozen=True)
class Claim:
    """A run's hold on a job: the fencing number is the attempt it was claimed as."""

    gpx_file_id: uuid.UUID
    trip_id: uuid.UUID
    storage_key: str
    fence: int
    request_id: str | None = None
    format: str = "gpx"  # what the original is (an archive's job expands it: jobs/imports.py)


@dataclass(frozen=True)
class Refused:
    """Why a claim was not granted: the row is missing, finished, running under a live lease,
    not due yet, or it had no attempts left (and is now failed)."""

    reason: Literal["missing", "finished", "leased", "not_due", "exhausted"]
    status: str | None = None
    attempts: int = 0
    until: datetime | None = None  # when the live lease expires, or the retry is due


_COLUMNS = (
    GPXFile.id, GPXFile.trip_id, GPXFile.storage_key, GPXFile.attempts, GPXFile.request_id,
    GPXFile.format,
)  # fmt: skip


def _claimable(now: datetime) -> ColumnElement[bool]:
    due = or_(GPXFile.next_attempt_at.is_(None), GPXFile.next_attempt_at <= now)
    expired = or_(GPXFile.lease_expires_at.is_(None), GPXFile.lease_expires_at < now)
    return or_(
        and_(GPXFile.processing_status == JobStatus.PENDING, due),
        and_(GPXFile.processing_status == JobStatus.PROCESSING, expired),
    )


def _fenced(claim: Claim) -> ColumnElement[bool]:
    return and_(
        GPXFile.id == claim.gpx_file_id,
        GPXFile.attempts == claim.fence,
        GPXFile.processing_status == JobStatus.PROCESSING,
    )


def _failed_values(failure: Failure, now: datetime) -> dict[str, Any]:
    return {
        "processing_status": JobStatus.FAILED,
        "error_code": failure.code,
        "error_message": failure.message,
        "finished_at": now,
        "lease_expires_at": None,
        "next_attempt_at": None,
        "updated_at": now,
    }


async def _announced(session: AsyncSession, file_id: uuid.UUID, result: Any) -> bool:
    """Whether the UPDATE changed the row; if it did, announce it (delivered at COMMIT)."""
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        await announce(session, file_id)
    return changed


async def claim(ctx: AppContext, file_id: uuid.UUID, *, worker: str | None) -> Claim | Refused:
    """Take the job's lease for one attempt, or say why not (one short transaction)."""
    policy, now = RetryPolicy(ctx.settings), utcnow()
    async with ctx.sessions() as session, session.begin():
        taken = await session.execute(
            update(GPXFile)
            .where(GPXFile.id == file_id, _claimable(now), GPXFile.attempts < policy.max_attempts)
            .values(
                processing_status=JobStatus.PROCESSING,
                attempts=GPXFile.attempts + 1,
                lease_expires_at=now + timedelta(seconds=ctx.settings.lease_s),
                next_attempt_at=None,
                started_at=now,
                processed_by=worker,
                error_code=None,
                error_message=None,
                duplicate_of_id=None,
                updated_at=now,
            )
            .returning(*_COLUMNS)
        )
        row = taken.first()
        if row is not None:
            await announce(session, file_id)
            return Claim(
                row.id, row.trip_id, row.storage_key, row.attempts, row.request_id, row.format
            )
        spent = await session.execute(
            update(GPXFile)
            .where(GPXFile.id == file_id, _claimable(now))
            .values(**_failed_values(EXHAUSTED, now))
            .returning(GPXFile.attempts)
        )
        attempts = spent.scalar()
        if attempts is not None:
            await announce(session, file_id)
            return Refused("exhausted", JobStatus.FAILED, attempts)
        found = (
            await session.execute(
                select(
                    GPXFile.processing_status,
                    GPXFile.attempts,
                    GPXFile.lease_expires_at,
                    GPXFile.next_attempt_at,
                ).where(GPXFile.id == file_id)
            )
        ).first()
    if found is None:
        return Refused("missing")
    status, attempts, lease, due = found
    if status in FINISHED:
        return Refused("finished", status, attempts)
    if status == JobStatus.PROCESSING:
        return Refused("leased", status, attempts, lease)
    return Refused("not_due", status, attempts, due)


async def renew(ctx: AppContext, held: Claim) -> bool:
    """Extend the lease; False when the run no longer holds it (it must stop)."""
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        result = await session.execute(
            update(GPXFile)
            .where(_fenced(held))
            .values(lease_expires_at=now + timedelta(seconds=ctx.settings.lease_s))
        )
    return bool(getattr(result, "rowcount", 0))


async def complete(session: AsyncSession, held: Claim) -> bool:
    """Inside the job's final transaction, first: mark it completed if the lease is still ours.

    On PostgreSQL the UPDATE locks the row until the transaction ends, so a second finisher
    waits and then finds the fencing number changed. False: write nothing else, roll back."""
    now = utcnow()
    result = await session.execute(
        update(GPXFile)
        .where(_fenced(held))
        .values(
            processing_status=JobStatus.COMPLETED,
            finished_at=now,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
            updated_at=now,
        )
    )
    return await _announced(session, held.gpx_file_id, result)


async def fail_as_duplicate(
    session: AsyncSession, held: Claim, failure: Failure, duplicate_of: uuid.UUID
) -> bool:
    """Inside the job's final transaction, after `complete` (so the row is already ours and
    locked): its ride is in the trip already, the job fails pointing at that file."""
    result = await session.execute(
        update(GPXFile)
        .where(GPXFile.id == held.gpx_file_id, GPXFile.attempts == held.fence)
        .values(**_failed_values(failure, utcnow()), duplicate_of_id=duplicate_of)
    )
    return await _announced(session, held.gpx_file_id, result)


async def still_held(session: AsyncSession, held: Claim) -> bool:
    """Inside a transaction of a running job that writes more than its own row (an archive's
    members): True while the lease is ours. On PostgreSQL the row stays locked until the
    transaction ends, so a newer run cannot complete or fail it meanwhile."""
    result = await session.execute(update(GPXFile).where(_fenced(held)).values(updated_at=utcnow()))
    return bool(getattr(result, "rowcount", 0))


async def fail(ctx: AppContext, held: Claim, failure: Failure) -> bool:
    """The job cannot succeed (its file, a time limit, a bug): failed, if still ours."""
    async with ctx.sessions() as session, session.begin():
        result = await session.execute(
            update(GPXFile).where(_fenced(held)).values(**_failed_values(failure, utcnow()))
        )
        return await _announced(session, held.gpx_file_id, result)


@dataclass(frozen=True)
class RetryDecision:
    """What a transient failure led to: another attempt after `delay_s`, or failed."""

    retry: bool
    delay_s: float = 0.0
    attempts: int = 0
    held: bool = True  # False: the lease was lost meanwhile, the row was left alone


async def retry_later(ctx: AppContext, held: Claim, *, timer: bool) -> RetryDecision:
    """After a transient error: back to pending, due in delay_s (the row carries the retry);
    failed with GPX_PROCESSING_FAILED once the attempts are used up.

    timer=True: the runner delivers the retry itself when due (an in-process timer); the row
    records it as dispatched then, so the reconciler only steps in if that runner is gone.
    timer=False: nothing else will (a Celery retry carried by the row): the reconciler
    dispatches the job as soon as it is due."""
    policy, now = RetryPolicy(ctx.settings), utcnow()
    if not policy.may_attempt(held.fence):
        return RetryDecision(False, attempts=held.fence, held=await fail(ctx, held, EXHAUSTED))
    delay = policy.delay_s(held.fence)
    due = now + timedelta(seconds=delay)
    async with ctx.sessions() as session, session.begin():
        result = await session.execute(
            update(GPXFile)
            .where(_fenced(held))
            .values(
                processing_status=JobStatus.PENDING,
                lease_expires_at=None,
                next_attempt_at=due,
                dispatched_at=due if timer else None,
                updated_at=now,
            )
        )
        changed = await _announced(session, held.gpx_file_id, result)
    return RetryDecision(True, delay, held.fence, changed)


async def mark_dispatched(
    session: AsyncSession, file_id: uuid.UUID, *, mode: str, task_id: str | None
) -> None:
    """A runner was asked to take the job now (a message published, an in-process run)."""
    now = utcnow()
    result = await session.execute(
        update(GPXFile)
        .where(GPXFile.id == file_id)
        .values(processing_mode=mode, celery_task_id=task_id, dispatched_at=now, updated_at=now)
    )
    await _announced(session, file_id, result)


@dataclass(frozen=True)
class Stranded:
    """A job that nobody holds: pending and due but not dispatched lately, or processing
    under an expired lease."""

    gpx_file_id: uuid.UUID
    status: str
    mode: str
    task_id: str | None
    dispatched_at: datetime | None
    trip_id: uuid.UUID
    request_id: str | None


async def stranded(ctx: AppContext, *, limit: int = 500) -> list[Stranded]:
    """The reconciler's sweep (one indexed query over active rows).

    A lease that expired on a run claimed since the job's last dispatch is taken at once (that
    runner died); a job dispatched again and not claimed yet, or pending, waits until its last
    dispatch is REDISPATCH_AFTER_S old, so a job waiting its turn is not handed out each pass."""
    now = utcnow()
    quiet_since = now - timedelta(seconds=ctx.settings.redispatch_after_s)
    claimed_since = or_(
        GPXFile.dispatched_at.is_(None), GPXFile.started_at >= GPXFile.dispatched_at
    )
    not_recent = or_(
        GPXFile.dispatched_at.is_(None),
        GPXFile.dispatched_at <= quiet_since,
        and_(GPXFile.processing_status == JobStatus.PROCESSING, claimed_since),
    )
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(
                GPXFile.id,
                GPXFile.processing_status,
                GPXFile.processing_mode,
                GPXFile.celery_task_id,
                GPXFile.dispatched_at,
                GPXFile.trip_id,
                GPXFile.request_id,
            )
            .where(GPXFile.processing_status.in_(ACTIVE), _claimable(now), not_recent)
            .order_by(GPXFile.created_at)
            .limit(limit)
        )
        return [Stranded(*row) for row in rows.all()]
