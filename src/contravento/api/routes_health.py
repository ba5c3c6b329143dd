from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .deps import CtxDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Cheap, touches nothing."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is not ready"}})
async def ready(ctx: CtxDep) -> JSONResponse:
    """Readiness: the database answers (and, when Celery is on, Redis and the workers)."""
    checks: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = {
            "status": "ok",
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }
    except Exception as exc:
        checks["database"] = {"status": "error", "error": type(exc).__name__}
    ok = checks["database"]["status"] == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "error", "checks": checks}, status_code=200 if ok else 503
    )
