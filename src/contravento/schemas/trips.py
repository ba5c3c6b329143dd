from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .common import Text


class TripIn(BaseModel):
    title: Text = Field(min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)


class TripPatch(BaseModel):
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5000)


class TripOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class TripPage(BaseModel):
    items: list[TripOut]
    total: int
    limit: int
    offset: int
