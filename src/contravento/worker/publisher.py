"""Publishing to Celery from the API without ever hanging a request on a dead Redis.

Bounded connect/publish timeouts, no publish retries, and a circuit breaker: after a failure
we stop trying for REDIS_CIRCUIT_OPEN_S and route straight to in-process processing.
"""

from __future__ import annotations

import asyncio
import json
import time

import structlog
from celery import Celery

from ..config import Settings
from .app import TASK_NAME

log = structlog.get_logger("contravento.publisher")

# Not copied to the sending app: its result backend (see publishing_app) and non-settings keys.
_NOT_FOR_SENDING = ("result_backend", "deprecated_settings", "include")
# the reconciler reads at most this many queued messages to learn which jobs wait there
QUEUE_SCAN_LIMIT = 5000


def publishing_app(app: Celery) -> Celery:
    """`app`'s configuration without a result backend, used only to send tasks.

    With the Redis result backend, send_task subscribes the sender to the task's result
    channel, and the AsyncResult it returns unsubscribes when dropped: two Redis round trips
    and the GIL work around them per publish, for results the API never reads (job state lives
    in the database). The worker runs with its own configuration and stores results as before;
    the message sent is the same.
    """
    conf = app.conf.table(with_defaults=False, censored=False)
    for key in _NOT_FOR_SENDING:
        conf.pop(key, None)
    sender = Celery(app.main, set_as_current=False)
    sender.conf.update(conf)
    return sender


class CeleryPublisher:
    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.sender = publishing_app(app)
        self.settings = settings
        self.open_until = 0.0
        self.warm()

    def warm(self) -> None:
        """Load now what send_task loads on its first use (the result backend class, the AMQP
        helpers, the transport module; no connection is made): otherwise the first upload
        routed to Celery after a start pays those imports, 50-150 ms holding the GIL, in the
        middle of whatever the API is doing."""
        self.sender.backend  # noqa: B018
        self.sender.amqp  # noqa: B018
        with self.sender.connection_for_write() as connection:
            connection.transport  # noqa: B018

    @property
    def circuit_open(self) -> bool:
        return time.monotonic() < self.open_until

    def _send(self, gpx_file_id: str, trip_id: str, request_id: str | None, task_id: str) -> None:
        self.sender.send_task(
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
        """True once Redis has the message, False once it certainly has not: the send is
        awaited to its end (bounded by the connect and socket timeouts, no retries), never
        abandoned half-way, so a job that falls back in-process is not also in the queue."""
        if self.circuit_open:
            return False
        try:
            await asyncio.to_thread(self._send, gpx_file_id, trip_id, request_id, task_id)
            return True
        except Exception as exc:
            self.open_until = time.monotonic() + self.settings.redis_circuit_open_s
            log.warning(
                "celery_publish_failed",
                error=repr(exc),
                circuit_open_s=self.settings.redis_circuit_open_s,
            )
            return False

    def _queued(self, task_ids: set[str]) -> set[str] | None:
        with self.sender.connection_for_read() as connection:
            client = connection.default_channel.client
            if client.llen(self.settings.celery_queue) > QUEUE_SCAN_LIMIT:
                return None
            found = set()
            for raw in client.lrange(self.settings.celery_queue, 0, -1):
                try:
                    task_id = json.loads(raw)["headers"]["id"]
                except (ValueError, KeyError, TypeError):
                    continue
                if task_id in task_ids:
                    found.add(task_id)
            return found

    async def queued(self, task_ids: set[str]) -> set[str] | None:
        """Which of these tasks wait in the Celery queue (the Redis list); None when the
        queue holds more than QUEUE_SCAN_LIMIT messages (presume they all wait)."""
        if self.circuit_open:
            return set()
        return await asyncio.to_thread(self._queued, task_ids)
