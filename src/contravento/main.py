"""create_app(): routers, error mapping, request ids, lifespan (migrate, reconcile)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from .api import (
    routes_auth,
    routes_events,
    routes_gpx,
    routes_health,
    routes_imports,
    routes_trips,
)
from .api.errors import install_error_handlers
from .api.request_id import RequestIdMiddleware
from .config import Settings, get_settings
from .db.migrate import upgrade
from .logging import configure_logging
from .metrics import ApiMetrics
from .redis_conn import RedisTarget
from .schemas.errors import error_responses
from .services.auth_limits import AuthLimiter
from .services.context import AppContext
from .services.health import BrokerProbe
from .services.jobs.dispatch import Dispatcher, Publisher
from .services.jobs.notify import JobListener, notifies
from .services.jobs.reconcile import reconcile
from .web import install_web
from .web.docs import install_docs

log = structlog.get_logger("contravento.app")


def _make_publisher(settings: Settings) -> Publisher | None:
    if not settings.celery_enabled:
        return None
    from .worker.app import app as celery_app
    from .worker.publisher import CeleryPublisher

    return CeleryPublisher(celery_app, settings)


def _make_broker_probe(settings: Settings) -> BrokerProbe | None:
    if not settings.celery_enabled:
        return None
    from .worker.app import app as celery_app

    return BrokerProbe(
        redis=RedisTarget.from_settings(settings),
        queue=settings.celery_queue,
        timeout=settings.ready_timeout_s,
        ping_timeout=settings.worker_ping_timeout_s,
        cache_s=settings.worker_ping_cache_s,
        celery_app=celery_app,
    )


async def _reconcile_loop(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    dispatcher: Dispatcher = app.state.dispatcher
    while True:
        try:
            await reconcile(ctx, dispatcher)
        except Exception:
            log.exception("reconcile_failed")
        await asyncio.sleep(ctx.settings.reconcile_interval_s)


async def _start_job_listener(settings: Settings) -> JobListener | None:
    """PostgreSQL: one LISTEN connection wakes this replica's event streams (notify.py);
    SQLite: None, the streams poll their row."""
    if not notifies(settings.database_url):
        return None
    listener = JobListener(settings.database_url, timeout_s=settings.ready_timeout_s)
    listener.start()
    await listener.wait_live(settings.ready_timeout_s)  # down: the streams poll until it is up
    return listener


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.auto_migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    ctx = AppContext.create(settings)
    app.state.ctx = ctx
    app.state.dispatcher = Dispatcher(ctx, _make_publisher(settings))
    app.state.broker_probe = _make_broker_probe(settings)
    app.state.auth_limiter = AuthLimiter(settings)
    app.state.job_listener = await _start_job_listener(settings)
    loop_task = (
        asyncio.create_task(_reconcile_loop(app)) if settings.reconcile_interval_s > 0 else None
    )
    log.info("api_started", database=settings.database_url.split("://", 1)[0], env=settings.app_env)
    try:
        yield
    finally:
        if loop_task is not None:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        app.state.dispatcher.close()
        await app.state.dispatcher.drain()
        if app.state.broker_probe is not None:
            await app.state.broker_probe.close()
        await app.state.auth_limiter.close()
        if app.state.job_listener is not None:
            await app.state.job_listener.close()
        await ctx.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    app = FastAPI(
        title="ContraVento",
        version="0.1.0",
        description="Diario de viajes en bici: sube un GPX y obtén la ruta, el perfil y las cifras",
        lifespan=lifespan,
        docs_url=None,  # served from vendored assets by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    app.state.broker_probe = None
    app.state.job_listener = None
    install_error_handlers(app)

    app.add_middleware(RequestIdMiddleware)

    app.include_router(routes_health.router, responses=error_responses(503))
    auth_errors = error_responses(400, 401, 409, 422, 429, 503)
    app.include_router(routes_auth.router, responses=auth_errors)
    app.include_router(routes_trips.router, responses=error_responses(400, 401, 404, 409, 422, 503))
    gpx_errors = error_responses(400, 401, 404, 408, 409, 413, 415, 422, 429, 503)
    app.include_router(routes_gpx.router, responses=gpx_errors)
    app.include_router(routes_events.router, responses=error_responses(401, 404, 503))
    app.include_router(routes_imports.router, responses=error_responses(401, 404, 503))
    install_docs(app)
    install_web(app)  # last: `/` and `/static` shadow no API route
    return app
