"""Find jobs that nobody is running any more and hand them back to a scheduler.

A row is stuck when it is `processing` and started longer ago than PROCESSING_TIMEOUT_S
(its runner died: API restart, worker crash), or `pending` and untouched for as long (its
scheduling was lost: API restart before a background task ran, a Redis message lost).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from sqlalchemy import or_, select

from ..db.models import GPXFile
from ..db.types import utcnow
from .context import AppContext

log = structlog.get_logger("contravento.reconcile")


async def find_stuck(
    ctx: AppContext, *, older_than_s: float | None = None, limit: int = 500
) -> list[uuid.UUID]:
    cutoff = utcnow() - timedelta(
        seconds=ctx.settings.processing_timeout_s if older_than_s is None else older_than_s
    )
    async with ctx.sessions() as session:
        ids = await session.scalars(
            select(GPXFile.id)
            .where(
                or_(
                    (GPXFile.processing_status == "processing") & (GPXFile.started_at < cutoff),
                    (GPXFile.processing_status == "pending") & (GPXFile.updated_at < cutoff),
                )
            )
            .order_by(GPXFile.created_at)
            .limit(limit)
        )
        return list(ids)


async def reconcile(
    ctx: AppContext,
    resubmit: Callable[[uuid.UUID], Awaitable[object]],
    *,
    older_than_s: float | None = None,
) -> int:
    """Resubmit every stuck job; returns how many."""
    stuck = await find_stuck(ctx, older_than_s=older_than_s)
    for file_id in stuck:
        log.warning("job_reconciled", gpx_file_id=str(file_id))
        await resubmit(file_id)
    return len(stuck)
