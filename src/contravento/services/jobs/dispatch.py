"""Route a job to a Celery worker or to in-process processing, and never lose it.

Large files (> GPX_ASYNC_THRESHOLD_MB) go to Celery when it is enabled, within the rollout
percentage (a deterministic choice by content hash), and when Redis answers; anything else,
including a failed publish, runs in-process. A job runs in-process only once its publish has
definitely failed: a publish that is slow to answer is waited for in the background, so a job
is never both queued in Redis and running here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import structlog

from ...db.models import GPXFile
from ...db.types import utcnow
from ..context import AppContext
from . import machine
from .imports import NewJob
from .process import JobResult, JobRun, TimeLimits, TransientJobError, process_gpx_file

log = structlog.get_logger("contravento.dispatch")
Mode = Literal["background", "celery"]
# how long an upload's request waits for its publish before answering 202 (the publish goes
# on; if it fails after all, the job then runs in-process)
PUBLISH_WAIT_S = 3.0


class Publisher(Protocol):
    async def publish(
        self, *, gpx_file_id: str, trip_id: str, request_id: str | None, task_id: str
    ) -> bool:
        """True once the broker has the message; False once it certainly has not."""
        ...

    async def queued(self, task_ids: set[str]) -> set[str] | None:
        """Which of these tasks wait in the queue (None: the queue is too long to search)."""
        ...

    @property
    def circuit_open(self) -> bool: ...


class BackgroundRunner(Protocol):
    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...


def rollout_bucket(sha256: str) -> int:
    return int(hashlib.sha256(sha256.encode()).hexdigest()[:8], 16) % 100


class Dispatcher:
    def __init__(self, ctx: AppContext, publisher: Publisher | None) -> None:
        self.ctx = ctx
        self.publisher = publisher
        self._tasks: set[asyncio.Task[Any]] = set()
        self._here: set[uuid.UUID] = set()  # jobs queued or running in this process
        self._timers: set[asyncio.TimerHandle] = set()
        # In-process jobs are CPU-bound Python: run several at once in threads and they take the
        # GIL from the event loop (uploads and /health stall). They wait here for a slot instead.
        self._slots = asyncio.Semaphore(ctx.settings.gpx_in_process_concurrency)
        self._ingesting = 0  # upload bodies being received right now
        s = ctx.settings
        self.limits = TimeLimits(s.task_soft_time_limit_s, s.task_time_limit_s)

    def choose_mode(self, row: GPXFile | NewJob) -> Mode:
        s = self.ctx.settings
        if not s.celery_enabled or self.publisher is None:
            return "background"
        if s.celery_force:
            return "celery"
        if row.size_bytes <= s.async_threshold_bytes:
            return "background"
        return (
            "celery" if rollout_bucket(row.sha256) < s.celery_rollout_percentage else "background"
        )

    async def spawn(self, jobs: list[NewJob]) -> None:
        """The jobs an archive's run created (its members): routed as uploads are, each
        by its own size; a failed publish runs it here."""
        for job in jobs:
            if self.choose_mode(job) == "celery":
                task_id = str(uuid.uuid4())
                await self._set_mode(job.gpx_file_id, "celery", task_id)
                if await self._publish(job.gpx_file_id, job.trip_id, job.request_id, task_id):
                    continue
                await self._fall_back(job.gpx_file_id)
            else:
                await self._set_mode(job.gpx_file_id, "background", None)
            self._run_here(job.gpx_file_id)

    def assign(self, row: GPXFile) -> None:
        """Before a new job's INSERT: its routing, stored with the row in the upload's one
        write. schedule() then only publishes (after the commit: a worker never sees a task
        whose row is not there)."""
        row.dispatched_at = utcnow()
        row.next_attempt_at = row.lease_expires_at = None
        if self.choose_mode(row) == "celery":
            row.processing_mode, row.celery_task_id = "celery", str(uuid.uuid4())
        else:
            row.processing_mode, row.celery_task_id = "background", None

    async def _set_mode(self, file_id: uuid.UUID, mode: Mode, task_id: str | None) -> None:
        async with self.ctx.sessions() as session, session.begin():
            await machine.mark_dispatched(session, file_id, mode=mode, task_id=task_id)

    async def schedule(self, row: GPXFile, background: BackgroundRunner | None = None) -> Mode:
        """Start a new job whose row was committed after assign(). Updates `row`."""
        if row.processing_mode == "celery" and row.celery_task_id and self.publisher is not None:
            send = asyncio.ensure_future(self._publish(row.id, row.trip_id, row.request_id,
                                                       row.celery_task_id))  # fmt: skip
            try:
                if await asyncio.wait_for(asyncio.shield(send), PUBLISH_WAIT_S):
                    return "celery"
            except TimeoutError:
                log.warning("celery_publish_slow", gpx_file_id=str(row.id))
                send.add_done_callback(lambda done: self._after_late_publish(row.id, done))
                return "celery"
            await self._fall_back(row.id)
        self._run_here(row.id, background)
        row.processing_mode, row.celery_task_id = "background", None
        return "background"

    async def _publish(
        self, file_id: uuid.UUID, trip_id: uuid.UUID, request_id: str | None, task_id: str
    ) -> bool:
        assert self.publisher is not None
        return await self.publisher.publish(
            gpx_file_id=str(file_id), trip_id=str(trip_id), request_id=request_id, task_id=task_id
        )

    async def _fall_back(self, file_id: uuid.UUID) -> None:
        log.warning("celery_unavailable_fallback_in_process", gpx_file_id=str(file_id))
        await self._set_mode(file_id, "background", None)

    def _after_late_publish(self, file_id: uuid.UUID, done: asyncio.Future[bool]) -> None:
        if done.cancelled() or done.exception() is not None or not done.result():
            task = asyncio.get_running_loop().create_task(self._late_fall_back(file_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _late_fall_back(self, file_id: uuid.UUID) -> None:
        await self._fall_back(file_id)
        self._run_here(file_id)

    async def redispatch(self, job: machine.Stranded) -> Mode | None:
        """For the reconciler: hand a stranded job to Celery if Redis answers, else run it
        here. None: it is already queued or running in this process."""
        file_id = job.gpx_file_id
        if file_id in self._here:
            return None
        publisher = self.publisher if self.ctx.settings.celery_enabled else None
        if publisher is not None and not publisher.circuit_open:
            task_id = job.task_id or str(uuid.uuid4())
            await self._set_mode(file_id, "celery", task_id)
            if await self._publish(file_id, job.trip_id, job.request_id, task_id):
                return "celery"
        await self._set_mode(file_id, "background", None)
        self._run_here(file_id)
        return "background"

    async def queued(self, task_ids: set[str]) -> set[str] | None:
        if not task_ids or self.publisher is None:
            return set()
        try:
            return await self.publisher.queued(task_ids)
        except Exception as exc:  # Redis away: nothing is known to wait there
            log.warning("queue_check_failed", error=repr(exc))
            return set()

    def _run_here(self, file_id: uuid.UUID, background: BackgroundRunner | None = None) -> None:
        """Run the job in this process (after the response, with `background`), unless it
        is already queued or running here."""
        if file_id in self._here:
            return
        self._here.add(file_id)
        if background is not None:
            background.add_task(self.run_in_process, file_id)
            return
        task = asyncio.get_running_loop().create_task(self.run_in_process(file_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.contextmanager
    def ingesting(self) -> Iterator[None]:
        """Around an upload body being received: in-process jobs give way meanwhile."""
        self._ingesting += 1
        try:
            yield
        finally:
            self._ingesting -= 1

    async def run_in_process(self, file_id: uuid.UUID) -> JobResult | None:
        """Run one job in this process once a slot (GPX_IN_PROCESS_CONCURRENCY) is free, with
        Celery's time limits. Parsing is CPU-bound Python that shares the GIL with the event
        loop: while uploads stream in, the job waits up to GPX_INGEST_PRIORITY_S."""
        self._here.add(file_id)
        try:
            async with self._slots:
                waited, limit = 0.0, self.ctx.settings.gpx_ingest_priority_s
                while self._ingesting and waited < limit:
                    await asyncio.sleep(0.02)
                    waited += 0.02
                return await self._run_once(file_id)
        finally:
            self._here.discard(file_id)

    async def _run_once(self, file_id: uuid.UUID) -> JobResult | None:
        try:
            run = JobRun(spawn=self.spawn)
            return await process_gpx_file(self.ctx, file_id, run=run, limits=self.limits)
        except TransientJobError as exc:
            log.warning("job_transient_error", gpx_file_id=str(file_id), error=str(exc))
            if exc.held is None:  # never claimed (the database is away): the reconciler
                return None  # dispatches it again once it answers
            try:
                decision = await machine.retry_later(self.ctx, exc.held, timer=True)
            except Exception:  # the database itself may be what is down: the lease expires
                log.warning("job_retry_not_recorded", gpx_file_id=str(file_id), exc_info=True)
                return None
            if decision.retry and decision.held:
                self._retry_at(file_id, decision.delay_s)
            return None
        except Exception:  # never let a background job kill the process silently
            log.exception("job_crashed", gpx_file_id=str(file_id))
            return None

    def _retry_at(self, file_id: uuid.UUID, delay_s: float) -> None:
        """The row carries the retry (next_attempt_at); this timer only delivers it on time,
        and the reconciler steps in if this process is gone by then."""
        log.info("job_retry_scheduled", gpx_file_id=str(file_id), countdown_s=round(delay_s, 3))
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            self._run_here(file_id)

        handle = loop.call_later(delay_s, fire)
        self._timers.add(handle)

    async def drain(self) -> None:
        """Wait for in-process jobs started by this dispatcher (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
