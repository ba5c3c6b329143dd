"""Route a job to a Celery worker or to in-process processing, and never lose it.

Large files (> GPX_ASYNC_THRESHOLD_MB) go to Celery when it is enabled, within the rollout
percentage (a deterministic choice by content hash), and when Redis answers; anything else,
including a failed publish, runs in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import update

from ..db.models import GPXFile
from ..db.types import utcnow
from .context import AppContext
from .processing import run_in_process

log = structlog.get_logger("contravento.dispatch")
Mode = Literal["background", "celery"]


class Publisher(Protocol):
    async def publish(
        self, *, gpx_file_id: str, trip_id: str, request_id: str | None, task_id: str
    ) -> bool: ...


class BackgroundRunner(Protocol):
    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...


def rollout_bucket(sha256: str) -> int:
    return int(hashlib.sha256(sha256.encode()).hexdigest()[:8], 16) % 100


class Dispatcher:
    def __init__(self, ctx: AppContext, publisher: Publisher | None) -> None:
        self.ctx = ctx
        self.publisher = publisher
        self._tasks: set[asyncio.Task[Any]] = set()
        # In-process jobs are CPU-bound Python: run several at once in threads and they take the
        # GIL from the event loop (uploads and /health stall). They wait here for a slot instead.
        self._slots = asyncio.Semaphore(ctx.settings.gpx_in_process_concurrency)
        self._ingesting = 0  # upload bodies being received right now

    def choose_mode(self, row: GPXFile) -> Mode:
        s = self.ctx.settings
        if not s.celery_enabled or self.publisher is None:
            return "background"
        if s.celery_force:
            return "celery"
        if s.app_env == "testing" and not s.celery_in_testing:
            return "background"
        if row.size_bytes <= s.async_threshold_bytes:
            return "background"
        return (
            "celery" if rollout_bucket(row.sha256) < s.celery_rollout_percentage else "background"
        )

    async def _set_mode(self, file_id: uuid.UUID, mode: Mode, task_id: str | None) -> None:
        async with self.ctx.sessions() as session, session.begin():
            await session.execute(
                update(GPXFile)
                .where(GPXFile.id == file_id)
                .values(processing_mode=mode, celery_task_id=task_id, updated_at=utcnow())
            )

    async def _try_celery(self, row: GPXFile) -> str | None:
        assert self.publisher is not None
        task_id = str(uuid.uuid4())
        await self._set_mode(row.id, "celery", task_id)
        ok = await self.publisher.publish(
            gpx_file_id=str(row.id),
            trip_id=str(row.trip_id),
            request_id=row.request_id,
            task_id=task_id,
        )
        if ok:
            return task_id
        log.warning("celery_unavailable_fallback_in_process", gpx_file_id=str(row.id))
        return None

    async def schedule(
        self, row: GPXFile, background: BackgroundRunner | None = None, *, assigned: bool = False
    ) -> Mode:
        """Schedule a new or stuck job. Updates `row` with the mode and task id.

        assigned=True: a new job whose row was committed after assign(); publish it with its
        stored task id (a failed publish stores it as background and runs it here).
        """
        if assigned:
            return await self._start_assigned(row, background)
        mode = self.choose_mode(row)
        tried_celery = mode == "celery"
        task_id = await self._try_celery(row) if tried_celery else None
        if task_id is None:
            mode = "background"
            # A new row is stored as background without a task id: skip a transaction then.
            if tried_celery or row.processing_mode not in (None, mode) or row.celery_task_id:
                await self._set_mode(row.id, mode, None)
            self._run_here(row.id, background)
        row.processing_mode, row.celery_task_id = mode, task_id
        return mode

    def assign(self, row: GPXFile) -> None:
        """Before a new job's INSERT: store Celery's mode and a fresh task id with the row.

        The upload's one transaction then carries the routing, and schedule(assigned=True)
        only publishes (after the commit: a worker never sees a task whose row is not there).
        """
        if self.choose_mode(row) == "celery":
            row.processing_mode, row.celery_task_id = "celery", str(uuid.uuid4())

    async def _start_assigned(self, row: GPXFile, background: BackgroundRunner | None) -> Mode:
        if row.processing_mode == "celery" and row.celery_task_id and self.publisher is not None:
            ok = await self.publisher.publish(
                gpx_file_id=str(row.id),
                trip_id=str(row.trip_id),
                request_id=row.request_id,
                task_id=row.celery_task_id,
            )
            if ok:
                return "celery"
            log.warning("celery_unavailable_fallback_in_process", gpx_file_id=str(row.id))
            await self._set_mode(row.id, "background", None)
        self._run_here(row.id, background)
        row.processing_mode, row.celery_task_id = "background", None
        return "background"

    def _run_here(self, file_id: uuid.UUID, background: BackgroundRunner | None) -> None:
        if background is not None:
            background.add_task(self.run_in_process, file_id)
        else:
            self._spawn(file_id)

    @contextlib.contextmanager
    def ingesting(self) -> Iterator[None]:
        """Around an upload body being received: in-process jobs give way meanwhile."""
        self._ingesting += 1
        try:
            yield
        finally:
            self._ingesting -= 1

    async def run_in_process(self, file_id: uuid.UUID) -> None:
        """Run one job in this process once a slot (GPX_IN_PROCESS_CONCURRENCY) is free.

        Parsing is CPU-bound Python that shares the GIL with the event loop: while uploads are
        streaming in, the job waits up to GPX_INGEST_PRIORITY_S so their 202s come first.
        """
        async with self._slots:
            waited, limit = 0.0, self.ctx.settings.gpx_ingest_priority_s
            while self._ingesting and waited < limit:
                await asyncio.sleep(0.02)
                waited += 0.02
            await run_in_process(self.ctx, file_id)

    def _spawn(self, file_id: uuid.UUID) -> None:
        task = asyncio.get_running_loop().create_task(self.run_in_process(file_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resubmit(self, file_id: uuid.UUID) -> None:
        """For the reconciler: schedule a stuck job again by id."""
        async with self.ctx.sessions() as session:
            row = await session.get(GPXFile, file_id)
        if row is not None and row.processing_status in ("pending", "processing"):
            await self.schedule(row)

    async def drain(self) -> None:
        """Wait for in-process jobs started by this dispatcher (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
