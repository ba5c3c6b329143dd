"""Shared helpers for integration tests: real PostgreSQL/Redis, settings, GPX bytes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))
IN_CI = os.environ.get("CI", "").lower() == "true"


async def pg_admin(sql: str, dsn: str = PG_ADMIN_DSN) -> None:
    """One statement on the admin database (or on `dsn`)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_test_database(prefix: str = "cv_test") -> Iterator[str]:
    """A PostgreSQL database of its own, dropped afterwards: its asyncpg DSN (see
    sqlalchemy_url). Blocking: use it from synchronous fixtures."""
    name = unique(prefix)
    try:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def unavailable(what: str, error: BaseException) -> None:
    """A missing service fails under CI=true, and is a visible skip on a laptop."""
    message = f"{what} is not reachable: {error!r}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


_TINY_START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def tiny_gpx(points: int = 30, *, lat0: float = 40.0, lon0: float = -3.7, seed: str = "") -> bytes:
    """A small valid GPX (1 Hz, ~5 m steps) whose bytes vary with `seed`, and so does its
    start (from 2024-05-01T10:00Z, seed "" included, over about ten years): rides of
    different seeds are different rides, never same-ride duplicates of one another."""
    start = _TINY_START + timedelta(seconds=zlib.crc32(seed.encode()) % (3650 * 86400))
    rows = []
    for i in range(points):
        when = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(
            f'<trkpt lat="{lat0 + i * 0.00005:.7f}" lon="{lon0:.7f}"><ele>{600 + i * 0.1:.1f}</ele>'
            f"<time>{when}</time></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="1.1" creator="test{seed}" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>t{seed}</name><trkseg>{''.join(rows)}</trkseg></trk></gpx>"
    ).encode()
