"""An archive's job run again (a retry, a lease taken over) gives the same import; a run
whose lease was taken over writes nothing. In-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
import zipfile
from pathlib import Path

from alembic import command
from sqlalchemy import delete, func, inspect, select, update

from contravento.db.migrate import alembic_config, upgrade
from contravento.db.models import GPXFile
from contravento.services.jobs import machine
from contravento.services.jobs.imports import expand_archive
from contravento.services.jobs.process import process_gpx_file
from tests import archives
from tests.integration.conftest import Api, api_for, both_stores, make_settings
from tests.integration.stores import originals
from tests.support import sample, tiny_gpx


async def _import(api: Api, headers: dict[str, str], trip: str, data: bytes) -> dict[str, object]:
    r = await api.upload(headers, trip, data, filename="export.zip")
    assert r.status_code == 202, r.text
    await api.app.state.dispatcher.drain()
    got = await api.client.get(f"/imports/{r.json()['import_id']}", headers=headers)
    body: dict[str, object] = got.json()
    assert body["status"] == "completed", body
    return body


async def _file_count(api: Api, trip: str) -> int:
    async with api.app.state.ctx.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(GPXFile).where(GPXFile.trip_id == uuid.UUID(trip))
        )
    return int(count or 0)


async def test_a_second_run_of_the_archive_job_reports_the_same_import(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    data, _expected = archives.strava_export()
    first = await _import(api, headers, trip, data)
    files = await _file_count(api, trip)
    ctx = api.app.state.ctx
    import_id = uuid.UUID(str(first["id"]))
    async with ctx.sessions() as session, session.begin():  # as after a transient failure
        await session.execute(
            update(GPXFile)
            .where(GPXFile.id == import_id)
            .values(processing_status="pending", next_attempt_at=None)
        )
    result = await process_gpx_file(ctx, import_id)
    assert result.outcome == "completed" and result.attempts == 2
    await api.app.state.dispatcher.drain()
    again = (await api.client.get(f"/imports/{import_id}", headers=headers)).json()
    assert again["created"] == first["created"]  # the same files, not duplicates of themselves
    assert again["skipped"] == first["skipped"]
    assert await _file_count(api, trip) == files


async def test_a_run_whose_lease_was_taken_over_creates_nothing(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    data = archives.build_zip([("a.gpx", sample("strava-ride-power-hr-cad.gpx"))])
    r = await api.upload(headers, trip, data, filename="a.zip")
    await api.app.state.dispatcher.drain()
    ctx = api.app.state.ctx
    import_id = uuid.UUID(r.json()["import_id"])
    async with ctx.sessions() as session:
        row = await session.get(GPXFile, import_id)
        assert row is not None
    stale = machine.Claim(row.id, row.trip_id, row.storage_key, row.attempts - 1, None, "zip")
    # the member's file deleted, the archive running again under a newer attempt; a run
    # with the old fencing number must not create the member again
    async with ctx.sessions() as session, session.begin():
        await session.execute(
            delete(GPXFile).where(GPXFile.trip_id == row.trip_id, GPXFile.id != import_id)
        )
        await session.execute(
            update(GPXFile).where(GPXFile.id == import_id).values(processing_status="processing")
        )
    assert await _file_count(api, trip) == 1
    assert await expand_archive(ctx, stale, cancel=threading.Event(), spawn=None) is False
    assert await _file_count(api, trip) == 1
    current = machine.Claim(row.id, row.trip_id, row.storage_key, row.attempts, None, "zip")
    assert await expand_archive(ctx, current, cancel=threading.Event(), spawn=None) is True
    assert await _file_count(api, trip) == 2  # the run that holds the lease does


async def test_migration_is_reversible_and_keeps_the_files(
    database_url: str, tmp_path: Path
) -> None:
    """f7b3c9d2e1a4 down to its predecessor f6c3d9e2a7b1 drops the reports only (files and
    stages stay), and up again gives an empty report table."""
    async with api_for(make_settings(database_url, tmp_path)) as api:
        headers = await api.signup()
        trip = await api.trip(headers)
        data = archives.build_zip([("a.gpx", sample("strava-ride-power-hr-cad.gpx"))])
        report = await _import(api, headers, trip, data)
        files = await _file_count(api, trip)
        await api.app.state.ctx.engine.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "f6c3d9e2a7b1")
        async with api.app.state.ctx.sessions() as session:
            tables = await session.run_sync(lambda s: inspect(s.connection()).get_table_names())
        assert "gpx_imports" not in tables
        assert await _file_count(api, trip) == files
        await asyncio.to_thread(upgrade, database_url)
        after = (await api.client.get(f"/imports/{report['id']}", headers=headers)).json()
        assert after["status"] == "completed" and after["created"] == []
        listed = (await api.client.get(f"/trips/{trip}/gpx", headers=headers)).json()
        assert [f["original_filename"] for f in listed] == ["a.gpx"]


@both_stores
async def test_an_import_reads_and_stores_through_either_store(api: Api) -> None:
    """The archive is read back from the store (local directory or S3) into a temporary file,
    and each member stored there like any upload."""
    headers = await api.signup()
    trip = await api.trip(headers)
    data, expected = archives.strava_export()
    report = await _import(api, headers, trip, data)
    created = {c["name"]: c["gpx_file_id"] for c in report["created"]}  # type: ignore[attr-defined]
    assert set(created) == {n for n, want in expected.items() if want == "created"}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, file_id in created.items():
            got = await api.client.get(f"/gpx/{file_id}/download", headers=headers)
            assert got.status_code == 200 and got.content == archive.read(name)
    stored = originals(api.settings)
    assert len(stored) == len(created) + 1  # the members and the archive itself


async def test_the_same_bytes_twice_in_one_archive_become_one_file(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    ride = sample("strava-ride-power-hr-cad.gpx")
    members = [("a/ride.gpx", ride), ("b/copy-of-ride.gpx", ride)]
    members += [(f"c/{i}.gpx", tiny_gpx(30 + i, seed=f"many-{i}")) for i in range(40)]
    report = await _import(api, headers, trip, archives.build_zip(members))  # several batches
    assert report["members_found"] == 42
    assert len(report["created"]) == 41  # type: ignore[arg-type]
    assert report["skipped"] == [
        {"name": "b/copy-of-ride.gpx", "reason_code": "MEMBER_DUPLICATE",
         "reason": "Ya está en este viaje (el mismo contenido exacto)."}
    ]  # fmt: skip
    assert await _file_count(api, trip) == 42  # 41 stages and the archive


async def test_the_archive_has_no_track_of_its_own(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    data = archives.build_zip([("a.gpx", tiny_gpx(30, seed="no-track"))])
    report = await _import(api, headers, trip, data)
    for path in ("track", "profile"):
        r = await api.client.get(f"/gpx/{report['id']}/{path}", headers=headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "GPX_IS_ARCHIVE", r.text
    got = await api.client.get(f"/gpx/{report['id']}/download", headers=headers)
    assert got.content == data and got.headers["content-type"] == "application/zip"
