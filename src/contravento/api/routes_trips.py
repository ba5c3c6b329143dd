from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import Trip
from ..schemas.trips import TripDetail, TripIn, TripOut, TripPage, TripPatch, TripSummary
from ..schemas.trips import TripTotals as TripTotalsOut
from ..services import trips
from ..services.trip_totals import trip_totals
from .deps import CtxDep, CurrentUser, OwnedTrip, SessionDep

router = APIRouter(prefix="/trips", tags=["trips"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TripOut)
async def create_trip(body: TripIn, user: CurrentUser, session: SessionDep) -> TripOut:
    trip = await trips.create_trip(
        session, owner=user, title=body.title, description=body.description
    )
    return TripOut.model_validate(trip)


@router.get("", response_model=TripPage)
async def list_trips(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TripPage:
    items, total = await trips.list_trips(session, owner=user, limit=limit, offset=offset)
    summaries = [
        TripSummary(
            **TripOut.model_validate(trip).model_dump(), distance_km=distance, stage_count=count
        )
        for trip, distance, count in items
    ]
    return TripPage(items=summaries, total=total, limit=limit, offset=offset)


async def _detail(session: AsyncSession, trip: Trip) -> TripDetail:
    totals = await trip_totals(session, trip_id=trip.id)
    return TripDetail(
        **TripOut.model_validate(trip).model_dump(),
        totals=TripTotalsOut.model_validate(totals, from_attributes=True),
    )


@router.get("/{trip_id}", response_model=TripDetail)
async def get_trip(trip: OwnedTrip, session: SessionDep) -> TripDetail:
    """The trip with its totals over its completed stages (one SQL aggregate)."""
    return await _detail(session, trip)


@router.patch("/{trip_id}", response_model=TripDetail)
async def update_trip(body: TripPatch, trip: OwnedTrip, session: SessionDep) -> TripDetail:
    """Edit the title and/or the description (a field left out is kept; a null description
    clears it)."""
    trip = await trips.update_trip(
        session,
        trip=trip,
        title=body.title,
        description=body.description,
        fields=body.model_fields_set,
    )
    return await _detail(session, trip)


@router.delete("/{trip_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trip(trip: OwnedTrip, ctx: CtxDep, session: SessionDep) -> Response:
    await trips.delete_trip(session, ctx.storage, trip=trip)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
