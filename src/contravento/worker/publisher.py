"""Publishing to Celery from the API without ever hanging a request on a dead Redis.

Bounded connect/publish timeouts, no publish retries, and a circuit breaker: after a failure
we stop trying for REDIS_CIRCUIT_OPEN_S and route straight to in-process processing.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from celery import Celery

from ..config import Settings
from .app import TASK_NAME

log = structlog.get_logger("contravento.publisher")


class CeleryPublisher:
    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.open_until = 0.0

    @property
    def circuit_open(self) -> bool:
        return time.monotonic() < self.open_until

    def _send(self, gpx_file_id: str, trip_id: str, request_id: str | None, task_id: str) -> None:
        self.app.send_task(
            TASK_NAME,
            args=[gpx_file_id, trip_id],
            kwargs={"request_id": request_id},
            task_id=task_id,
            queue=self.settings.celery_queue,
            retry=False,
        )

    async def publish(
        self, *, gpx_file_id: str, trip_id: str, request_id: str | None, task_id: str
    ) -> bool:
        if self.circuit_open:
            return False
        timeout = self.settings.redis_connect_timeout_s * 4 + 1.0
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._send, gpx_file_id, trip_id, request_id, task_id), timeout
            )
            return True
        except Exception as exc:
            self.open_until = time.monotonic() + self.settings.redis_circuit_open_s
            log.warning(
                "celery_publish_failed",
                error=repr(exc),
                circuit_open_s=self.settings.redis_circuit_open_s,
            )
            return False
