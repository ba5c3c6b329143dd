"""Sign-up, sign-in and token resolution."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..db.models import User
from .auth_limits import AuthLimiter
from .errors import EmailTakenError, InvalidCredentialsError, NotAuthenticatedError
from .security import (
    create_access_token,
    decode_access_token,
    hash_password_async,
    verify_password_async,
)


async def register(
    session: AsyncSession,
    limiter: AuthLimiter,
    *,
    email: str,
    password: str,
    display_name: str,
    client: str,
) -> User:
    email = email.strip().lower()
    await limiter.begin_register(email=email, address=client)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise EmailTakenError()
    password_hash = await hash_password_async(password)
    user = User(email=email, display_name=display_name.strip(), password_hash=password_hash)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail
        await session.rollback()
        raise EmailTakenError() from exc
    return user


async def login(
    session: AsyncSession,
    settings: Settings,
    limiter: AuthLimiter,
    *,
    email: str,
    password: str,
    client: str,
) -> str:
    """A token for the right password. An unknown e-mail and a wrong password take the same
    path and the same one argon2 verification; both answer INVALID_CREDENTIALS."""
    email = email.strip().lower()
    await limiter.begin_login(email=email, address=client)
    user = await session.scalar(select(User).where(User.email == email))
    if not await verify_password_async(None if user is None else user.password_hash, password):
        raise InvalidCredentialsError()
    assert user is not None
    await limiter.login_succeeded(email=email, address=client)
    return create_access_token(
        user.id, secret=settings.secret_key, expire_minutes=settings.access_token_expire_minutes
    )


async def user_from_token(session: AsyncSession, settings: Settings, token: str) -> User:
    user_id: uuid.UUID = decode_access_token(token, secret=settings.secret_key)
    user = await session.get(User, user_id)
    if user is None:
        raise NotAuthenticatedError()
    return user
