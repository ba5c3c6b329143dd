"""Sign-up, sign-in and token resolution."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..db.models import User
from .errors import EmailTakenError, InvalidCredentialsError, NotAuthenticatedError
from .security import create_access_token, decode_access_token, hash_password, verify_password


async def register(session: AsyncSession, *, email: str, password: str, display_name: str) -> User:
    email = email.strip().lower()
    if await session.scalar(select(User.id).where(User.email == email)):
        raise EmailTakenError()
    user = User(
        email=email, display_name=display_name.strip(), password_hash=hash_password(password)
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail
        await session.rollback()
        raise EmailTakenError() from exc
    return user


async def login(session: AsyncSession, settings: Settings, *, email: str, password: str) -> str:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not verify_password(user.password_hash, password):
        raise InvalidCredentialsError()
    return create_access_token(
        user.id, secret=settings.secret_key, expire_minutes=settings.access_token_expire_minutes
    )


async def user_from_token(session: AsyncSession, settings: Settings, token: str) -> User:
    user_id: uuid.UUID = decode_access_token(token, secret=settings.secret_key)
    user = await session.get(User, user_id)
    if user is None:
        raise NotAuthenticatedError()
    return user
