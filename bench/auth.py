"""Sign-in cost: unknown e-mail vs wrong password, and the event loop during 20 sign-ins.

Run from the repository root: ``python -m bench.auth [--runs 40]``. It needs PostgreSQL
(``BENCH_PG_DSN``; a database is created for the run and dropped afterwards).

Two implementations of the sign-in use-case run side by side in this one process, on the same
database, user and argon2 parameters:

- **baseline**: the code before this change, kept here only: argon2 verification inline on
  the event loop, and an unknown e-mail answered without verifying anything;
- **ours**: ``contravento.services.accounts.login``: the verification in a worker thread and an
  unknown e-mail verified against a dummy hash (the rate limits are set out of the way:
  in-process counters, limits of 1,000,000).

Figures: p50/p95 of ``--runs`` sequential sign-ins per case (unknown e-mail, wrong password,
right password; the two implementations interleaved, so a noisy neighbour hits both alike)
and, while 20 sign-ins with a wrong password run concurrently, how late a 5 ms ticker on the
same event loop wakes up (max and p99 lateness: what every other request of the API process
waits; the number of ticks it got) and the wall time of the 20. No assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import mkdtemp

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.domain import machine
from bench.stack import PG_ADMIN_DSN, admin_sql
from contravento.config import Settings
from contravento.db.migrate import upgrade
from contravento.db.models import User
from contravento.services import accounts
from contravento.services.auth_limits import AuthLimiter
from contravento.services.context import AppContext
from contravento.services.errors import InvalidCredentialsError
from contravento.services.security import create_access_token, verify_password

PASSWORD = "pedales-123"
Login = Callable[[AsyncSession, str, str], Awaitable[None]]


async def baseline_login(session: AsyncSession, settings: Settings, email: str, pw: str) -> str:
    """The sign-in before this change (inline argon2; unknown e-mail: no verification)."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not verify_password(user.password_hash, pw):
        raise InvalidCredentialsError()
    return create_access_token(
        user.id, secret=settings.secret_key, expire_minutes=settings.access_token_expire_minutes
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _p50(values: list[float]) -> float:
    return statistics.median(values)


def _p95(values: list[float]) -> float:
    return pct(values, 95)


async def _timed(ctx: AppContext, login: Login, email: str, pw: str) -> float:
    started = time.perf_counter()
    async with ctx.sessions() as session:
        with contextlib.suppress(InvalidCredentialsError):
            await login(session, email, pw)
    return time.perf_counter() - started


async def _ticker(stop: asyncio.Event, late: list[float], every_s: float = 0.005) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(every_s)
        late.append(time.perf_counter() - started - every_s)


async def _concurrent(ctx: AppContext, login: Login, email: str) -> tuple[float, float, int, float]:
    stop, late = asyncio.Event(), []  # type: ignore[var-annotated]
    ticker = asyncio.create_task(_ticker(stop, late))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await asyncio.gather(*(_timed(ctx, login, email, f"wrong-{i}") for i in range(20)))
    wall = time.perf_counter() - started
    stop.set()
    await ticker
    return max(late) * 1000, pct(late, 99) * 1000, len(late), wall


async def run(runs: int) -> None:
    name = f"cv_bench_auth_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    ctx: AppContext | None = None
    try:
        await asyncio.to_thread(upgrade, url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            storage_dir=Path(mkdtemp(prefix="cv-bench-auth-")),
            redis_url="",
            auth_rate_limit="1000000/minute",
            auth_account_rate_limit="1000000/minute",
            auth_ip_rate_limit="1000000/minute",
            log_level="WARNING",
        )
        ctx = AppContext.create(settings)
        limiter = AuthLimiter(settings)
        email = "ana@example.com"
        async with ctx.sessions() as session:
            await accounts.register(
                session, limiter, email=email, password=PASSWORD, display_name="Ana", client="b"
            )

        async def ours(session: AsyncSession, mail: str, pw: str) -> None:
            await accounts.login(
                session, settings, limiter, email=mail, password=pw, client="bench"
            )

        async def before(session: AsyncSession, mail: str, pw: str) -> None:
            await baseline_login(session, settings, mail, pw)

        params = PasswordHasher().time_cost, PasswordHasher().memory_cost
        print(f"machine: {machine()}")
        print(f"argon2id time_cost={params[0]} memory_cost={params[1]} KiB, runs={runs}\n")
        print(f"{'case':<16}{'baseline p50':>14}{'p95':>8}{'ours p50':>12}{'p95':>8}  (ms)")
        for case, mail, pw in (
            ("unknown e-mail", "nadie@example.com", "wrong-password"),
            ("wrong password", email, "wrong-password"),
            ("right password", email, PASSWORD),
        ):
            times: dict[Login, list[float]] = {before: [], ours: []}
            for i in range(runs + 1):  # interleaved, alternating order: the same noise for both
                for login in (before, ours) if i % 2 else (ours, before):
                    elapsed = await _timed(ctx, login, mail, pw) * 1000
                    if i:  # the first round warms up
                        times[login].append(elapsed)
            row = [f(times[login]) for login in (before, ours) for f in (_p50, _p95)]
            print(f"{case:<16}{row[0]:>14.1f}{row[1]:>8.1f}{row[2]:>12.1f}{row[3]:>8.1f}")

        print("\n20 concurrent sign-ins (wrong password); a 5 ms ticker on the same loop:")
        print(f"{'':<10}{'max late ms':>12}{'p99 late ms':>13}{'ticks':>7}{'wall s':>9}")
        for label, login in (("baseline", before), ("ours", ours)):
            worst, p99, ticks, wall = await _concurrent(ctx, login, email)
            print(f"{label:<10}{worst:>12.1f}{p99:>13.1f}{ticks:>7}{wall:>9.2f}")
    finally:
        if ctx is not None:
            await ctx.dispose()
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
