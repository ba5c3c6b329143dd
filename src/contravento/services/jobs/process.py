"""process_gpx_file: the one processing path, scheduled in-process or by a Celery worker.

1. claim the job (machine.claim: its lease, fencing number = attempt);
2. while the lease is renewed: read the original, run the pure domain in a thread;
3. in ONE transaction, only if the lease is still ours: status completed, the track (one
   gpx_tracks row of packed points), the drawing profile (one gpx_profiles row),
   statistics; unless the same ride is already completed in the trip (twins.py), then the
   job fails DUPLICATE_RIDE pointing at it. A file that cannot be read fails the job with
   the domain error's code.
Running it twice, or a late run after a newer one, leaves the rows of exactly one run.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import structlog
from sqlalchemy import delete

from ...db.models import RouteStatsRow
from ...db.profiles import replace_profile
from ...db.tracks import replace_track
from ...db.types import utcnow
from ...domain import GPXError, ProcessingCancelled, TrackSummary, summarize
from ...domain.archive import ARCHIVE_FORMAT
from ..context import AppContext
from ..errors import StorageMissingError, TransientProcessingError
from ..transient import is_transient
from . import machine, twins
from .heartbeat import lease_kept
from .imports import Spawn, expand_archive
from .machine import INTERNAL, TIMEOUT, Claim, Failure, Refused

log = structlog.get_logger("contravento.processing")

Outcome = Literal["completed", "failed", "skipped", "missing", "superseded", "busy"]
# the domain's threads: a parse abandoned after the hard time limit keeps its thread until
# it reaches its next cancellation check; the others go on meanwhile
_DOMAIN = ThreadPoolExecutor(max_workers=4, thread_name_prefix="domain")


class TransientJobError(TransientProcessingError):
    """A transient failure of one run: `held` is its claim (None if it never got one)."""

    def __init__(self, message: str, held: Claim | None) -> None:
        super().__init__(message)
        self.held = held


@dataclass(frozen=True)
class JobResult:
    outcome: Outcome
    attempts: int = 0
    duration_ms: float = 0.0
    error_code: str | None = None
    error_message: str | None = None
    # busy: another run holds the job (or its retry is not due): ask again after this long
    again_in_s: float | None = None


@dataclass
class JobRun:
    """What a scheduler may need after an interruption it caused (a Celery soft time limit)."""

    held: Claim | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    # an archive's job hands each member's new job to this (None: the reconciler finds them)
    spawn: Spawn | None = None


@dataclass(frozen=True)
class TimeLimits:
    """In-process jobs get Celery's limits: soft fails the job, hard abandons its thread."""

    soft_s: float
    hard_s: float


def read_original(ctx: AppContext, key: str) -> bytes:
    try:
        return ctx.storage.read(key)
    except FileNotFoundError as exc:
        raise StorageMissingError(key) from exc


def _run_domain(ctx: AppContext, data: bytes, cancel: threading.Event) -> TrackSummary:
    settings = ctx.settings
    return summarize(
        data,
        tolerance_m=settings.gpx_simplify_tolerance_m,
        stop_speed_kmh=settings.gpx_stop_speed_kmh,
        max_speed_kmh=settings.gpx_max_speed_kmh,
        max_points=settings.gpx_max_points,
        should_stop=cancel.is_set,
        max_inflated_bytes=int(settings.gpx_max_inflated_mb * 1024 * 1024),
        received_at=utcnow(),  # for the GPS week-rollover rule (a 14-day window)
    )


def _stats_row(file_id: uuid.UUID, summary: TrackSummary) -> RouteStatsRow:
    stats = summary.stats
    data = summary.stats_document()  # headline values: an indoor ride's distance is the device's
    data["simplified_point_count"] = summary.simplified.point_count
    data["simplify_tolerance_m"] = summary.simplified.tolerance_m
    return RouteStatsRow(
        gpx_file_id=file_id,
        distance_km=data["distance_km"],
        elevation_gain_m=data["elevation_gain_m"],
        elevation_loss_m=data["elevation_loss_m"],
        moving_time_s=data["moving_time_s"],
        duration_s=data["duration_s"],
        start_time=summary.ride_key().start_time,
        point_count=stats.point_count,
        simplified_point_count=summary.simplified.point_count,
        data=data,
    )


class _Superseded(Exception):
    """The fencing check failed inside the final transaction: roll it back."""


async def _finish(ctx: AppContext, held: Claim, summary: TrackSummary) -> bool | Failure:
    """One transaction: status (fenced, first), track and profile (one row each), stats.
    False if not ours; the Failure written if the ride is already in the trip."""
    file_id = held.gpx_file_id
    ride = summary.ride_key()
    try:
        async with ctx.sessions() as session, session.begin():
            if ride.start_time is not None:
                await twins.lock_trip(session, held.trip_id)
            if not await machine.complete(session, held):
                raise _Superseded()
            twin = await twins.find_twin(
                session, trip_id=held.trip_id, gpx_file_id=file_id, ride=ride
            )
            if twin is not None:
                failure = twins.duplicate_failure(twin)
                await machine.fail_as_duplicate(session, held, failure, twin.gpx_file_id)
                return failure
            await replace_track(session, file_id, summary.simplified)
            await replace_profile(session, file_id, summary.profile)
            await session.execute(delete(RouteStatsRow).where(RouteStatsRow.gpx_file_id == file_id))
            session.add(_stats_row(file_id, summary))
    except _Superseded:
        return False
    return True


