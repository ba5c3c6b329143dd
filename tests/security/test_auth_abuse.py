"""Tokens that are tampered, expired or unsigned are 401; ids are UUIDs; nothing leaks."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt

from tests.integration.conftest import Api
from tests.support import tiny_gpx


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me(api: Api, token: str) -> int:
    r = await api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    if r.status_code == 401:
        assert r.json()["error"]["code"] == "NOT_AUTHENTICATED"
    return r.status_code


async def test_bad_tokens_are_401(api: Api) -> None:
    headers = await api.signup()
    good = headers["Authorization"].split()[1]
    assert await _me(api, good) == 200
    claims = jwt.decode(good, options={"verify_signature": False})
    secret = api.settings.secret_key

    head, body, sig = good.split(".")
    tampered_body = _b64({**claims, "sub": str(uuid.uuid4())})
    cases = {
        "tampered payload": f"{head}.{tampered_body}.{sig}",
        "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{body}.",
        "wrong key": jwt.encode(
            claims, "another-secret-of-enough-length-123456", algorithm="HS256"
        ),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 10}, secret, algorithm="HS256"),
        "no exp": jwt.encode({"sub": claims["sub"]}, secret, algorithm="HS256"),
        "unknown user": jwt.encode({**claims, "sub": str(uuid.uuid4())}, secret, algorithm="HS256"),
        "sub not uuid": jwt.encode({**claims, "sub": "1"}, secret, algorithm="HS256"),
        "garbage": "abc",
        "empty": "",
    }
    for name, token in cases.items():
        assert await _me(api, token) == 401, name
    r = await api.client.get("/auth/me", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401


async def test_ids_are_random_uuids(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, tiny_gpx(seed="uuid"))
    for value in (trip_id, r.json()["gpx_file_id"]):
        assert uuid.UUID(value).version == 4
