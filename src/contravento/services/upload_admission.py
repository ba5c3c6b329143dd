"""The per-owner limit on active jobs (429 TOO_MANY_PENDING_UPLOADS), held under concurrency.

The count and the write that makes a job active are one transaction in which one owner's
admissions queue up: on PostgreSQL behind a row lock on the owner (SELECT ... FOR UPDATE), so
the guarded write that follows, a new statement under READ COMMITTED, counts every job committed
before it; on SQLite the guarded write takes the database's write lock before it counts. Either
way a parallel upload waits for the one before it and sees its row: never more than the limit.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import GPXFile, User
from .jobs.machine import ACTIVE

ACTIVE_STATUSES = ACTIVE

_FILES = cast(Table, GPXFile.__table__)
ACTIVE_COUNT = (
    select(func.count())
    .select_from(GPXFile)
    .where(
        GPXFile.owner_id == bindparam("active_owner"),
        GPXFile.processing_status.in_(ACTIVE_STATUSES),
    )
    .scalar_subquery()
)
_ROOM = bindparam("max_active") > ACTIVE_COUNT
# Built once: INSERT INTO gpx_files (...) SELECT :v_id, ... WHERE (active count) < :max_active
_INSERT_IF_ROOM = insert(_FILES).from_select(
    [column.key for column in _FILES.columns],
    select(*[bindparam(f"v_{column.key}", type_=column.type) for column in _FILES.columns]).where(
        _ROOM
    ),
)


async def _queue_behind_owner(tx: AsyncSession, owner_id: uuid.UUID) -> None:
    if tx.get_bind().dialect.name == "postgresql":
        await tx.execute(select(User.id).where(User.id == owner_id).with_for_update())


async def insert_if_room(tx: AsyncSession, values: dict[str, Any], *, max_active: int) -> bool:
    """INSERT the job row (every column in `values`) unless its owner is at the limit."""
    await _queue_behind_owner(tx, values["owner_id"])
    params = {f"v_{key}": value for key, value in values.items()}
    params.update(active_owner=values["owner_id"], max_active=max_active)
    result = cast(CursorResult[Any], await tx.execute(_INSERT_IF_ROOM, params))
    return result.rowcount == 1


async def update_if_room(
    tx: AsyncSession,
    *,
    file_id: uuid.UUID,
    owner_id: uuid.UUID,
    values: dict[str, Any],
    max_active: int,
) -> bool:
    """UPDATE an inactive job's row back to active unless its owner is at the limit."""
    await _queue_behind_owner(tx, owner_id)
    statement = update(_FILES).where(_FILES.c.id == file_id, _ROOM).values(**values)
    result = cast(
        CursorResult[Any],
        await tx.execute(statement, {"active_owner": owner_id, "max_active": max_active}),
    )
    return result.rowcount == 1
