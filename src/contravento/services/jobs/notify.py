"""A job's state changed: told through PostgreSQL LISTEN/NOTIFY, to every API replica.

`announce` runs inside the transition's own transaction (machine.py calls it): PostgreSQL
queues the notification and delivers it at COMMIT, only if the transaction commits, so a
listener never hears of a state that is not yet (or never) in the row, and a runner never
waits on, or fails because of, a service other than its database. On SQLite it does nothing:
the streams poll the row instead (`make run`, one process).

`JobListener` holds one dedicated connection per API process (outside the pool) that LISTENs
on the channel and wakes the streams watching the file named in each payload. It reconnects
on its own, with backoff; while it is not listening (`live` is False) the streams re-read
their row every SSE_POLL_S, and when it is listening again it wakes every stream once, so a
notification lost meanwhile costs a re-read, never a state. A notification is only a hint to
re-read the row: correctness never depends on its delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import structlog
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("contravento.job_events")

CHANNEL = "gpx_job_state"
APPLICATION_NAME = "contravento-job-listener"  # how the listen connection shows in pg_stat_activity


def notifies(url: str) -> bool:
    """Whether a database URL carries notifications (PostgreSQL) or needs polling (SQLite)."""
    return make_url(url).get_backend_name() == "postgresql"


async def announce(session: AsyncSession, file_id: uuid.UUID) -> None:
    """Inside a transition's transaction: delivered at its COMMIT, dropped by a rollback."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, str(file_id))))


def _dsn(url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as a DSN asyncpg reads."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class JobListener:
    """One LISTEN connection for the process; `subscribe(file_id)` gives an Event set when
    that file's state may have changed (or when notifications may have been missed)."""

    def __init__(
        self, database_url: str, *, timeout_s: float = 5.0, keepalive_s: float = 15.0
    ) -> None:
        self._dsn = _dsn(database_url)
        self._timeout_s = timeout_s
        self._keepalive_s = keepalive_s
        self._waiters: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.live = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="job-listener")

    async def wait_live(self, timeout_s: float) -> bool:
        """At start: give the first connection a moment (False: the streams poll until it is up)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._listening.wait()
        return self.live

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def subscribe(self, file_id: uuid.UUID) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        self._waiters.setdefault(file_id, set()).add(woken)
        try:
            yield woken
        finally:
            waiters = self._waiters.get(file_id)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiters[file_id]

    @property
    def watched(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            file_id = uuid.UUID(payload)
        except ValueError:
            return
        for woken in self._waiters.get(file_id, ()):
            woken.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for woken in waiters:
                woken.set()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        """LISTEN on `conn` until it is lost (raises)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._heard)
        self.live = True
        self._listening.set()
        log.info("job_listener_listening", channel=CHANNEL)
        self._wake_all()  # whatever changed while nobody listened is read again
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._keepalive_s)
            if not lost.is_set():  # a silent connection: prove it is still there
                await conn.fetchval("SELECT 1", timeout=self._timeout_s)
        raise ConnectionError("listen connection closed")

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._timeout_s,
                    server_settings={"application_name": APPLICATION_NAME},
                )
                delay = 0.5
                await self._listen(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.live:
                    log.warning("job_listener_lost", error=repr(exc))
                else:
                    log.warning("job_listener_unavailable", error=repr(exc), retry_in_s=delay)
            finally:
                was_live, self.live = self.live, False
                if was_live:
                    self._wake_all()  # the streams switch to polling at once
                if conn is not None:
                    conn.terminate()
            self._listening.set()  # a first failure also ends wait_live
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
