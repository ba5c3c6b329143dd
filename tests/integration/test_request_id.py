"""X-Request-ID: echoed when the client sends one (cut to 64 chars), generated otherwise."""

from __future__ import annotations

import uuid

from contravento.db.models import GPXFile
from tests.integration.conftest import Api
from tests.support import sample


async def test_request_id_is_echoed_or_generated(api: Api) -> None:
    r = await api.client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await api.client.get("/health", headers={"X-Request-ID": "x" * 100})
    assert r.headers["x-request-id"] == "x" * 64
    first = (await api.client.get("/health")).headers["x-request-id"]
    second = (await api.client.get("/health")).headers["x-request-id"]
    assert len(first) == 32 and first != second


async def test_upload_row_keeps_the_request_id(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.client.post(
        f"/trips/{trip_id}/gpx",
        files={"file": ("r.gpx", sample("strava-ride-power-hr-cad.gpx"))},
        headers={**headers, "X-Request-ID": "subida-42"},
    )
    assert r.status_code == 202 and r.headers["x-request-id"] == "subida-42"
    async with api.app.state.ctx.sessions() as session:
        row = await session.get(GPXFile, uuid.UUID(r.json()["gpx_file_id"]))
        assert row is not None and row.request_id == "subida-42"
    await api.wait_done(headers, r.json()["gpx_file_id"])
