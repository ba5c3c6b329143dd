"""Readiness and queue probes: database, Redis, queue depth, live Celery workers.

Every probe is bounded (READY_TIMEOUT_S, WORKER_PING_TIMEOUT_S) and reports an error instead
of raising, so /ready and /metrics answer quickly even when a dependency hangs. Blocking calls
(Celery's broadcast ping) run in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import redis.asyncio as aioredis
from celery import Celery
from sqlalchemy import text

from ..redis_conn import RedisTarget
from .context import AppContext

Status = Literal["ok", "degraded", "error", "disabled"]

# kombu's Redis transport keeps delivered-but-unacknowledged messages (running tasks and
# tasks waiting out a retry countdown) in this hash until the worker acks them.
UNACKED_KEY = "unacked"
# Messages with a priority go to extra lists named queue + sep + priority (kombu's default
# steps 0, 3, 6, 9); the default priority uses the bare queue name.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)


async def check_database(ctx: AppContext, limit_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit_s), ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return {"status": "error", "error": f"timeout after {limit_s:g}s"}
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": _ms(started)}


@dataclass
class QueueDepth:
    queued: int
    unacked: int

    @property
    def total(self) -> int:
        return self.queued + self.unacked


@dataclass
class BrokerProbe:
    """Redis (under Sentinel: the current master) and the workers behind it, as seen by the
    API."""

    redis: RedisTarget
    queue: str
    timeout: float
    ping_timeout: float
    celery_app: Celery | None = None
    cache_s: float = 5.0  # the worker broadcast is shared by the requests of this window
    _client: aioredis.Redis | None = field(default=None, repr=False)
    _workers: tuple[float, list[str] | BaseException] | None = field(default=None, repr=False)
    _workers_lock: asyncio.Lock | None = field(default=None, repr=False)

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = self.redis.async_client(
                connect_timeout=self.timeout, timeout=self.timeout
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await RedisTarget.aclose(self._client)
            self._client = None

    async def check_redis(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                await self.client.ping()
        except TimeoutError:
            return {"status": "error", "error": f"timeout after {self.timeout:g}s"}
        except Exception as exc:
            return {"status": "error", "error": type(exc).__name__}
        return {"status": "ok", "latency_ms": _ms(started)}

    async def queue_depth(self) -> QueueDepth:
        """LLEN of the queue (and its priority lists) plus the unacked count. Raises on error."""
        keys = [self.queue] + [f"{self.queue}{_PRIORITY_SEP}{p}" for p in _PRIORITY_STEPS]
        async with asyncio.timeout(self.timeout):
            async with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                pipe.hlen(UNACKED_KEY)
                replies = await pipe.execute()
        return QueueDepth(queued=int(sum(replies[:-1])), unacked=int(replies[-1]))

    def _ping_blocking(self) -> list[str]:
        # One broadcast, like `inspect ping`, but the replies say which queues each worker
        # consumes: a worker of another app or queue on the same Redis does not count.
        assert self.celery_app is not None
        inspector = self.celery_app.control.inspect(timeout=self.ping_timeout)
        replies = inspector.active_queues() or {}
        return sorted(
            name
            for name, queues in replies.items()
            if any(q.get("name") == self.queue for q in queues or [])
        )

    async def live_workers(self) -> list[str]:
        """Workers consuming our queue that answer within WORKER_PING_TIMEOUT_S.

        The broadcast blocks a thread for up to the ping timeout, so its answer (or its error)
        is kept for `cache_s` and at most one broadcast is in flight: a burst of /ready or
        /metrics requests cannot take the threads that uploads and parsing need.
        """
        if self.celery_app is None:
            return []
        if self._workers_lock is None:
            self._workers_lock = asyncio.Lock()
        async with self._workers_lock:
            cached = self._workers
            if cached is None or time.monotonic() - cached[0] > self.cache_s:
                try:
                    async with asyncio.timeout(self.ping_timeout + self.timeout + 1.0):
                        names: list[str] | BaseException = await asyncio.to_thread(
                            self._ping_blocking
                        )
                except Exception as exc:
                    names = exc
                cached = self._workers = (time.monotonic(), names)
        if isinstance(cached[1], BaseException):
            raise cached[1]
        return list(cached[1])


async def readiness(ctx: AppContext, probe: BrokerProbe | None) -> tuple[Status, dict[str, Any]]:
    """Overall status and the checks behind it.

    error    the database does not answer: the API cannot serve (HTTP 503)
    degraded Celery is on but Redis or every worker is gone: uploads are still accepted and
             Redis-less ones run in-process, or wait in the queue for a worker (HTTP 200)
    ok       everything answers
    """
    settings = ctx.settings
    checks: dict[str, Any] = {}
    db_task = asyncio.create_task(check_database(ctx, settings.ready_timeout_s))
    if probe is None:
        disabled = {"status": "disabled", "required": False}
        checks["redis"] = dict(disabled)
        checks["queue"] = dict(disabled)
        checks["workers"] = dict(disabled)
    else:
        checks["redis"] = await probe.check_redis()
        if checks["redis"]["status"] == "ok":
            checks["queue"], checks["workers"] = await asyncio.gather(
                _queue_check(probe), _workers_check(probe)
            )
        else:
            checks["queue"] = {"status": "error", "error": "redis unreachable"}
            checks["workers"] = {"status": "error", "alive": 0, "error": "redis unreachable"}
    checks = {"database": await db_task, **checks}
    if checks["database"]["status"] != "ok":
        overall: Status = "error"
    elif any(checks[k]["status"] == "error" for k in ("redis", "queue", "workers")):
        overall = "degraded"
    else:
        overall = "ok"
    return overall, checks


async def _queue_check(probe: BrokerProbe) -> dict[str, Any]:
    try:
        depth = await probe.queue_depth()
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {
        "status": "ok",
        "name": probe.queue,
        "queued": depth.queued,
        "unacked": depth.unacked,
        "depth": depth.total,
    }


async def _workers_check(probe: BrokerProbe) -> dict[str, Any]:
    try:
        names = await probe.live_workers()
    except Exception as exc:
        return {"status": "error", "alive": 0, "error": type(exc).__name__}
    if not names:
        return {"status": "error", "alive": 0, "error": "no worker consuming the queue answered"}
    return {"status": "ok", "alive": len(names), "names": names}
