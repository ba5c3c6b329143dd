"""Renew a running job's lease every LEASE_RENEW_S while it runs, in both modes.

The renewal is a task on the runner's event loop; the CPU-bound parse runs in a thread and
yields the GIL often enough for it (the loop is otherwise idle while it waits). A renewal that
finds the lease gone (another run reclaimed the row) cancels the job; one that fails (the
database is away) is tried again at the next beat, and the lease may then expire: that is the
point of a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from ..context import AppContext
from .machine import Claim, renew

log = structlog.get_logger("contravento.jobs")


class Lease:
    """What the block learns from its heartbeat: `lost` once another run took the job."""

    lost = False


async def _beat(ctx: AppContext, held: Claim, owner: asyncio.Task[object], lease: Lease) -> None:
    while True:
        await asyncio.sleep(ctx.settings.lease_renew_s)
        try:
            still_ours = await renew(ctx, held)
        except Exception as exc:
            log.warning("lease_renew_failed", gpx_file_id=str(held.gpx_file_id), error=repr(exc))
            continue
        if not still_ours:
            log.warning("lease_lost", gpx_file_id=str(held.gpx_file_id), attempt=held.fence)
            lease.lost = True
            owner.cancel()
            return


@contextlib.asynccontextmanager
async def lease_kept(ctx: AppContext, held: Claim) -> AsyncIterator[Lease]:
    """While the block runs, the lease is renewed; a lost lease cancels the block."""
    owner = asyncio.current_task()
    assert owner is not None
    lease = Lease()
    beat = asyncio.create_task(_beat(ctx, held, owner, lease))
    try:
        yield lease
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
