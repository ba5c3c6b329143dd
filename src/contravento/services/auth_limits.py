"""Abuse limits of sign-in and sign-up: fixed windows of the `limits` library.

Counters (defaults in config.py):

- AUTH_RATE_LIMIT (5/minute): failed sign-ins of one account from one client address. It is
  counted *before* the password is checked (one atomic increment, so a burst of parallel
  guesses cannot all pass a check before the first failure is recorded) and cleared by a
  successful sign-in: what it holds is the failures since the last success. Somebody else's
  wrong passwords, from another address, never lock a cyclist out of their account.
- AUTH_ACCOUNT_RATE_LIMIT (100/hour): every sign-in attempt of one account from all
  addresses, against guessing spread over many addresses. An address the account signed in
  from successfully in the last AUTH_KNOWN_ADDRESS_DAYS is exempt from this one (not from the
  first), so an attack elsewhere does not lock the owner out of their usual places either.
- AUTH_IP_RATE_LIMIT (30/minute): every sign-in and sign-up request of one client address
  (each costs an argon2 hash): credential stuffing over many accounts, account farming.
- Sign-ups of one e-mail address: AUTH_RATE_LIMIT, every attempt.

The counters live in Redis (REDIS_URL) so every API replica shares them. Every Redis call is
bounded by REDIS_CONNECT_TIMEOUT_S; on any failure the limits are kept in this process
(`BoundedMemoryStorage`, at most AUTH_RATE_LIMIT_FALLBACK_KEYS counters) for
REDIS_CIRCUIT_OPEN_S before Redis is tried again. E-mail addresses are stored hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from limits import RateLimitItem, RateLimitItemPerDay, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from ..config import Settings
from ..redis_conn import RedisTarget
from .errors import TooManyAttemptsError

log = structlog.get_logger("contravento.auth_limits")
T = TypeVar("T")
KEY_PREFIX = "contravento_auth"


class BoundedMemoryStorage(MemoryStorage):
    """The `limits` memory storage with at most `max_keys` counters: a new counter beyond
    that drops the oldest one first (insertion order), so a flood of distinct e-mails or
    addresses costs bounded memory (it can then evict other counters: a fallback only)."""

    def __init__(self, max_keys: int) -> None:
        super().__init__()
        self.max_keys = max_keys

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        if key not in self.storage:
            while len(self.storage) >= self.max_keys:
                await self.clear(next(iter(self.storage)))
        return await super().incr(key, expiry, amount)


def account_id(email: str) -> str:
    """The key of an account in the counters: never the e-mail itself."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class AuthLimiter:
    def __init__(self, settings: Settings) -> None:
        self.per_address = parse(settings.auth_rate_limit)
        self.per_account = parse(settings.auth_account_rate_limit)
        self.per_ip = parse(settings.auth_ip_rate_limit)
        self.known = RateLimitItemPerDay(1, settings.auth_known_address_days)
        self._timeout = settings.redis_connect_timeout_s
        self._circuit_s = settings.redis_circuit_open_s
        self._redis_url = settings.redis_url
        self._target = RedisTarget.from_settings(settings)  # plain or under Sentinel
        self._redis_storage: RedisStorage | None = None
        self._redis_down_until = 0.0
        self.memory = BoundedMemoryStorage(settings.auth_rate_limit_fallback_keys)
        self._memory_limiter = FixedWindowRateLimiter(self.memory)

    def _redis(self) -> FixedWindowRateLimiter | None:
        if not self._redis_url or time.monotonic() < self._redis_down_until:
            return None
        if self._redis_storage is None:
            uri, options = self._target.limits_storage(
                connect_timeout=self._timeout, timeout=self._timeout, asynchronous=True
            )
            storage = storage_from_string(uri, key_prefix=KEY_PREFIX, **options)
            assert isinstance(storage, RedisStorage)  # plain or the Sentinel subclass
            self._redis_storage = storage
        return FixedWindowRateLimiter(self._redis_storage)

    @property
    def using_redis(self) -> bool:
        return bool(self._redis_url) and time.monotonic() >= self._redis_down_until

    async def _run(self, op: Callable[[FixedWindowRateLimiter], Awaitable[T]]) -> T:
        """`op` on Redis within REDIS_CONNECT_TIMEOUT_S, else on the in-process counters."""
        redis_limiter = self._redis()
        if redis_limiter is not None:
            try:
                async with asyncio.timeout(self._timeout):
                    return await op(redis_limiter)
            except Exception as exc:  # down, hung, refused, full: never fail a sign-in on it
                self._redis_down_until = time.monotonic() + self._circuit_s
                log.warning(
                    "auth_limits_redis_unavailable",
                    error=repr(exc)[:200],
                    fallback="in-process",
                    retry_in_s=self._circuit_s,
                )
        return await op(self._memory_limiter)

    @staticmethod
    async def _wait_s(limiter: FixedWindowRateLimiter, item: RateLimitItem, *ids: str) -> int:
        """Seconds until the window ends, never less: Redis's TTL is rounded to the nearest
        second (up to 0.5 s short), so one second is added there."""
        stats = await limiter.get_window_stats(item, *ids)
        slack = 1 if isinstance(limiter.storage, RedisStorage) else 0
        return max(1, math.ceil(stats.reset_time - time.time()) + slack)

    async def begin_login(self, *, email: str, address: str) -> None:
        """Count a sign-in attempt before its password is checked; TooManyAttemptsError
        (with the wait) if a limit is used up. Call `login_succeeded` when it succeeds."""
        account = account_id(email)

        async def op(limiter: FixedWindowRateLimiter) -> int | None:
            if not await limiter.hit(self.per_ip, "ip", address):
                return await self._wait_s(limiter, self.per_ip, "ip", address)
            pair_ok = await limiter.hit(self.per_address, "login", account, address)
            account_ok = await limiter.hit(self.per_account, "login", account)
            if not pair_ok:
                return await self._wait_s(limiter, self.per_address, "login", account, address)
            if not account_ok and not await self._is_known(limiter, account, address):
                return await self._wait_s(limiter, self.per_account, "login", account)
            return None

        _refuse_if(await self._run(op), "login", address)

    async def login_succeeded(self, *, email: str, address: str) -> None:
        account = account_id(email)

        async def op(limiter: FixedWindowRateLimiter) -> None:
            await limiter.clear(self.per_address, "login", account, address)
            if not await self._is_known(limiter, account, address):
                await limiter.hit(self.known, "known", account, address)

        await self._run(op)

    async def begin_register(self, *, email: str, address: str) -> None:
        account = account_id(email)

        async def op(limiter: FixedWindowRateLimiter) -> int | None:
            if not await limiter.hit(self.per_ip, "ip", address):
                return await self._wait_s(limiter, self.per_ip, "ip", address)
            if not await limiter.hit(self.per_address, "register", account):
                return await self._wait_s(limiter, self.per_address, "register", account)
            return None

        _refuse_if(await self._run(op), "register", address)

    async def _is_known(self, limiter: FixedWindowRateLimiter, account: str, address: str) -> bool:
        return not await limiter.test(self.known, "known", account, address)

    async def close(self) -> None:
        if self._redis_storage is not None:
            # the redis.asyncio client the redispy bridge made (not in the bridge's type)
            client = getattr(self._redis_storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()
            self._redis_storage = None


def _refuse_if(wait_s: int | None, action: str, address: str) -> None:
    if wait_s is not None:
        log.warning("auth_rate_limited", action=action, client=address, retry_after_s=wait_s)
        raise TooManyAttemptsError(wait_s)
