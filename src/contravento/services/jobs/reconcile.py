"""Find jobs that nobody holds and hand them to a runner again (every RECONCILE_INTERVAL_S).

Stranded (machine.stranded): `processing` under an expired lease (its runner died), or
`pending`, due, and not dispatched for REDISPATCH_AFTER_S (a message lost with a Redis that
kept nothing, an API that died before its in-process run, a retry countdown lost). A job whose
message still waits in the queue is left alone, so a real backlog is not published twice;
behind a queue too long to search, only after PROCESSING_TIMEOUT_S (the last resort).
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from ...db.types import utcnow
from ..context import AppContext
from . import machine
from .dispatch import Dispatcher

log = structlog.get_logger("contravento.reconcile")


async def reconcile(ctx: AppContext, dispatcher: Dispatcher) -> int:
    """Dispatch every stranded job again; returns how many were."""
    jobs = await machine.stranded(ctx)
    if not jobs:
        return 0
    queued = await dispatcher.queued({j.task_id for j in jobs if j.task_id and j.mode == "celery"})
    last_resort = utcnow() - timedelta(seconds=ctx.settings.processing_timeout_s)
    count = 0
    for job in jobs:
        if job.mode == "celery" and job.task_id:
            # a processing row's message was delivered (it was claimed): behind a queue too
            # long to search, only a pending one is presumed to be waiting
            unknown = queued is None and job.status == machine.JobStatus.PENDING
            waiting = unknown or (queued is not None and job.task_id in queued)
            if waiting and not (job.dispatched_at is None or job.dispatched_at < last_resort):
                continue
        mode = await dispatcher.redispatch(job)
        if mode is None:
            continue
        count += 1
        log.warning(
            "job_reconciled",
            gpx_file_id=str(job.gpx_file_id),
            status=job.status,
            was=job.mode,
            now=mode,
        )
    return count
