"""Following one job's row for a live stream (GET /gpx/{id}/events).

The row is the only source: it is read again on each notification of the file (notify.py),
and, whatever arrives or not, every SSE_RECHECK_S (every SSE_POLL_S when there are no
notifications: SQLite, or the listen connection down). Each read is a short session of its
own, so an open stream holds no pooled connection. Versions are the row's `updated_at` in
microseconds: every transition sets it, so it grows with each state of a file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from ...db.models import GPXFile, User
from .. import gpx_files
from ..context import AppContext
from ..errors import GPXFileNotFoundError
from .machine import FINISHED
from .notify import JobListener

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version(row: GPXFile) -> str:
    """A value that grows with each state of the file (the SSE `id:`)."""
    return str((row.updated_at - _EPOCH) // timedelta(microseconds=1))


async def _read(ctx: AppContext, owner: User, row: GPXFile) -> GPXFile | None:
    async with ctx.sessions() as session:
        try:
            return await gpx_files.get_owned_file(
                session, owner=owner, gpx_file_id=row.id, with_stats=True
            )
        except GPXFileNotFoundError:  # deleted meanwhile
            return None


async def _wait(woken: asyncio.Event | None, timeout_s: float) -> None:
    if woken is None:
        await asyncio.sleep(timeout_s)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(woken.wait(), timeout_s)
    woken.clear()  # before the re-read: a notification after it wakes the next wait


async def follow(
    ctx: AppContext,
    listener: JobListener | None,
    *,
    owner: User,
    first: GPXFile,
    seen: str | None = None,
) -> AsyncIterator[GPXFile]:
    """The file's row now (unless `seen` is already its version), then each time it changed,
    until it is completed or failed, deleted, or SSE_MAX_STREAM_S have passed."""
    settings = ctx.settings
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.sse_max_stream_s
    subscription = (
        listener.subscribe(first.id) if listener is not None else contextlib.nullcontext(None)
    )
    with subscription as woken:
        if woken is not None:
            woken.set()  # `first` was read before this subscription: read once more at once
        row: GPXFile | None = first
        last = seen
        while row is not None:
            current = version(row)
            if current != last:
                last = current
                yield row
            if row.processing_status in FINISHED:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            live = listener is not None and listener.live
            interval = settings.sse_recheck_s if live else settings.sse_poll_s
            await _wait(woken, min(interval, remaining))
            row = await _read(ctx, owner, row)
