"""Fixtures: a fresh database per run on SQLite and PostgreSQL, originals on a local directory
or a real S3 endpoint (moto_server), the app, an authed client."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from contravento.config import Settings
from contravento.db.migrate import upgrade
from contravento.main import create_app
from tests.s3_server import ACCESS_KEY, SECRET_KEY, S3Server
from tests.support import pg_test_database, sqlalchemy_url, unavailable, unique

# Tests that store originals run on both backends: `@both_stores`. S3 runs on PostgreSQL only
# (the storage code does not depend on the database; the combination would only cost time).
BACKENDS = ("local", "s3")
both_stores = pytest.mark.parametrize("storage_backend", BACKENDS, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        pair = (params.get("database_url"), params.get("storage_backend"))
        (dropped if pair == ("sqlite", "s3") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-protocol endpoint for the run; the in-process app finds its credentials
    the standard way (AWS_* variables), as any boto3 client does."""
    try:
        server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log")
    except (OSError, RuntimeError) as exc:
        unavailable("S3 (moto_server)", exc)
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    yield server
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@pytest.fixture
def storage_backend(request: pytest.FixtureRequest) -> str:
    """ "local" unless a test is parametrized with @both_stores."""
    return str(getattr(request, "param", "local"))


@pytest.fixture
def storage_settings(request: pytest.FixtureRequest, storage_backend: str) -> dict[str, str]:
    """The settings of the chosen backend: for S3 a bucket of the test's own, under a prefix."""
    if storage_backend == "local":
        return {}
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket(f"cv-{uuid.uuid4().hex[:20]}")
    return {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": server.url,
        "s3_prefix": "contravento",
    }


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database created for this test run and dropped afterwards."""
    yield from _fresh_pg_database()


@pytest.fixture
def own_pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test alone: for tests that count every job in it, which
    a stack's reconciler would otherwise share with the rows other tests left behind."""
    yield from _fresh_pg_database()


def _fresh_pg_database() -> Iterator[str]:
    with pg_test_database() as dsn:
        url = sqlalchemy_url(dsn)
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contravento.db'}"
        upgrade(url)
        return url
    url: str = request.getfixturevalue("pg_database")
    return url


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_env": "development",
        "database_url": database_url,
        "storage_dir": tmp_path / "storage",
        "auto_migrate": False,
        "reconcile_interval_s": 0,
        "celery_enabled": False,
        "log_json": True,
        "log_level": "WARNING",
        # the suite signs up hundreds of users from one address; the limits have their own tests
        "auth_ip_rate_limit": "100000/minute",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    client: httpx.AsyncClient
    app: Any
    settings: Settings

    async def signup(self, email: str | None = None) -> dict[str, str]:
        email = email or f"{unique('ciclista')}@example.com"
        r = await self.client.post(
            "/auth/register",
            json={"email": email, "password": "pedales-123", "display_name": "Ana"},
        )
        assert r.status_code == 201, r.text
        r = await self.client.post("/auth/login", json={"email": email, "password": "pedales-123"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def trip(self, headers: dict[str, str], title: str = "Vuelta a Gredos") -> str:
        r = await self.client.post("/trips", json={"title": title}, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def upload(
        self, headers: dict[str, str], trip_id: str, data: bytes, filename: str = "ruta.gpx"
    ) -> httpx.Response:
        files = {"file": (filename, data, "application/gpx+xml")}
        return await self.client.post(f"/trips/{trip_id}/gpx", files=files, headers=headers)

    async def wait_done(
        self, headers: dict[str, str], file_id: str, timeout: float = 30
    ) -> dict[str, Any]:
        await self.app.state.dispatcher.drain()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.client.get(f"/gpx/{file_id}/status", headers=headers)
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if body["processing_status"] in ("completed", "failed"):
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job not finished: {body}")
            await asyncio.sleep(0.1)


@pytest_asyncio.fixture
async def api(
    database_url: str, tmp_path: Path, storage_settings: dict[str, str]
) -> AsyncIterator[Api]:
    settings = make_settings(database_url, tmp_path, **storage_settings)
    async with api_for(settings) as value:
        yield value


class api_for:
    """`async with api_for(settings) as api`: the app with its lifespan and a client.

    Starlette re-raises an exception after its handler has answered (for the server's log);
    `served=True` gives the client that answer, as a real server does, instead of the raise."""

    def __init__(self, settings: Settings, *, served: bool = False) -> None:
        self.settings = settings
        self.served = served
        self.app = create_app(settings)

    async def __aenter__(self) -> Api:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=not self.served)
        self.client = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        )
        return Api(self.client, self.app, self.settings)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)
