"""The same ride uploaded again with other bytes (another export of it, a gzip of it): the job
fails DUPLICATE_RIDE pointing at the file that holds it; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from pathlib import Path

import gpxpy
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contravento.db.migrate import alembic_config, upgrade
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.conftest import Api, api_for, make_settings
from tests.support import pg_test_database, sample, sqlalchemy_url

RIDE = "strava-ride-power-hr-cad.gpx"
OTHER = "garmin-connect-run-hr-cad-ns3-prefix.gpx"
UNTIMED = "ridewithgps-route-pois-no-time.gpx"


def reserialised(data: bytes) -> bytes:
    """The same ride written again by another program (gpxpy): other bytes, same points."""
    return gpxpy.parse(data.decode()).to_xml().encode()


async def _done(api: Api, headers: dict[str, str], trip: str, data: bytes, name: str) -> dict:  # type: ignore[type-arg]
    r = await api.upload(headers, trip, data, filename=name)
    assert r.status_code == 202, r.text
    assert r.json()["duplicate"] is False and r.json()["duplicate_of"] is None
    return await api.wait_done(headers, r.json()["gpx_file_id"])


async def test_another_export_of_the_same_ride_fails_pointing_at_the_first(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    first = await _done(api, headers, trip, sample(RIDE), "salida.gpx")
    assert first["processing_status"] == "completed" and first["duplicate_of"] is None
    copy = reserialised(sample(RIDE))
    assert copy != sample(RIDE)
    for data, name in ((copy, "salida-gpxpy.gpx"), (gzip.compress(sample(RIDE)), "s.gpx.gz")):
        twin = await _done(api, headers, trip, data, name)
        assert twin["processing_status"] == "failed", twin
        assert twin["error_code"] == "DUPLICATE_RIDE" and twin["attempts"] == 1, twin
        assert twin["duplicate_of"] == first["gpx_file_id"]
        assert "«salida.gpx»" in twin["error_message"]
        assert twin["stats"] is None
        track = await api.client.get(f"/gpx/{twin['gpx_file_id']}/track", headers=headers)
        assert track.status_code == 409  # nothing of the duplicate was written
    listing = (await api.client.get(f"/trips/{trip}/gpx", headers=headers)).json()
    assert [f["duplicate_of"] for f in listing].count(first["gpx_file_id"]) == 2
    totals = (await api.client.get(f"/trips/{trip}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 1  # the ride counted once
    assert totals["distance_km"] == first["stats"]["distance_km"]


async def test_the_same_bytes_again_answer_200_pointing_at_the_ride(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    first = await _done(api, headers, trip, sample(RIDE), "salida.gpx")
    again = await api.upload(headers, trip, sample(RIDE))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["duplicate_of"] == first["gpx_file_id"] == again.json()["gpx_file_id"]
    packed = gzip.compress(sample(RIDE))
    twin = await _done(api, headers, trip, packed, "salida.gpx.gz")
    assert twin["error_code"] == "DUPLICATE_RIDE"
    # the duplicate's own bytes once more: 200, the same failed file, pointing at the ride
    repeat = await api.upload(headers, trip, packed, filename="otra-vez.gpx.gz")
    assert repeat.status_code == 200 and repeat.json()["gpx_file_id"] == twin["gpx_file_id"]
    assert repeat.json()["duplicate_of"] == first["gpx_file_id"]


async def test_other_rides_other_trips_and_untimed_tracks_are_not_duplicates(api: Api) -> None:
    headers = await api.signup()
    trip, other_trip = await api.trip(headers), await api.trip(headers, "Otro viaje")
    assert (await _done(api, headers, trip, sample(RIDE), "a.gpx"))["processing_status"] == (
        "completed"
    )
    for target, data in ((trip, sample(OTHER)), (other_trip, gzip.compress(sample(RIDE)))):
        done = await _done(api, headers, target, data, "b.gpx")
        assert done["processing_status"] == "completed", done
    # without times a ride cannot be told from another lap of the same route: both kept
    for data in (sample(UNTIMED), gzip.compress(sample(UNTIMED))):
        done = await _done(api, headers, trip, data, "ruta.gpx")
        assert done["processing_status"] == "completed", done


async def test_deleting_the_ride_clears_the_pointer(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    first = await _done(api, headers, trip, sample(RIDE), "salida.gpx")
    twin = await _done(api, headers, trip, gzip.compress(sample(RIDE)), "s.gpx.gz")
    assert twin["duplicate_of"] == first["gpx_file_id"]
    gone = await api.client.delete(f"/gpx/{first['gpx_file_id']}", headers=headers)
    assert gone.status_code == 204
    status = (await api.client.get(f"/gpx/{twin['gpx_file_id']}/status", headers=headers)).json()
    assert status["duplicate_of"] is None and status["error_code"] == "DUPLICATE_RIDE"


async def test_twins_finishing_at_once_leave_exactly_one_completed(
    database_url: str, tmp_path: Path
) -> None:
    """Two runners at once (in-process concurrency 2), several rounds: never two completed."""
    settings = make_settings(database_url, tmp_path, gpx_in_process_concurrency=2)
    async with api_for(settings) as api:
        headers = await api.signup()
        data = sample(RIDE)
        variants = (data, gzip.compress(data), reserialised(data))
        for _round in range(3):
            trip = await api.trip(headers)
            sent = await asyncio.gather(
                *(api.upload(headers, trip, v, filename=f"{i}.gpx") for i, v in enumerate(variants))
            )
            assert [r.status_code for r in sent] == [202] * 3
            done = [await api.wait_done(headers, r.json()["gpx_file_id"]) for r in sent]
            completed = [d for d in done if d["processing_status"] == "completed"]
            assert len(completed) == 1, done
            others = [d for d in done if d is not completed[0]]
            assert all(d["error_code"] == "DUPLICATE_RIDE" for d in others), done
            assert {d["duplicate_of"] for d in others} == {completed[0]["gpx_file_id"]}


@pytest.fixture(params=["sqlite", "postgres"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"
        return
    with pg_test_database("cv_twins") as dsn:
        yield sqlalchemy_url(dsn)


async def test_the_migration_downgrades_and_upgrades_in_place(
    own_database: str, tmp_path: Path
) -> None:
    """f6c3d9e2a7b1 down and up again keeps every file, track and stats row (no table copy,
    which on SQLite would cascade-delete them)."""
    url = own_database
    await asyncio.to_thread(upgrade, url)
    async with api_for(make_settings(url, tmp_path)) as api:
        headers = await api.signup()
        trip = await api.trip(headers)
        first = await _done(api, headers, trip, sample(RIDE), "salida.gpx")
        twin = await _done(api, headers, trip, gzip.compress(sample(RIDE)), "s.gpx.gz")
        assert twin["duplicate_of"] == first["gpx_file_id"]
        await api.app.state.ctx.engine.dispose()

        counts = "SELECT (SELECT count(*) FROM gpx_files), (SELECT count(*) FROM gpx_route_stats)"
        await asyncio.to_thread(command.downgrade, alembic_config(url), "e5a8b2c7d1f3")
        async with api.app.state.ctx.sessions() as session:
            assert tuple((await session.execute(text(counts))).one()) == (2, 1)
            with pytest.raises(DBAPIError):
                await session.execute(text("SELECT duplicate_of_id FROM gpx_files"))
        await api.app.state.ctx.engine.dispose()
        await asyncio.to_thread(upgrade, url)
        async with api.app.state.ctx.sessions() as session:
            assert tuple((await session.execute(text(counts))).one()) == (2, 1)
        status = await api.client.get(f"/gpx/{twin['gpx_file_id']}/status", headers=headers)
        assert status.json()["duplicate_of"] is None  # the pointer went with the downgrade
        track = await api.client.get(f"/gpx/{first['gpx_file_id']}/track", headers=headers)
        assert track.status_code == 200


@pytest.mark.slow
def test_a_celery_worker_fails_the_twin_too(
    pg_database: str,
    redis_db: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The same rule on a real worker (prefork, PostgreSQL): one processing path."""
    stack = Stack(tmp_path, pg_database, redis_db, celery_force="true")
    try:
        stack.start_worker("tw1")
        client = stack.start_api()
        headers = client.signup()
        trip = client.trip(headers)
        first = client.upload(headers, trip, sample(RIDE), name="salida.gpx").json()
        assert first["processing_mode"] == "celery"
        assert client.wait_done(headers, first["gpx_file_id"])["processing_status"] == "completed"
        twin = client.upload(headers, trip, gzip.compress(sample(RIDE)), name="s.gpx.gz").json()
        done = client.wait_done(headers, twin["gpx_file_id"])
        assert done["processing_status"] == "failed" and done["error_code"] == "DUPLICATE_RIDE"
        assert done["duplicate_of"] == first["gpx_file_id"]
        assert str(done["processed_by"]).startswith("tw1@")
    finally:
        stack.close()
