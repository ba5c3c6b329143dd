"""A trip's figures over its completed stages, each one SQL aggregate (never the stages'
rows): SUM ignores the stages without a figure, COUNT counts the completed ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import GPXFile, RouteStatsRow
from .jobs.machine import JobStatus


@dataclass(frozen=True)
class TripTotals:
    distance_km: float
    elevation_gain_m: float | None
    elevation_loss_m: float | None
    moving_time_s: float | None
    elapsed_time_s: float | None
    stage_count: int
    first_ride_at: datetime | None
    last_ride_at: datetime | None


def _completed_stages() -> Any:
    return (
        select()
        .select_from(RouteStatsRow)
        .join(GPXFile, GPXFile.id == RouteStatsRow.gpx_file_id)
        .where(GPXFile.processing_status == JobStatus.COMPLETED)
    )


def _rounded(value: Any, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


async def trip_totals(session: AsyncSession, *, trip_id: uuid.UUID) -> TripTotals:
    query = _completed_stages().add_columns(
        func.sum(RouteStatsRow.distance_km),
        func.sum(RouteStatsRow.elevation_gain_m),
        func.sum(RouteStatsRow.elevation_loss_m),
        func.sum(RouteStatsRow.moving_time_s),
        func.sum(RouteStatsRow.duration_s),
        func.count(),
        func.min(RouteStatsRow.start_time),
        func.max(RouteStatsRow.start_time),
    )
    row = (await session.execute(query.where(GPXFile.trip_id == trip_id))).one()
    distance, gain, loss, moving, elapsed, count, first, last = row
    return TripTotals(
        distance_km=_rounded(distance, 3) or 0.0,
        elevation_gain_m=_rounded(gain, 1),
        elevation_loss_m=_rounded(loss, 1),
        moving_time_s=_rounded(moving, 1),
        elapsed_time_s=_rounded(elapsed, 1),
        stage_count=int(count),
        first_ride_at=first,
        last_ride_at=last,
    )


def per_trip_figures(owner_id: uuid.UUID) -> Any:
    """A subquery of (trip_id, distance_km, stage_count) over the owner's completed stages,
    for the trip listing to join (one query for the page)."""
    return (
        _completed_stages()
        .add_columns(
            GPXFile.trip_id.label("trip_id"),
            func.sum(RouteStatsRow.distance_km).label("distance_km"),
            func.count().label("stage_count"),
        )
        .where(GPXFile.owner_id == owner_id)
        .group_by(GPXFile.trip_id)
        .subquery()
    )


def listed_figures(distance: Any, count: Any) -> tuple[float, int]:
    return (_rounded(distance, 3) or 0.0, int(count or 0))
