"""Password hashing (argon2) and signed access tokens (JWT, HS256).

argon2 takes about 0.1 s of CPU and 64 MiB per hash and releases the GIL: the async functions
run it in threads of its own, one per core, so the event loop keeps answering while sign-ins
hash, a burst of sign-ins cannot take the default thread pool that uploads and parsing use,
and the memory of concurrent hashes is bounded (cores x 64 MiB). `python -m bench.auth`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import NotAuthenticatedError

_hasher = PasswordHasher()
ALGORITHM = "HS256"
# An unknown e-mail is verified against this hash, made with the same parameters as every
# stored one: it costs what a wrong password costs, so timing does not tell accounts apart.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_HASH_THREADS = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_HASH_THREADS, hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """Off the event loop; `None` (no such account) costs one full verification too."""
    loop = asyncio.get_running_loop()
    if password_hash is None:
        await loop.run_in_executor(_HASH_THREADS, verify_password, _DUMMY_HASH, password)
        return False
    return await loop.run_in_executor(_HASH_THREADS, verify_password, password_hash, password)


def create_access_token(user_id: uuid.UUID, *, secret: str, expire_minutes: int) -> str:
    now = datetime.now(UTC)
    payload = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=expire_minutes)}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> uuid.UUID:
    """The user id in a valid token; NotAuthenticatedError otherwise (incl. alg=none)."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return uuid.UUID(str(payload["sub"]))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise NotAuthenticatedError() from exc
