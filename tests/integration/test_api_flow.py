"""The happy path through HTTP on SQLite and PostgreSQL, with a real export."""

from __future__ import annotations

import hashlib
import re

from tests.integration.conftest import Api, both_stores
from tests.integration.stores import everything, originals
from tests.support import sample


@both_stores
async def test_register_upload_poll_track_download(api: Api) -> None:
    headers = await api.signup()
    me = await api.client.get("/auth/me", headers=headers)
    assert me.status_code == 200 and "@" in me.json()["email"]
    trip_id = await api.trip(headers)
    data = sample("strava-ride-power-hr-cad.gpx")

    r = await api.upload(headers, trip_id, data, "Richmond ride.gpx")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["processing_mode"] == "background"
    assert body["status_url"] == f"/gpx/{body['gpx_file_id']}/status"
    assert r.headers["location"] == body["status_url"]

    status = await api.wait_done(headers, body["gpx_file_id"])
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == 1
    assert status["finished_at"] and status["started_at"]
    stats = status["stats"]
    assert 5.5 < stats["distance_km"] < 6.0
    assert stats["avg_power"] > 100 and stats["max_hr"] > 150
    assert stats["point_count"] == 314

    track = await api.client.get(f"/gpx/{body['gpx_file_id']}/track", headers=headers)
    assert track.status_code == 200
    feature = track.json()
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "LineString"
    coords = feature["geometry"]["coordinates"]
    assert len(coords) == stats["simplified_point_count"] == feature["properties"]["point_count"]
    lon, lat, ele = coords[0]
    assert -78 < lon < -77 and 37 < lat < 38 and ele > 0
    assert len(feature["properties"]["coordTimes"]) == len(coords)
    profile = feature["profile"]
    assert profile[0][0] == 0 and abs(profile[-1][0] - stats["distance_km"]) < 0.01

    download = await api.client.get(f"/gpx/{body['gpx_file_id']}/download", headers=headers)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert "Richmond%20ride.gpx" in download.headers["content-disposition"]
    assert int(download.headers["content-length"]) == len(data)
    [key] = originals(api.settings)  # gpx_files/{yyyy}/{mm}/{trip_id}/{gpx_file_id}.gpx
    assert re.fullmatch(rf"gpx_files/\d{{4}}/\d{{2}}/{trip_id}/{body['gpx_file_id']}\.gpx", key)
    prefix = "contravento/" if api.settings.storage_backend == "s3" else ""
    assert everything(api.settings) == [prefix + key]  # no temp file, no unfinished upload

    listing = await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)
    assert listing.status_code == 200
    [item] = listing.json()
    assert (
        item["processing_status"] == "completed"
        and abs(item["distance_km"] - stats["distance_km"]) < 1e-6
    )


async def test_multisegment_track_is_multilinestring(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, sample("garmin-mapsource-three-day-multitrack.gpx"))
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed"
    track = (await api.client.get(f"/gpx/{r.json()['gpx_file_id']}/track", headers=headers)).json()
    assert track["geometry"]["type"] == "MultiLineString"
    assert len(track["geometry"]["coordinates"]) == 3


async def test_trip_crud_and_pagination(api: Api) -> None:
    headers = await api.signup()
    ids = [await api.trip(headers, f"Etapa {i}") for i in range(5)]
    page = (await api.client.get("/trips?limit=2&offset=0", headers=headers)).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    page3 = (await api.client.get("/trips?limit=2&offset=4", headers=headers)).json()
    assert len(page3["items"]) == 1
    r = await api.client.patch(
        f"/trips/{ids[0]}", json={"description": "Por la sierra"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["description"] == "Por la sierra"
    assert r.json()["title"] == "Etapa 0"
    got = await api.client.get(f"/trips/{ids[0]}", headers=headers)
    assert got.json()["description"] == "Por la sierra"
    assert (await api.client.delete(f"/trips/{ids[0]}", headers=headers)).status_code == 204
    assert (await api.client.get(f"/trips/{ids[0]}", headers=headers)).status_code == 404
