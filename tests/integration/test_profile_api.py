"""GET /gpx/{id}/profile: the full-resolution profile the job stored, ETag/304 like the track,
409 before it is done, 404 for another user, the simplified fallback for older files."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select

from contravento.db.models import GPXProfile
from tests.integration.conftest import Api
from tests.support import sample


async def _done(api: Api, headers: dict[str, str], trip_id: str, name: str) -> dict:
    r = await api.upload(headers, trip_id, sample(name), filename=name)
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed"
    return status


async def test_profile_from_the_full_points(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    ride = await _done(api, headers, trip_id, "strava-ride-power-hr-cad.gpx")
    file_id, stats = ride["gpx_file_id"], ride["stats"]
    r = await api.client.get(f"/gpx/{file_id}/profile", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resolution"] == "full"
    # every point of a short ride, not the simplified line's
    assert body["source_point_count"] == body["sample_count"] == stats["point_count"] == 314
    assert stats["simplified_point_count"] < 314
    for key in ("distance_km", "elevation_m", "hr", "cadence", "power"):
        assert len(body[key]) == 314, key
    assert (
        body["distance_km"][0] == 0 and abs(body["distance_km"][-1] - stats["distance_km"]) < 1e-3
    )
    assert max(body["hr"]) <= stats["max_hr"] and max(body["power"]) > 0

    etag = r.headers["etag"]
    track_etag = (await api.client.get(f"/gpx/{file_id}/track", headers=headers)).headers["etag"]
    assert etag != track_etag
    again = await api.client.get(
        f"/gpx/{file_id}/profile", headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content

    stranger = await api.signup()
    r = await api.client.get(f"/gpx/{file_id}/profile", headers={**stranger, "If-None-Match": "*"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "GPX_FILE_NOT_FOUND"
    assert (await api.client.get("/gpx/not-an-id/profile", headers=headers)).status_code == 404

    # a long ride: 1,000 samples of its 15,003 points; no sensors, so null
    long = await _done(api, headers, trip_id, "movescount-viking-gpx10-two-overlapping-tracks.gpx")
    body = (await api.client.get(f"/gpx/{long['gpx_file_id']}/profile", headers=headers)).json()
    assert body["sample_count"] == len(body["elevation_m"]) == 1000
    assert body["source_point_count"] == long["stats"]["point_count"]
    assert body["hr"] is None and body["cadence"] is None and body["power"] is None
    assert max(body["elevation_m"]) == long["stats"]["max_elevation_m"]
    # no elevation at all: nulls, same length
    flat = await _done(api, headers, trip_id, "osm-api-traces-gpx10-no-elevation.gpx")
    body = (await api.client.get(f"/gpx/{flat['gpx_file_id']}/profile", headers=headers)).json()
    assert set(body["elevation_m"]) == {None} and len(body["distance_km"]) == 1000

    async with api.app.state.ctx.sessions() as session:
        size = await session.scalar(
            select(func.length(GPXProfile.packed)).where(
                GPXProfile.gpx_file_id == uuid.UUID(file_id)
            )
        )
    assert size == 314 * 4 * 5  # float32 distance, elevation, hr, cadence, power


async def test_profile_of_a_file_processed_before_profiles(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    ride = await _done(api, headers, trip_id, "strava-ride-power-hr-cad.gpx")
    file_id = ride["gpx_file_id"]
    async with api.app.state.ctx.sessions() as session, session.begin():
        await session.execute(delete(GPXProfile))
    body = (await api.client.get(f"/gpx/{file_id}/profile", headers=headers)).json()
    assert body["resolution"] == "simplified"
    n = ride["stats"]["simplified_point_count"]
    assert body["source_point_count"] == body["sample_count"] == len(body["elevation_m"]) == n
    track = (await api.client.get(f"/gpx/{file_id}/track", headers=headers)).json()
    assert [[d, e] for d, e in zip(body["distance_km"], body["elevation_m"], strict=True)] == (
        track["profile"]
    )


async def test_profile_before_the_job_is_done(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, b"<gpx><trk>", filename="roto.gpx")
    file_id = r.json()["gpx_file_id"]
    assert (await api.wait_done(headers, file_id))["processing_status"] == "failed"
    r = await api.client.get(f"/gpx/{file_id}/profile", headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "GPX_NOT_PROCESSED"