async def _parse(
    ctx: AppContext, data: bytes, run: JobRun, limits: TimeLimits | None
) -> TrackSummary:
    """The domain in its thread; on cancellation the thread is told to stop, and (with time
    limits) waited for until the hard limit, after which it is abandoned."""
    future: Future[TrackSummary] = _DOMAIN.submit(_run_domain, ctx, data, run.cancel)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        run.cancel.set()  # the parsing thread stops at its next check instead of running on
        if limits is not None and not future.done():
            grace = max(limits.hard_s - limits.soft_s, 0.0)
            done, _ = await asyncio.shield(
                asyncio.wait([asyncio.wrap_future(future)], timeout=grace)
            )
            if not done:
                log.error("job_thread_abandoned", hard_limit_s=limits.hard_s)
        raise


def _refused(refused: Refused, file_id: uuid.UUID) -> JobResult:
    if refused.reason == "missing":  # deleted meanwhile, or an id that never was a job
        log.warning("job_missing", gpx_file_id=str(file_id))
        return JobResult("missing")
    if refused.reason == "exhausted":
        log.error("job_attempts_exhausted", attempts=refused.attempts)
        return JobResult(
            "failed", refused.attempts, error_code=machine.EXHAUSTED.code,
            error_message=machine.EXHAUSTED.message,
        )  # fmt: skip
    if refused.until is not None:  # a live lease, or a retry not yet due
        wait = max((refused.until - utcnow()).total_seconds(), 0.0)
        return JobResult("busy", refused.attempts, again_in_s=wait)
    return JobResult("skipped", refused.attempts)


async def process_gpx_file(
    ctx: AppContext,
    gpx_file_id: uuid.UUID,
    *,
    worker: str | None = None,
    run: JobRun | None = None,
    limits: TimeLimits | None = None,
) -> JobResult:
    """Process one job. Raises TransientJobError for the scheduler to retry."""
    started, run = time.perf_counter(), run or JobRun()
    try:
        got = await machine.claim(ctx, gpx_file_id, worker=worker)
    except Exception as exc:
        if is_transient(exc):
            raise TransientJobError(f"database unavailable: {exc!r}", None) from exc
        raise
    if isinstance(got, Refused):
        return _refused(got, gpx_file_id)
    held = run.held = got
    bound = log.bind(gpx_file_id=str(gpx_file_id), trip_id=str(held.trip_id), attempt=held.fence)
    failure: Failure | None = None
    soft = asyncio.timeout(limits.soft_s if limits else None)
    try:
        async with lease_kept(ctx, held) as lease:
            try:
                async with soft:
                    ours: bool | Failure
                    if held.format == ARCHIVE_FORMAT:  # a bulk import: expand it (imports.py)
                        ours = await expand_archive(ctx, held, cancel=run.cancel, spawn=run.spawn)
                    else:
                        data = await asyncio.to_thread(read_original, ctx, held.storage_key)
                        summary = await _parse(ctx, data, run, limits)
                        del data
                        ours = await _finish(ctx, held, summary)
            except asyncio.CancelledError:
                if not lease.lost:
                    raise
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                bound.warning("job_superseded")
                return _result("superseded", held, started)
    except TimeoutError as exc:
        if not soft.expired():  # a driver's own timeout, not the job's time limit
            raise TransientJobError(f"timed out: {exc!r}", held) from exc
        failure = TIMEOUT
        bound.error("job_soft_time_limit", soft_limit_s=limits.soft_s if limits else None)
    except GPXError as exc:
        failure = Failure(exc.code, exc.message)
        bound.info("job_failed", error_code=exc.code, detail=exc.detail)
    except StorageMissingError as exc:
        failure = Failure(exc.code, exc.message)
        bound.error("job_original_missing", storage_key=held.storage_key)
    except ProcessingCancelled:
        raise asyncio.CancelledError() from None
    except Exception as exc:
        if is_transient(exc):
            raise TransientJobError(f"database or storage error: {exc!r}", held) from exc
        # the same input would fail the same way again: fail now, never loop
        bound.exception("job_crashed")
        failure = INTERNAL
    if failure is not None:
        await machine.fail(ctx, held, failure)
        return _result("failed", held, started, failure)
    if isinstance(ours, Failure):  # the same ride is in the trip: written as failed
        bound.info("job_duplicate_ride", error_code=ours.code)
        return _result("failed", held, started, ours)
    if not ours:
        bound.warning("job_superseded")
        return _result("superseded", held, started)
    result = _result("completed", held, started)
    bound.info("job_completed", duration_ms=round(result.duration_ms, 1))
    return result


def _result(
    outcome: Outcome, held: Claim, started: float, failure: Failure | None = None
) -> JobResult:
    return JobResult(
        outcome,
        held.fence,
        (time.perf_counter() - started) * 1000.0,
        failure.code if failure else None,
        failure.message if failure else None,
    )
