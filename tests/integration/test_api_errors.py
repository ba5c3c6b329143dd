"""Every client mistake is a 4xx with a stable code and a Spanish message; jobs fail cleanly."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from contravento.db.models import GPXFile, GPXTrack, RouteStatsRow, Trackpoint
from contravento.services import uploads
from tests.integration.conftest import Api, api_for, both_stores, make_settings
from tests.integration.stores import everything, originals
from tests.support import sample, tiny_gpx


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["message"][0].isupper()


async def test_auth_errors(api: Api) -> None:
    assert_error(await api.client.get("/auth/me"), 401, "NOT_AUTHENTICATED")
    bad = {"Authorization": "Bearer not.a.token"}
    assert_error(await api.client.get("/trips", headers=bad), 401, "NOT_AUTHENTICATED")
    await api.signup("dup@example.com")
    r = await api.client.post(
        "/auth/register",
        json={"email": "dup@example.com", "password": "pedales-123", "display_name": "B"},
    )
    assert_error(r, 409, "EMAIL_TAKEN")
    r = await api.client.post(
        "/auth/login", json={"email": "dup@example.com", "password": "wrong-pass"}
    )
    assert_error(r, 401, "INVALID_CREDENTIALS")
    r = await api.client.post(
        "/auth/register", json={"email": "x", "password": "1", "display_name": ""}
    )
    assert_error(r, 422, "VALIDATION_ERROR")
    assert "email" in r.json()["error"]["fields"]


async def test_not_found_and_bad_ids(api: Api) -> None:
    headers = await api.signup()
    assert_error(
        await api.client.get(f"/trips/{uuid.uuid4()}", headers=headers), 404, "TRIP_NOT_FOUND"
    )
    assert_error(await api.client.get("/trips/not-a-uuid", headers=headers), 404, "TRIP_NOT_FOUND")
    assert_error(
        await api.client.get("/gpx/123/status", headers=headers), 404, "GPX_FILE_NOT_FOUND"
    )
    assert_error(await api.client.get("/nope"), 404, "NOT_FOUND")


async def test_ownership_isolation(api: Api) -> None:
    alice, bob = await api.signup(), await api.signup()
    trip_id = await api.trip(alice)
    r = await api.upload(alice, trip_id, tiny_gpx(seed="own"))
    file_id = r.json()["gpx_file_id"]
    await api.wait_done(alice, file_id)
    for path in (f"/trips/{trip_id}", f"/trips/{trip_id}/gpx"):
        assert_error(await api.client.get(path, headers=bob), 404, "TRIP_NOT_FOUND")
    assert_error(
        await api.client.patch(f"/trips/{trip_id}", json={"title": "x"}, headers=bob),
        404,
        "TRIP_NOT_FOUND",
    )
    assert_error(await api.client.delete(f"/trips/{trip_id}", headers=bob), 404, "TRIP_NOT_FOUND")
    assert_error(await api.upload(bob, trip_id, tiny_gpx(seed="bob")), 404, "TRIP_NOT_FOUND")
    for suffix in ("status", "track", "download"):
        assert_error(
            await api.client.get(f"/gpx/{file_id}/{suffix}", headers=bob), 404, "GPX_FILE_NOT_FOUND"
        )
    assert_error(await api.client.delete(f"/gpx/{file_id}", headers=bob), 404, "GPX_FILE_NOT_FOUND")
    assert (await api.client.get("/trips", headers=bob)).json()["total"] == 0
    assert (await api.client.get(f"/gpx/{file_id}/status", headers=alice)).status_code == 200


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            b"<?xml version='1.0'?><gpx version='1.1'><trk><trkseg><trkpt lat='1' lon='2'>",
            "GPX_MALFORMED",
        ),
        (b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>', "GPX_NOT_GPX"),
        (
            b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="2"/></gpx>',
            "GPX_NO_TRACKPOINTS",
        ),
        (
            b'<gpx version="1.1"><trk><trkseg><trkpt lat="95" lon="2"/></trkseg></trk></gpx>',
            "GPX_INVALID_COORDINATES",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<gpx version="1.1"><trk><name>&b;</name></trk></gpx>',
            "GPX_UNSAFE_XML",
        ),
    ],
)
@both_stores
async def test_invalid_gpx_fails_job_with_spanish_message(
    api: Api, payload: bytes, code: str
) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, payload)
    assert r.status_code == 202, r.text
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed"
    assert status["error_code"] == code
    assert status["error_message"] and status["attempts"] == 1
    assert status["stats"] is None
    assert_error(
        await api.client.get(f"/gpx/{r.json()['gpx_file_id']}/track", headers=headers),
        409,
        "GPX_NOT_PROCESSED",
    )
    # the original is kept: nothing a cyclist uploaded is lost, even when it is broken
    download = await api.client.get(f"/gpx/{r.json()['gpx_file_id']}/download", headers=headers)
    assert download.status_code == 200 and download.content == payload


@both_stores
async def test_upload_request_errors(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    assert_error(
        await api.upload(headers, trip_id, b"hello", "notes.txt"), 415, "GPX_INVALID_FILE_TYPE"
    )
    assert_error(
        await api.upload(headers, trip_id, b"\x89PNG\r\n\x1a\n", "foto.gpx"),
        415,
        "GPX_INVALID_FILE_TYPE",
    )
    assert_error(await api.upload(headers, trip_id, b"", "vacio.gpx"), 422, "GPX_EMPTY_FILE")
    r = await api.client.post(f"/trips/{trip_id}/gpx", data={"other": "x"}, headers=headers)
    assert_error(r, 422, "GPX_INVALID_FILE")
    r = await api.client.post(f"/trips/{trip_id}/gpx", content=b"<gpx/>", headers=headers)
    assert_error(r, 422, "GPX_INVALID_FILE")
    r = await api.client.post(
        f"/trips/{trip_id}/gpx",
        content=b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.gpx"\r\n\r\n<gpx',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert r.status_code in (400, 422), r.text
    listing = await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)
    assert listing.json() == []
    assert everything(api.settings) == []


@both_stores
async def test_duplicate_upload_returns_existing_file(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    data = sample("garmin-handheld-stale-first-last-point-glitch.gpx")
    first = await api.upload(headers, trip_id, data)
    assert first.status_code == 202
    again = await api.upload(headers, trip_id, data, "otro-nombre.gpx")
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["gpx_file_id"] == first.json()["gpx_file_id"]
    assert len((await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()) == 1
    other_trip = await api.trip(headers, "Otro viaje")
    assert (await api.upload(headers, other_trip, data)).status_code == 202


@both_stores
async def test_duplicate_that_races_past_the_check_is_a_200(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two uploads of the same bytes in parallel both pass the duplicate check; the second
    INSERT hits the unique constraint and must answer like a duplicate, not a 500."""
    headers = await api.signup()
    trip_id = await api.trip(headers)
    data = sample("garmin-handheld-stale-first-last-point-glitch.gpx")
    first = await api.upload(headers, trip_id, data)
    assert first.status_code == 202

    async def nothing_seen(*_args: object, **_kwargs: object) -> tuple[None, int]:
        return None, 0  # what a parallel request saw before the first INSERT committed

    monkeypatch.setattr(uploads, "duplicate_and_active", nothing_seen)
    again = await api.upload(headers, trip_id, data)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["gpx_file_id"] == first.json()["gpx_file_id"]
    assert len(originals(api.settings)) == 1  # the loser's copy of the bytes is gone
    assert len(everything(api.settings)) == 1  # and nothing unfinished stays


