"""Dependencies: the app context, a session per request, the current user, owned resources."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.models import GPXFile, Trip, User
from ..services import accounts, gpx_files, trips
from ..services.auth_limits import AuthLimiter
from ..services.context import AppContext
from ..services.errors import GPXFileNotFoundError, NotAuthenticatedError, TripNotFoundError
from ..services.security import decode_access_token

_bearer = HTTPBearer(auto_error=False)


async def get_ctx(request: Request) -> AppContext:
    # async on purpose: FastAPI runs a plain `def` dependency in the thread pool, a thread
    # hand-off (and GIL round trip) per request for an attribute read.
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


async def get_auth_limiter(request: Request) -> AuthLimiter:
    limiter: AuthLimiter = request.app.state.auth_limiter
    return limiter


AuthLimiterDep = Annotated[AuthLimiter, Depends(get_auth_limiter)]


async def get_client_address(request: Request) -> str:
    """The caller's address: the peer, or the X-Forwarded-For client that uvicorn took from a
    proxy listed in FORWARDED_ALLOW_IPS."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(get_client_address)]


async def get_session(ctx: CtxDep) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_autocommit_session(ctx: CtxDep) -> AsyncIterator[AsyncSession]:
    async with ctx.autocommit_sessions() as session:
        yield session


# The upload route's session (see AppContext.autocommit_sessions): 4 round trips fewer per upload.
AutocommitSessionDep = Annotated[AsyncSession, Depends(get_autocommit_session)]


async def get_current_user(
    ctx: CtxDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticatedError()
    return await accounts.user_from_token(session, ctx.settings, credentials.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


def _parse_id(raw: str, error: type[Exception]) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:  # not a UUID: it cannot exist, so it is a 404 like any other
        raise error() from exc


async def owned_trip(trip_id: str, user: CurrentUser, session: SessionDep) -> Trip:
    return await trips.get_owned_trip(
        session, owner=user, trip_id=_parse_id(trip_id, TripNotFoundError)
    )


OwnedTrip = Annotated[Trip, Depends(owned_trip)]


# Built once (see services/uploads.py): the upload route runs it on every request.
_USER_AND_TRIP = (
    select(User, Trip)
    .outerjoin(Trip, and_(Trip.id == bindparam("trip_id"), Trip.owner_id == User.id))
    .where(User.id == bindparam("user_id"))
)


async def user_and_owned_trip(
    trip_id: str,
    ctx: CtxDep,
    session: AutocommitSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, Trip]:
    """CurrentUser + OwnedTrip in one query (the upload route's hot path), same answers:
    401 for a missing/invalid token or an unknown user, then 404 for a malformed, unknown or
    someone else's trip."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticatedError()
    user_id = decode_access_token(credentials.credentials, secret=ctx.settings.secret_key)
    try:
        wanted: uuid.UUID | None = uuid.UUID(trip_id)
    except ValueError:
        wanted = None
    if wanted is None:
        if await session.get(User, user_id) is None:
            raise NotAuthenticatedError()
        raise TripNotFoundError()
    found = (await session.execute(_USER_AND_TRIP, {"trip_id": wanted, "user_id": user_id})).first()
    if found is None:
        raise NotAuthenticatedError()
    user, trip = found
    if trip is None:  # another user's trip is a 404: existence never leaks
        raise TripNotFoundError()
    return user, trip


UserAndTrip = Annotated[tuple[User, Trip], Depends(user_and_owned_trip)]


async def owned_file(gpx_file_id: str, user: CurrentUser, session: SessionDep) -> GPXFile:
    file_id = _parse_id(gpx_file_id, GPXFileNotFoundError)
    return await gpx_files.get_owned_file(session, owner=user, gpx_file_id=file_id, with_stats=True)


OwnedFile = Annotated[GPXFile, Depends(owned_file)]


async def watched_file(
    gpx_file_id: str,
    ctx: CtxDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, GPXFile]:
    """CurrentUser + OwnedFile for a long-lived response (GET /gpx/{id}/events), with the same
    answers (401, then 404 for a malformed, unknown or someone else's file), in a session
    closed before the response starts: an open stream never holds a pooled connection."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticatedError()
    async with ctx.sessions() as session:
        user = await accounts.user_from_token(session, ctx.settings, credentials.credentials)
        file_id = _parse_id(gpx_file_id, GPXFileNotFoundError)
        row = await gpx_files.get_owned_file(
            session, owner=user, gpx_file_id=file_id, with_stats=True
        )
    return user, row


WatchedFile = Annotated[tuple[User, GPXFile], Depends(watched_file)]
