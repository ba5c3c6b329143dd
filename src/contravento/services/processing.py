"""process_gpx_file: the one processing path, scheduled in-process or by a Celery worker.

1. claim the job (pending/processing -> processing, attempts + 1) in its own short transaction;
2. read the original from storage and run the pure domain off the event loop;
3. in ONE transaction: replace trackpoints (bulk), upsert statistics, set completed
   (or failed with the domain error's code and Spanish message).
Running it twice leaves the same rows as running it once.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import delete

from ..db.models import GPXFile, RouteStatsRow
from ..db.trackpoints import replace_trackpoints
from ..db.types import utcnow
from ..domain import GPXError, ProcessingCancelled, TrackSummary, summarize
from .context import AppContext
from .errors import StorageMissingError, TransientProcessingError
from .faults import maybe_inject_fault
from .transient import is_transient

log = structlog.get_logger("contravento.processing")

Outcome = Literal["completed", "failed", "skipped", "missing"]
ACTIVE = ("pending", "processing")

EXHAUSTED_CODE = "GPX_PROCESSING_FAILED"
EXHAUSTED_MESSAGE = (
    "No se pudo procesar el archivo tras varios intentos por un problema temporal del servicio. "
    "Vuelve a subirlo más tarde."
)
TIMEOUT_CODE = "GPX_PROCESSING_TIMEOUT"
TIMEOUT_MESSAGE = "El procesamiento del archivo tardó demasiado y se ha cancelado."
INTERNAL_CODE = "GPX_PROCESSING_ERROR"
INTERNAL_MESSAGE = (
    "No se pudo procesar el archivo por un error interno. Lo revisaremos; "
    "puedes descargar el original o volver a subirlo más tarde."
)


@dataclass(frozen=True)
class JobResult:
    outcome: Outcome
    attempts: int = 0
    duration_ms: float = 0.0
    error_code: str | None = None


async def _claim(ctx: AppContext, file_id: uuid.UUID, worker: str | None) -> GPXFile | None:
    async with ctx.sessions() as session:
        row = await session.get(
            GPXFile, file_id, with_for_update=ctx.engine.dialect.name != "sqlite"
        )
        if row is None:
            return None
        if row.processing_status not in ACTIVE:
            return row
        if row.attempts >= ctx.settings.max_attempts:  # crashes and redeliveries count too
            row.processing_status = "failed"
            row.error_code, row.error_message = EXHAUSTED_CODE, EXHAUSTED_MESSAGE
            row.finished_at = utcnow()
            await session.commit()
            log.error("job_attempts_exhausted", gpx_file_id=str(file_id), attempts=row.attempts)
            return row
        row.processing_status = "processing"
        row.attempts += 1
        row.started_at = utcnow()
        row.processed_by = worker
        row.error_code = row.error_message = None
        await session.commit()
        return row


def _stats_row(file_id: uuid.UUID, summary: TrackSummary) -> RouteStatsRow:
    stats = summary.stats
    data = stats.to_dict()
    data["simplified_point_count"] = summary.simplified.point_count
    data["simplify_tolerance_m"] = summary.simplified.tolerance_m
    return RouteStatsRow(
        gpx_file_id=file_id,
        distance_km=data["distance_km"],
        elevation_gain_m=data["elevation_gain_m"],
        moving_time_s=data["moving_time_s"],
        start_time=stats.start_time,
        point_count=stats.point_count,
        simplified_point_count=summary.simplified.point_count,
        data=data,
    )


async def _finish(ctx: AppContext, file_id: uuid.UUID, summary: TrackSummary) -> bool:
    """One transaction: trackpoints, stats, status. False if the file vanished meanwhile."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(
            GPXFile, file_id, with_for_update=ctx.engine.dialect.name != "sqlite"
        )
        if row is None:
            return False
        await replace_trackpoints(session, file_id, summary.simplified)
        await session.execute(delete(RouteStatsRow).where(RouteStatsRow.gpx_file_id == file_id))
        session.add(_stats_row(file_id, summary))
        row.processing_status = "completed"
        row.finished_at = utcnow()
        row.error_code = row.error_message = None
    return True


