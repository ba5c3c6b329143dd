"""Liveness (/health), readiness (/ready) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..config import Settings
from ..metrics import ApiMetrics, render, scrape_families
from ..services.errors import NotAuthenticatedError
from ..services.health import BrokerProbe, QueueDepth, readiness
from ..services.job_stats import JobStats, job_stats
from .deps import CtxDep

router = APIRouter(tags=["health"])
log = structlog.get_logger("contravento.health")


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Cheap, touches nothing."""
    return {"status": "ok"}


def has_ops_token(request: Request, settings: Settings) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. Without a token
    (only possible in development, config.py) everyone is an operator."""
    if not settings.metrics_token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), settings.metrics_token.encode()
    )


@router.get("/ready", responses={503: {"description": "The database does not answer"}})
async def ready(request: Request, ctx: CtxDep) -> JSONResponse:
    """Readiness: database; with Celery, Redis (latency), queue depth and live workers.

    `status` is `ok`, `degraded` (Redis or the workers are gone: uploads are still accepted,
    HTTP 200) or `error` (the database does not answer: HTTP 503). Every check is bounded.
    Anonymous callers get the statuses only; latencies, queue figures, worker names and
    errors need the metrics token.
    """
    probe: BrokerProbe | None = request.app.state.broker_probe
    overall, checks = await readiness(ctx, probe)
    if not has_ops_token(request, ctx.settings):
        checks = {name: {"status": check["status"]} for name, check in checks.items()}
    body: dict[str, Any] = {
        "status": overall,
        "celery_enabled": probe is not None,
        "checks": checks,
    }
    return JSONResponse(body, status_code=503 if overall == "error" else 200)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, ctx: CtxDep) -> Response:
    """Prometheus text format. Needs METRICS_TOKEN as a bearer token (always set outside
    development)."""
    settings = ctx.settings
    if not has_ops_token(request, settings):
        raise NotAuthenticatedError()
    api_metrics: ApiMetrics = request.app.state.metrics
    probe: BrokerProbe | None = request.app.state.broker_probe

    async def stats() -> JobStats | None:
        try:
            async with asyncio.timeout(settings.ready_timeout_s):
                return await job_stats(ctx, window_s=settings.metrics_window_s)
        except Exception as exc:
            log.warning("metrics_job_stats_failed", error=repr(exc))
            return None

    async def broker() -> tuple[bool | None, QueueDepth | None, int | None]:
        if probe is None:
            return None, None, None
        redis_up = (await probe.check_redis())["status"] == "ok"
        if not redis_up:
            return False, None, 0
        depth_r, workers_r = await asyncio.gather(
            probe.queue_depth(), probe.live_workers(), return_exceptions=True
        )
        depth = depth_r if isinstance(depth_r, QueueDepth) else None
        workers = len(workers_r) if isinstance(workers_r, list) else 0
        return True, depth, workers

    job, (redis_up, depth, workers) = await asyncio.gather(stats(), broker())
    families = scrape_families(
        celery_enabled=probe is not None,
        stats=job,
        depth=depth,
        workers=workers,
        redis_up=redis_up,
        queue=settings.celery_queue,
    )
    return Response(render(api_metrics, families), media_type=CONTENT_TYPE_LATEST)
