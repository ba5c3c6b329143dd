"""Sign-in and sign-up rate limits: 429 TOO_MANY_ATTEMPTS with Retry-After, then recovery.

On the real Redis (a database number of this run's own), with Redis unreachable and with a
Redis that accepts connections and never answers (the in-process fallback), through the ASGI
app and through a real uvicorn server with X-Forwarded-For. Windows are seconds long here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis

from contravento.services.auth_limits import KEY_PREFIX, AuthLimiter
from tests.integration.celery_stack import redis_db  # noqa: F401  (fixture)
from tests.integration.conftest import Api, api_for, make_settings
from tests.live import ApiServer, service_env
from tests.support import REDIS_HOST, REDIS_PORT, unique

PASSWORD = "pedales-123"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from contravento.db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}"
    upgrade(url)
    return url


@pytest.fixture
def hanging_redis() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _client_for(api: Api, address: str) -> httpx.AsyncClient:
    """Another client of the same app, seen from `address` (request.client.host)."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


async def _register(client: httpx.AsyncClient) -> str:
    email = f"{unique('limite')}@example.com"
    r = await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Ana"}
    )
    assert r.status_code == 201, r.text
    return email


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


def _assert_too_many(r: httpx.Response, window_s: int) -> int:
    """A 429 whose Retry-After is within the window (+1 s: Redis rounds its TTL)."""
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "TOO_MANY_ATTEMPTS"
    assert error["message"].startswith("Demasiados intentos. Espera ")
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= window_s + 1
    assert f"{retry_after} segundo" in error["message"]
    return retry_after


async def _burst_then_recover(api: Api, window_s: int) -> None:
    """3 wrong passwords answer 401, the 4th 429; the right one is refused too until the
    window ends, then it works; another address was never blocked."""
    email = await _register(api.client)
    for _ in range(3):
        r = await _login(api.client, email, "wrong-password")
        assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    _assert_too_many(await _login(api.client, email, "wrong-password"), window_s)
    retry_after = _assert_too_many(await _login(api.client, email, PASSWORD), window_s)

    async with _client_for(api, "10.20.30.40") as elsewhere:  # the owner, on another network
        assert (await _login(elsewhere, email, PASSWORD)).status_code == 200

    await asyncio.sleep(retry_after)  # exactly what the client was told to wait
    r = await _login(api.client, email, PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["access_token"]
    # a success clears the failures of that address: three more tries before the next 429
    for _ in range(3):
        assert (await _login(api.client, email, "wrong-password")).status_code == 401
    assert (await _login(api.client, email, "wrong-password")).status_code == 429


def _limited(database_url: str, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "auth_rate_limit": "3 per 2 seconds",
        "auth_account_rate_limit": "1000/hour",
        "auth_ip_rate_limit": "1000/minute",
    }
    values.update(overrides)
    return make_settings(database_url, tmp_path, **values)


@pytest_asyncio.fixture
async def redis_api(
    sqlite_url: str,
    tmp_path: Path,
    redis_db: int,  # noqa: F811
) -> AsyncIterator[Api]:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
    async with api_for(_limited(sqlite_url, tmp_path, redis_url=url)) as api:
        yield api


async def test_burst_of_wrong_passwords_on_redis_gets_429_then_recovers(
    redis_api: Api,
    redis_db: int,  # noqa: F811
) -> None:
    await _burst_then_recover(redis_api, window_s=2)
    limiter: AuthLimiter = redis_api.app.state.auth_limiter
    assert limiter.using_redis and not limiter.memory.storage  # nothing fell back
    keys = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db).keys(f"{KEY_PREFIX}:*")
    assert keys, "the counters live in Redis"
    assert not any(b"@" in key for key in keys), "e-mail addresses are stored hashed"