@both_stores
async def test_oversized_upload_is_413_and_leaves_nothing(
    database_url: str, tmp_path: Path, storage_settings: dict[str, str]
) -> None:
    settings = make_settings(database_url, tmp_path, gpx_max_upload_mb=0.05, **storage_settings)
    async with api_for(settings) as api:
        headers = await api.signup()
        trip_id = await api.trip(headers)
        big = sample("garmin-gpsmap64s-hike-two-segments.gpx")  # 589 KB > 50 KB
        assert_error(await api.upload(headers, trip_id, big), 413, "GPX_TOO_LARGE")

        async def chunks():  # type: ignore[no-untyped-def]
            yield b'--bb\r\nContent-Disposition: form-data; name="file"; filename="x.gpx"\r\n\r\n'
            for _ in range(200):  # no Content-Length: the limit is enforced while streaming
                yield b"<a>" + b"x" * 4096 + b"</a>"

        r = await api.client.post(
            f"/trips/{trip_id}/gpx",
            content=chunks(),
            headers={**headers, "Content-Type": "multipart/form-data; boundary=bb"},
        )
        assert_error(r, 413, "GPX_TOO_LARGE")
        assert (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json() == []
        assert everything(settings) == []


@both_stores
async def test_delete_trip_removes_files_and_trackpoints(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    ids = []
    for name in ("strava-ride-power-hr-cad.gpx", "garmin-connect-run-hr-cad-ns3-prefix.gpx"):
        r = await api.upload(headers, trip_id, sample(name))
        ids.append(r.json()["gpx_file_id"])
        await api.wait_done(headers, ids[-1])
    stored = originals(api.settings)
    assert len(stored) == 2
    assert all(key.startswith("gpx_files/") and f"/{trip_id}/" in key for key in stored)
    assert (await api.client.delete(f"/trips/{trip_id}", headers=headers)).status_code == 204
    assert everything(api.settings) == []
    for file_id in ids:
        assert (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).status_code == 404
    async with api.app.state.ctx.sessions() as session:
        for model, column in (
            (GPXFile, GPXFile.id),
            (RouteStatsRow, RouteStatsRow.gpx_file_id),
            (GPXTrack, GPXTrack.gpx_file_id),
            (Trackpoint, Trackpoint.gpx_file_id),
        ):
            query = (
                select(func.count())
                .select_from(model)
                .where(column.in_([uuid.UUID(i) for i in ids]))
            )
            assert await session.scalar(query) == 0


@both_stores
async def test_delete_single_file(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, tiny_gpx(seed="del"))
    file_id = r.json()["gpx_file_id"]
    await api.wait_done(headers, file_id)
    assert (await api.client.delete(f"/gpx/{file_id}", headers=headers)).status_code == 204
    assert (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).status_code == 404
    assert everything(api.settings) == []


async def test_nul_characters_are_a_422_not_a_5xx(api: Api) -> None:
    headers = await api.signup()
    r = await api.client.post("/trips", json={"title": "a\u0000b"}, headers=headers)
    assert_error(r, 422, "VALIDATION_ERROR")
    trip_id = await api.trip(headers)
    r = await api.client.patch(
        f"/trips/{trip_id}", json={"description": "x\u0000"}, headers=headers
    )
    assert_error(r, 422, "VALIDATION_ERROR")
