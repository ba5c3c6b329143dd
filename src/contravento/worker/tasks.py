"""Thin, named tasks: they take ids and call the same service as the in-process path.

What Flower shows is what the row says: a job that failed (a file that can never be
processed, a time limit, attempts used up) is a FAILURE carrying its code and Spanish message;
a transient error is a RETRY whose countdown matches the row's `next_attempt_at`.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import structlog
from celery.exceptions import Retry, SoftTimeLimitExceeded

from ..services.jobs import machine
from ..services.jobs.imports import NewJob, Spawn
from ..services.jobs.process import JobRun, TransientJobError, process_gpx_file
from . import priority, signals  # noqa: F401  (priority and structured logging hooks)
from .app import TASK_NAME, app
from .base import DatabaseTask
from .publisher import CeleryPublisher

log = structlog.get_logger("contravento.worker")
# the message is due a moment after the row, so the claim finds the retry due
COUNTDOWN_MARGIN_S = 0.5


class JobFailedError(Exception):
    """The job ended `failed`: raised so that Celery (and Flower) record a FAILURE.

    Its one argument is "CODE: mensaje", so Celery can pickle it and rebuild it from its args
    (otherwise the worker records an UnpickleableExceptionWrapper instead of this error)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        if message is None:  # rebuilt from its args
            code, _, message = code.partition(": ")
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def _fail(self: DatabaseTask, run: JobRun, failure: machine.Failure) -> JobFailedError:
    if run.held is not None:
        try:
            self.run_async(machine.fail(self.ctx, run.held, failure))
        except Exception:  # the database may be away: the lease expires, the row is reclaimed
            log.exception("task_mark_failed_failed")
    return JobFailedError(failure.code, failure.message)


@app.task(bind=True, base=DatabaseTask, name=TASK_NAME, max_retries=None, acks_late=True)
def process_gpx_file_async(
    self: DatabaseTask, gpx_file_id: str, trip_id: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    try:
        file_id = uuid.UUID(str(gpx_file_id))
    except ValueError:
        log.error("task_dropped_bad_id", gpx_file_id=str(gpx_file_id)[:64])
        return {"outcome": "dropped"}
    run = JobRun(spawn=_spawner(self))
    try:
        result = self.run_async(
            process_gpx_file(self.ctx, file_id, worker=self.request.hostname, run=run)
        )
    except TransientJobError as exc:
        raise _retry(self, exc) from exc
    except SoftTimeLimitExceeded:
        self.cancel_pending()
        log.error("task_soft_time_limit")
        raise _fail(self, run, machine.TIMEOUT) from None
    except Exception:  # not transient, not the file's fault: fail the job, never loop on it
        log.exception("task_crashed")
        self.cancel_pending()
        raise _fail(self, run, machine.INTERNAL) from None
    if result.outcome == "failed":
        raise JobFailedError(result.error_code or "", result.error_message or "")
    if result.outcome == "busy" and result.again_in_s is not None:
        # another run holds a live lease (a redelivery after its pool process was killed, or
        # a duplicate): look again when that lease would expire, never beside it
        log.info("task_job_busy", again_in_s=round(result.again_in_s, 3))
        raise self.retry(countdown=result.again_in_s + COUNTDOWN_MARGIN_S)
    return {
        "outcome": result.outcome,
        "attempts": result.attempts,
        "duration_ms": round(result.duration_ms, 1),
    }


_publishers: dict[int, CeleryPublisher] = {}


def _spawner(self: DatabaseTask) -> Spawn:
    """An archive's members, created by its job here: each published as a task of its own
    (so every worker shares them). One that cannot be published waits for the reconciler."""

    async def spawn(jobs: list[NewJob]) -> None:
        publisher = _publishers.get(os.getpid())
        if publisher is None:
            publisher = _publishers[os.getpid()] = CeleryPublisher(app, self.ctx.settings)
        task_ids = [str(uuid.uuid4()) for _ in jobs]
        async with self.ctx.sessions() as session, session.begin():  # one transaction
            for job, task_id in zip(jobs, task_ids, strict=True):
                await machine.mark_dispatched(
                    session, job.gpx_file_id, mode="celery", task_id=task_id
                )
        for job, task_id in zip(jobs, task_ids, strict=True):
            sent = await publisher.publish(
                gpx_file_id=str(job.gpx_file_id), trip_id=str(job.trip_id),
                request_id=job.request_id, task_id=task_id,
            )  # fmt: skip
            if not sent:
                log.warning("member_publish_failed", gpx_file_id=str(job.gpx_file_id))

    return spawn


def _retry(self: DatabaseTask, exc: TransientJobError) -> BaseException:
    """Record the retry in the row (machine.retry_later): the reconciler publishes the job
    again when it is due, and until then Flower shows the task as RETRY (a countdown message
    would show it RECEIVED at once, its ETA waiting in a worker). If the row could not be
    written (the database is away), a countdown message carries the retry instead."""
    policy = machine.RetryPolicy(self.ctx.settings)
    decision = None
    if exc.held is not None:
        try:
            decision = self.run_async(machine.retry_later(self.ctx, exc.held, timer=False))
        except Exception:  # the database may be what is down: the lease expires meanwhile
            log.warning("task_release_failed", exc_info=True)
    if decision is not None and not decision.retry:
        log.error("task_retries_exhausted", error=str(exc))
        return JobFailedError(machine.EXHAUSTED.code, machine.EXHAUSTED.message)
    recorded = decision is not None and decision.held
    if decision is not None:
        countdown = decision.delay_s
    else:  # nothing recorded: retry on the schedule of the attempts this message has seen
        countdown = min(policy.delay_s(int(self.request.retries) + 1), policy.longest_delay_s)
    log.warning(
        "task_retry_scheduled",
        countdown_s=round(countdown, 3),
        retry=int(self.request.retries) + 1,
        carried_by="row" if recorded else "countdown",
        error=str(exc),
    )
    if recorded:  # RETRY in Celery and Flower, no message: the row and the reconciler carry it
        row_retry: BaseException = Retry(f"{exc} (retry in {countdown:.0f} s)", exc, when=countdown)
        return row_retry
    retry: BaseException = self.retry(exc=exc, countdown=countdown + COUNTDOWN_MARGIN_S)
    return retry
