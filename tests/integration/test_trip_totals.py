"""A trip's totals and per-trip figures: SQL aggregates over its completed stages, equal to
the sums of the stages the API reports; the migration backfills the new columns. On SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, text

from contravento.db.migrate import alembic_config, upgrade
from tests.integration.conftest import Api, api_for, make_settings
from tests.support import pg_test_database, sample, sqlalchemy_url

STAGES = (  # ridden 2018, 2011, 2017: uploaded out of the ride order on purpose
    "strava-ride-power-hr-cad.gpx",
    "mytourbook-ride-98km-cadence.gpx",
    "garmin-connect-run-hr-cad-ns3-prefix.gpx",
)
BEFORE = "a1f0c2d3e4b5"  # the revision before these columns


async def _stage(api: Api, headers: dict[str, str], trip_id: str, name: str) -> dict[str, Any]:
    r = await api.upload(headers, trip_id, sample(name), filename=name)
    assert r.status_code == 202, r.text
    return await api.wait_done(headers, r.json()["gpx_file_id"])


def _sum(stages: list[dict[str, Any]], key: str) -> float:
    return sum(s["stats"][key] for s in stages if s["stats"][key] is not None)


async def test_totals_are_the_sums_of_the_completed_stages(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    empty = await api.client.get(f"/trips/{trip_id}", headers=headers)
    assert empty.json()["totals"] == {
        "distance_km": 0.0, "elevation_gain_m": None, "elevation_loss_m": None,
        "moving_time_s": None, "elapsed_time_s": None, "stage_count": 0,
        "first_ride_at": None, "last_ride_at": None,
    }  # fmt: skip
    stages = [await _stage(api, headers, trip_id, name) for name in STAGES]
    assert all(s["processing_status"] == "completed" for s in stages)
    # a stage without times adds its distance and climb, not to the times
    untimed = await _stage(api, headers, trip_id, "ridewithgps-route-pois-no-time.gpx")
    assert untimed["stats"]["moving_time_s"] is None
    broken = await api.upload(headers, trip_id, b"<gpx><trk>", filename="roto.gpx")
    assert (await api.wait_done(headers, broken.json()["gpx_file_id"]))[
        "processing_status"
    ] == "failed"
    done = [*stages, untimed]

    totals = (await api.client.get(f"/trips/{trip_id}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 4
    assert totals["distance_km"] == pytest.approx(_sum(done, "distance_km"), abs=1e-3)
    assert totals["elevation_gain_m"] == pytest.approx(_sum(done, "elevation_gain_m"), abs=0.1)
    assert totals["elevation_loss_m"] == pytest.approx(_sum(done, "elevation_loss_m"), abs=0.1)
    assert totals["moving_time_s"] == pytest.approx(_sum(done, "moving_time_s"), abs=0.1)
    assert totals["elapsed_time_s"] == pytest.approx(_sum(done, "duration_s"), abs=0.1)
    starts = sorted(s["stats"]["start_time"] for s in stages)
    assert totals["first_ride_at"].replace("+00:00", "Z") == starts[0] == "2011-03-09T18:23:33Z"
    assert totals["last_ride_at"].replace("+00:00", "Z") == starts[-1]

    other_trip = await api.trip(headers, "Sin etapas")
    page = (await api.client.get("/trips", headers=headers)).json()
    figures = {t["id"]: (t["distance_km"], t["stage_count"]) for t in page["items"]}
    assert figures[other_trip] == (0.0, 0)
    assert figures[trip_id] == (totals["distance_km"], 4)
    # another cyclist's stages never count, and their trip stays theirs
    stranger = await api.signup()
    assert (await api.client.get(f"/trips/{trip_id}", headers=stranger)).status_code == 404
    assert (await api.client.get("/trips", headers=stranger)).json()["items"] == []


async def test_totals_cost_the_same_statements_whatever_the_stage_count(api: Api) -> None:
    """One aggregate, never the stages' rows: reading a trip of three stages runs exactly
    the statements a trip of one runs, and none touches the tracks or profiles."""
    headers = await api.signup()
    one, three = await api.trip(headers, "Una"), await api.trip(headers, "Tres")
    await _stage(api, headers, one, STAGES[0])
    for name in STAGES:
        await _stage(api, headers, three, name)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = api.app.state.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        counts = []
        for trip_id in (one, three):
            statements.clear()
            r = await api.client.get(f"/trips/{trip_id}", headers=headers)
            assert r.status_code == 200
            counts.append(len(statements))
            assert not any("gpx_tracks" in s or "gpx_profiles" in s for s in statements)
        statements.clear()
        assert (await api.client.get("/trips", headers=headers)).status_code == 200
        listing = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert counts[0] == counts[1]
    assert listing <= 3  # the user, the count, the page with its figures


async def test_edit_trip_and_rename_stages(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.client.patch(
        f"/trips/{trip_id}",
        json={"title": "  Transpirenaica  ", "description": "Del Cantábrico al Mediterráneo"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "Transpirenaica" and body["description"].startswith("Del")
    assert body["totals"]["stage_count"] == 0
    bad = await api.client.patch(f"/trips/{trip_id}", json={"title": ""}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "El título no puede estar vacío."
    long = await api.client.patch(f"/trips/{trip_id}", json={"title": "x" * 201}, headers=headers)
    assert long.json()["error"]["message"] == "El título no puede tener más de 200 caracteres."
    stranger = await api.signup()
    r = await api.client.patch(f"/trips/{trip_id}", json={"title": "Mío"}, headers=stranger)
    assert r.status_code == 404 and r.json()["error"]["code"] == "TRIP_NOT_FOUND"

    [first, second, third] = [await _stage(api, headers, trip_id, n) for n in STAGES]
    file_id = first["gpx_file_id"]
    assert first["title"] == first["original_filename"] == STAGES[0]
    r = await api.client.patch(f"/gpx/{file_id}", json={"title": " Etapa 1 "}, headers=headers)
    assert r.status_code == 200 and r.json()["title"] == "Etapa 1"
    assert r.json()["original_filename"] == STAGES[0]
    status = (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).json()
    assert status["title"] == "Etapa 1"
    listing = (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()
    # by the ride's own date (2011, 2017, 2018), not the upload's
    assert [i["gpx_file_id"] for i in listing] == [
        second["gpx_file_id"], third["gpx_file_id"], file_id,
    ]  # fmt: skip
    assert listing[-1]["title"] == "Etapa 1"
    for reset in (None, "", "   "):
        await api.client.patch(f"/gpx/{file_id}", json={"title": "Otra"}, headers=headers)
        r = await api.client.patch(f"/gpx/{file_id}", json={"title": reset}, headers=headers)
        assert r.status_code == 200 and r.json()["title"] == STAGES[0], reset
    r = await api.client.patch(f"/gpx/{file_id}", json={}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["message"] == "El título es obligatorio."
    r = await api.client.patch(f"/gpx/{file_id}", json={"title": "x" * 201}, headers=headers)
    assert r.status_code == 422
    r = await api.client.patch(f"/gpx/{file_id}", json={"title": "Mía"}, headers=stranger)
    assert r.status_code == 404 and r.json()["error"]["code"] == "GPX_FILE_NOT_FOUND"
    # a file not processed yet (or failed) has no ride date: it comes last
    broken = await api.upload(headers, trip_id, b"<gpx><trk>", filename="a-roto.gpx")
    await api.wait_done(headers, broken.json()["gpx_file_id"])
    listing = (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()
    assert listing[-1]["gpx_file_id"] == broken.json()["gpx_file_id"]


@pytest.fixture(params=["sqlite", "postgres"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"
        return
    with pg_test_database("cv_totals") as dsn:
        yield sqlalchemy_url(dsn)


async def test_migration_backfills_loss_and_elapsed_time(own_database: str, tmp_path: Path) -> None:
    url = own_database
    await asyncio.to_thread(upgrade, url)
    async with api_for(make_settings(url, tmp_path)) as api:
        headers = await api.signup()
        trip_id = await api.trip(headers)
        stages = [
            await _stage(api, headers, trip_id, n)
            for n in (*STAGES, "ridewithgps-route-pois-no-time.gpx")
        ]
        file_id = stages[0]["gpx_file_id"]
        await api.client.patch(f"/gpx/{file_id}", json={"title": "Etapa"}, headers=headers)
        before = (await api.client.get(f"/trips/{trip_id}", headers=headers)).json()["totals"]
        full = (await api.client.get(f"/gpx/{file_id}/profile", headers=headers)).json()
        assert full["resolution"] == "full"
        await api.app.state.ctx.engine.dispose()

        await asyncio.to_thread(command.downgrade, alembic_config(url), BEFORE)
        await asyncio.to_thread(upgrade, url)
        async with api.app.state.ctx.sessions() as session:
            rows = (
                await session.execute(
                    text("SELECT elevation_loss_m, duration_s, data FROM gpx_route_stats")
                )
            ).all()
        assert len(rows) == len(stages)
        for loss, duration, data in rows:
            data = data if isinstance(data, dict) else __import__("json").loads(data)
            assert loss == data["elevation_loss_m"] and duration == data["duration_s"]
        assert any(duration is None for _, duration, _ in rows)  # the untimed route
        after = (await api.client.get(f"/trips/{trip_id}", headers=headers)).json()["totals"]
        assert after == before
        # the title went with the downgrade; the profile is rebuilt from the stored track
        status = (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).json()
        assert status["title"] == STAGES[0]
        legacy = (await api.client.get(f"/gpx/{file_id}/profile", headers=headers)).json()
        assert legacy["resolution"] == "simplified"
        assert legacy["source_point_count"] == stages[0]["stats"]["simplified_point_count"]