async def mark_failed(ctx: AppContext, file_id: uuid.UUID, code: str, message: str) -> None:
    """Fail an active job. A job that another run completed meanwhile stays completed."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(GPXFile, file_id)
        if row is None or row.processing_status == "completed":
            return
        row.processing_status = "failed"
        row.error_code = code
        row.error_message = message
        row.finished_at = utcnow()


async def release_for_retry(ctx: AppContext, file_id: uuid.UUID) -> str:
    """After a transient error: back to pending, or failed once attempts are used up."""
    async with ctx.sessions() as session, session.begin():
        row = await session.get(GPXFile, file_id)
        if row is None:
            return "missing"
        if row.processing_status != "processing":  # another run finished it meanwhile
            return row.processing_status
        if row.attempts >= ctx.settings.max_attempts:
            row.processing_status = "failed"
            row.error_code, row.error_message = EXHAUSTED_CODE, EXHAUSTED_MESSAGE
            row.finished_at = utcnow()
        else:
            row.processing_status = "pending"
        return row.processing_status


def _read_original(ctx: AppContext, key: str) -> bytes:
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
    )


async def process_gpx_file(
    ctx: AppContext, gpx_file_id: uuid.UUID, *, worker: str | None = None
) -> JobResult:
    """Process one job. Raises TransientProcessingError for the scheduler to retry."""
    started = time.perf_counter()
    try:
        row = await _claim(ctx, gpx_file_id, worker)
    except Exception as exc:
        if is_transient(exc):
            raise TransientProcessingError(f"database unavailable: {exc}") from exc
        raise
    if row is None:
        log.warning("job_missing", gpx_file_id=str(gpx_file_id))
        return JobResult("missing")
    if row.processing_status != "processing":
        return JobResult("skipped", attempts=row.attempts)
    bound = log.bind(gpx_file_id=str(gpx_file_id), trip_id=str(row.trip_id), attempt=row.attempts)
    cancel = threading.Event()  # set when this coroutine is cancelled (soft time limit)
    try:
        await maybe_inject_fault(ctx.settings, str(gpx_file_id), str(row.trip_id))
        data = await asyncio.to_thread(_read_original, ctx, row.storage_key)
        summary = await asyncio.to_thread(_run_domain, ctx, data, cancel)
        del data
        found = await _finish(ctx, gpx_file_id, summary)
    except asyncio.CancelledError:
        cancel.set()  # the parsing thread stops at its next check instead of running on
        raise
    except GPXError as exc:
        await mark_failed(ctx, gpx_file_id, exc.code, exc.message)
        bound.info("job_failed", error_code=exc.code, detail=exc.detail)
        return _result("failed", row.attempts, started, exc.code)
    except StorageMissingError as exc:
        await mark_failed(ctx, gpx_file_id, exc.code, exc.message)
        bound.error("job_original_missing", storage_key=row.storage_key)
        return _result("failed", row.attempts, started, exc.code)
    except ProcessingCancelled:
        raise asyncio.CancelledError() from None
    except TransientProcessingError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientProcessingError(f"database or storage error: {exc!r}") from exc
        # the same input would fail the same way again: fail now, never loop
        bound.exception("job_crashed")
        await mark_failed(ctx, gpx_file_id, INTERNAL_CODE, INTERNAL_MESSAGE)
        return _result("failed", row.attempts, started, INTERNAL_CODE)
    if not found:
        return _result("missing", row.attempts, started)
    result = _result("completed", row.attempts, started)
    bound.info(
        "job_completed", duration_ms=round(result.duration_ms, 1), points=summary.stats.point_count
    )
    return result


def _result(outcome: Outcome, attempts: int, started: float, code: str | None = None) -> JobResult:
    return JobResult(outcome, attempts, (time.perf_counter() - started) * 1000.0, code)


async def run_in_process(
    ctx: AppContext, gpx_file_id: uuid.UUID, *, worker: str | None = None
) -> JobResult:
    """The in-process runner (BackgroundTasks, reconciler): transient errors go back to pending."""
    try:
        return await process_gpx_file(ctx, gpx_file_id, worker=worker)
    except TransientProcessingError as exc:
        log.warning("job_transient_error", gpx_file_id=str(gpx_file_id), error=str(exc))
        try:
            status = await release_for_retry(ctx, gpx_file_id)
        except Exception:  # the database itself may be what is down
            status = "processing"  # the reconciler will find it after the timeout
        return JobResult("failed" if status == "failed" else "skipped")
    except Exception:  # never let a background job kill the process silently
        log.exception("job_crashed", gpx_file_id=str(gpx_file_id))
        try:
            await mark_failed(ctx, gpx_file_id, INTERNAL_CODE, INTERNAL_MESSAGE)
        except Exception:
            log.exception("job_mark_failed_failed", gpx_file_id=str(gpx_file_id))
        return JobResult("failed", error_code=INTERNAL_CODE)
