"""Trips: create, list, read, update, delete (with their files and stored originals)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import GPXFile, Trip, User
from ..storage import Storage
from .errors import TripNotFoundError
from .gpx_files import delete_originals
from .trip_totals import listed_figures, per_trip_figures


async def create_trip(
    session: AsyncSession, *, owner: User, title: str, description: str | None
) -> Trip:
    trip = Trip(owner_id=owner.id, title=title.strip(), description=description)
    session.add(trip)
    await session.commit()
    return trip


async def list_trips(
    session: AsyncSession, *, owner: User, limit: int, offset: int
) -> tuple[list[tuple[Trip, float, int]], int]:
    """A page of the owner's trips, newest first, each with its distance and stage count."""
    total = await session.scalar(
        select(func.count()).select_from(Trip).where(Trip.owner_id == owner.id)
    )
    figures = per_trip_figures(owner.id)
    rows = await session.execute(
        select(Trip, figures.c.distance_km, figures.c.stage_count)
        .outerjoin(figures, figures.c.trip_id == Trip.id)
        .where(Trip.owner_id == owner.id)
        .order_by(Trip.created_at.desc(), Trip.id)
        .limit(limit)
        .offset(offset)
    )
    page = [(trip, *listed_figures(distance, count)) for trip, distance, count in rows.all()]
    return page, int(total or 0)


async def get_owned_trip(session: AsyncSession, *, owner: User, trip_id: uuid.UUID) -> Trip:
    trip = await session.get(Trip, trip_id)
    if trip is None or trip.owner_id != owner.id:
        raise TripNotFoundError()  # another user's trip is a 404: existence never leaks
    return trip


async def update_trip(
    session: AsyncSession,
    *,
    trip: Trip,
    title: str | None,
    description: str | None,
    fields: set[str],
) -> Trip:
    if "title" in fields and title is not None:
        trip.title = title.strip()
    if "description" in fields:
        trip.description = description
    await session.commit()
    return trip


async def delete_trip(session: AsyncSession, storage: Storage, *, trip: Trip) -> int:
    """Delete the trip, its files' rows (cascade) and then their stored originals."""
    keys = list(
        await session.scalars(select(GPXFile.storage_key).where(GPXFile.trip_id == trip.id))
    )
    await session.delete(trip)
    await session.commit()
    await delete_originals(storage, keys)
    return len(keys)
