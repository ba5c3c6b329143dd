from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .common import Text, Title


class TripIn(BaseModel):
    title: Title = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)


class TripPatch(BaseModel):
    title: Title | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)


class TripOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class TripTotals(BaseModel):
    """Sums over the trip's completed stages; a figure no stage has is null (distance is 0 and
    the dates null for a trip with no completed stage). Ride dates are the stages' start times."""

    distance_km: float
    elevation_gain_m: float | None
    elevation_loss_m: float | None
    moving_time_s: float | None
    elapsed_time_s: float | None
    stage_count: int
    first_ride_at: datetime | None
    last_ride_at: datetime | None


class TripDetail(TripOut):
    totals: TripTotals


class TripSummary(TripOut):
    distance_km: float  # over its completed stages
    stage_count: int


class TripPage(BaseModel):
    items: list[TripSummary]
    total: int
    limit: int
    offset: int
