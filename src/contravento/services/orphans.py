"""The orphan sweep: stored originals that no job row points to, and unfinished writes.

An upload stores its original before its row commits; if the row never commits (a crash, a
cancelled request, a store that failed the cleanup) the object stays with no row. Objects under
gpx_files/ older than `older_than_s` whose key no row carries are deleted, and so are the
leftovers of writers that never finished (temp files; S3 multipart uploads). The age keeps the
sweep clear of an upload in flight, whose row is about to commit.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select

from ..db.models import GPXFile
from ..db.types import utcnow
from ..storage import ORIGINALS_PREFIX
from .context import AppContext

log = structlog.get_logger("contravento.orphans")
BATCH = 500


def _file_id(key: str) -> uuid.UUID | None:
    """gpx_files/{yyyy}/{mm}/{trip_id}/{gpx_file_id}.gpx -> gpx_file_id (the primary key)."""
    try:
        return uuid.UUID(key.rsplit("/", 1)[-1].removesuffix(".gpx"))
    except ValueError:
        return None


async def _orphans(ctx: AppContext, keys: list[str]) -> list[str]:
    """The keys no row carries, looked up by primary key (the id is in the key)."""
    by_id = {key: _file_id(key) for key in keys}
    ids = {file_id for file_id in by_id.values() if file_id is not None}
    async with ctx.sessions() as session:
        carried = set(await session.scalars(select(GPXFile.storage_key).where(GPXFile.id.in_(ids))))
    return [key for key in keys if key not in carried]


async def sweep_orphans(ctx: AppContext, *, older_than_s: float) -> int:
    """Delete orphaned originals and stale unfinished writes older than `older_than_s`;
    returns how many things were removed."""
    storage = ctx.storage
    cutoff = utcnow() - timedelta(seconds=older_than_s)

    def old_keys() -> list[str]:
        return [o.key for o in storage.list_objects(ORIGINALS_PREFIX) if o.modified < cutoff]

    keys = await asyncio.to_thread(old_keys)
    orphans: list[str] = []
    for start in range(0, len(keys), BATCH):
        orphans += await _orphans(ctx, keys[start : start + BATCH])

    def remove() -> int:
        for key in orphans:
            storage.delete(key)
        return storage.remove_stale_uploads(cutoff)

    stale = await asyncio.to_thread(remove)
    log.info("orphans_swept", orphans=len(orphans), stale_uploads=stale, checked=len(keys))
    return len(orphans) + stale
