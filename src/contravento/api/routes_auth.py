from __future__ import annotations

from fastapi import APIRouter, status

from ..schemas.auth import LoginIn, RegisterIn, TokenOut, UserOut
from ..services import accounts
from .deps import AuthLimiterDep, ClientAddress, CtxDep, CurrentUser, SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(
    body: RegisterIn, session: SessionDep, limiter: AuthLimiterDep, client: ClientAddress
) -> UserOut:
    user = await accounts.register(
        session,
        limiter,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        client=client,
    )
    return UserOut.model_validate(user)


@router.post("/login", response_model=TokenOut)
async def login(
    body: LoginIn,
    ctx: CtxDep,
    session: SessionDep,
    limiter: AuthLimiterDep,
    client: ClientAddress,
) -> TokenOut:
    token = await accounts.login(
        session, ctx.settings, limiter, email=body.email, password=body.password, client=client
    )
    return TokenOut(access_token=token)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
