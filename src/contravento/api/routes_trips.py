from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ..schemas.trips import TripIn, TripOut, TripPage, TripPatch
from ..services import trips
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
    return TripPage(
        items=[TripOut.model_validate(t) for t in items], total=total, limit=limit, offset=offset
    )


@router.get("/{trip_id}", response_model=TripOut)
async def get_trip(trip: OwnedTrip) -> TripOut:
    return TripOut.model_validate(trip)


@router.patch("/{trip_id}", response_model=TripOut)
async def update_trip(body: TripPatch, trip: OwnedTrip, session: SessionDep) -> TripOut:
    trip = await trips.update_trip(
        session,
        trip=trip,
        title=body.title,
        description=body.description,
        fields=body.model_fields_set,
    )
    return TripOut.model_validate(trip)


@router.delete("/{trip_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trip(trip: OwnedTrip, ctx: CtxDep, session: SessionDep) -> Response:
    await trips.delete_trip(session, ctx.storage, trip=trip)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