async def test_burst_with_redis_unreachable_uses_the_in_process_fallback(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = _limited(sqlite_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    async with api_for(settings) as api:
        await _burst_then_recover(api, window_s=2)
        limiter: AuthLimiter = api.app.state.auth_limiter
        assert not limiter.using_redis and limiter.memory.storage


async def test_a_redis_that_never_answers_is_bounded_and_falls_back(
    sqlite_url: str, tmp_path: Path, hanging_redis: str
) -> None:
    settings = _limited(sqlite_url, tmp_path, redis_url=hanging_redis, redis_connect_timeout_s=0.3)
    async with api_for(settings) as api:
        await _burst_then_recover(api, window_s=2)
        assert api.app.state.auth_limiter.memory.storage


async def test_sign_ins_and_sign_ups_per_address(sqlite_url: str, tmp_path: Path) -> None:
    settings = _limited(sqlite_url, tmp_path, auth_ip_rate_limit="4 per 3 seconds")
    async with api_for(settings) as api:
        email = await _register(api.client)  # 1
        assert (await _login(api.client, email, PASSWORD)).status_code == 200  # 2
        assert (await _login(api.client, email, "nope-nope")).status_code == 401  # 3
        other = f"{unique('otro')}@example.com"
        body = {"email": other, "password": PASSWORD, "display_name": "Eva"}
        assert (await api.client.post("/auth/register", json=body)).status_code == 201  # 4
        # the 5th request of this address, whatever the account or the endpoint
        _assert_too_many(await _login(api.client, other, PASSWORD), window_s=3)
        body["email"] = f"{unique('tercero')}@example.com"
        _assert_too_many(await api.client.post("/auth/register", json=body), window_s=3)
        async with _client_for(api, "192.0.2.7") as elsewhere:
            assert (await _login(elsewhere, other, PASSWORD)).status_code == 200


async def test_sign_ups_of_one_email_are_limited(sqlite_url: str, tmp_path: Path) -> None:
    async with api_for(_limited(sqlite_url, tmp_path)) as api:
        email = await _register(api.client)
        body = {"email": email, "password": PASSWORD, "display_name": "Ana"}
        for _ in range(2):
            r = await api.client.post("/auth/register", json=body)
            assert r.status_code == 409 and r.json()["error"]["code"] == "EMAIL_TAKEN"
        _assert_too_many(await api.client.post("/auth/register", json=body), window_s=2)


async def test_guessing_from_many_addresses_spares_the_owners_known_address(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = _limited(sqlite_url, tmp_path, auth_account_rate_limit="7 per 30 seconds")
    async with api_for(settings) as api:
        email = await _register(api.client)
        assert (await _login(api.client, email, PASSWORD)).status_code == 200  # owner: known, 1st
        for n in range(3):  # 2nd-7th: two wrong passwords from each of three addresses
            async with _client_for(api, f"203.0.113.{n + 1}") as attacker:
                for _ in range(2):
                    assert (await _login(attacker, email, "guess-guess")).status_code == 401
        async with _client_for(api, "203.0.113.99") as attacker:  # a fresh address
            _assert_too_many(await _login(attacker, email, "guess-guess"), window_s=30)
            _assert_too_many(await _login(attacker, email, PASSWORD), window_s=30)
        # the owner, from the address they signed in from before, is not locked out
        assert (await _login(api.client, email, PASSWORD)).status_code == 200


async def test_parallel_guesses_cannot_outrun_the_counter(sqlite_url: str, tmp_path: Path) -> None:
    async with api_for(_limited(sqlite_url, tmp_path)) as api:
        email = await _register(api.client)
        answers = await asyncio.gather(
            *(_login(api.client, email, f"guess-{i:04d}") for i in range(20))
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [401] * 3 + [429] * 17


@pytest.mark.slow
def test_real_http_429_and_forwarded_for_only_from_trusted_proxies(
    sqlite_url: str,
    tmp_path: Path,
    redis_db: int,  # noqa: F811
) -> None:
    env = service_env(
        database_url=sqlite_url,
        storage_dir=tmp_path / "storage",
        auto_migrate="false",
        celery_enabled="false",
        reconcile_interval_s=0,
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        auth_rate_limit="2 per 2 seconds",
        auth_ip_rate_limit="1000/minute",
    )

    def run(forwarded_allow_ips: str, log: str) -> list[int]:
        server = ApiServer({**env, "FORWARDED_ALLOW_IPS": forwarded_allow_ips}, tmp_path / log)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                email = f"{unique('http')}@example.com"
                creds = {"email": email, "password": PASSWORD}
                r = http.post("/auth/register", json={**creds, "display_name": "Ana"})
                assert r.status_code == 201, r.text
                wrong = {"email": email, "password": "wrong-password"}
                codes = [http.post("/auth/login", json=wrong).status_code for _ in range(3)]
                blocked = http.post("/auth/login", json=wrong)
                assert blocked.status_code == 429
                assert blocked.headers["content-type"] == "application/json"
                assert 1 <= int(blocked.headers["Retry-After"]) <= 3
                # the same account "from" another client behind the proxy
                spoofed = http.post(
                    "/auth/login", json=creds, headers={"X-Forwarded-For": "198.51.100.9"}
                )
                return [*codes, spoofed.status_code]
        finally:
            server.kill()

    # 127.0.0.1 (this test) is a trusted proxy: X-Forwarded-For names the client
    assert run("127.0.0.1", "trusted.log") == [401, 401, 429, 200]
    # not trusted: the header is ignored, it is the same client and still blocked
    assert run("192.0.2.1", "untrusted.log") == [401, 401, 429, 429]
