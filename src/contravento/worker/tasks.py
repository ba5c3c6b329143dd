"""Thin, named tasks: they take ids and call the same service as the in-process path."""

from __future__ import annotations

import random
import uuid
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from ..services.errors import TransientProcessingError
from ..services.processing import (
    EXHAUSTED_CODE,
    EXHAUSTED_MESSAGE,
    INTERNAL_CODE,
    INTERNAL_MESSAGE,
    TIMEOUT_CODE,
    TIMEOUT_MESSAGE,
    mark_failed,
    process_gpx_file,
    release_for_retry,
)
from . import priority, signals  # noqa: F401  (priority and structured logging hooks)
from .app import TASK_NAME, app
from .base import DatabaseTask
from .config import max_retries

log = structlog.get_logger("contravento.worker")


def retry_countdown(retries_done: int, *, base_s: float, jitter_s: float) -> float:
    """60 s, 120 s, 240 s (base doubling) plus a small jitter; not Celery's full jitter."""
    return float(base_s * 2.0**retries_done + random.uniform(0.0, jitter_s))


@app.task(bind=True, base=DatabaseTask, name=TASK_NAME, max_retries=None, acks_late=True)
def process_gpx_file_async(
    self: DatabaseTask, gpx_file_id: str, trip_id: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    try:
        file_id = uuid.UUID(str(gpx_file_id))
    except ValueError:
        log.error("task_dropped_bad_id", gpx_file_id=str(gpx_file_id)[:64])
        return {"outcome": "dropped"}
    settings = self.ctx.settings
    try:
        result = self.run_async(process_gpx_file(self.ctx, file_id, worker=self.request.hostname))
    except TransientProcessingError as exc:
        done = int(self.request.retries)
        if done >= max_retries(settings):
            self.run_async(mark_failed(self.ctx, file_id, EXHAUSTED_CODE, EXHAUSTED_MESSAGE))
            log.error("task_retries_exhausted", error=str(exc))
            return {"outcome": "failed", "error_code": EXHAUSTED_CODE}
        countdown = retry_countdown(
            done, base_s=settings.retry_base_s, jitter_s=settings.retry_jitter_s
        )
        log.warning(
            "task_retry_scheduled", countdown_s=round(countdown, 3), retry=done + 1, error=str(exc)
        )
        try:
            self.run_async(_back_to_pending(self, file_id))
        except Exception:  # the database may be the thing that is down
            log.warning("task_release_failed", exc_info=True)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except SoftTimeLimitExceeded:
        self.cancel_pending()
        self.run_async(mark_failed(self.ctx, file_id, TIMEOUT_CODE, TIMEOUT_MESSAGE))
        log.error("task_soft_time_limit")
        return {"outcome": "failed", "error_code": TIMEOUT_CODE}
    except Exception:  # not transient, not the file's fault: fail the job, never loop on it
        log.exception("task_crashed")
        try:
            self.run_async(mark_failed(self.ctx, file_id, INTERNAL_CODE, INTERNAL_MESSAGE))
        except Exception:
            log.exception("task_mark_failed_failed")
        return {"outcome": "failed", "error_code": INTERNAL_CODE}
    return {
        "outcome": result.outcome,
        "attempts": result.attempts,
        "duration_ms": round(result.duration_ms, 1),
    }


async def _back_to_pending(task: DatabaseTask, file_id: uuid.UUID) -> None:
    # the row waits as pending for its countdown; if redeliveries after crashes have already
    # used up MAX_ATTEMPTS, release_for_retry fails it and the retry will find nothing to do
    await release_for_retry(task.ctx, file_id)
