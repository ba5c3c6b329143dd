"""gpx_tracks in the product: a file processed before it existed (legacy per-point rows) is
served the same bytes, `contravento backfill-tracks` converts it file by file, the migration
goes down and up without losing a track, and GET /gpx/{id}/track answers 304 to a client
that has the current ETag. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from contravento.cli import main
from contravento.config import get_settings
from contravento.db.migrate import alembic_config, upgrade
from contravento.db.tracks import insert_track
from contravento.domain import SimplifiedTrack
from contravento.services.jobs.process import _run_domain, process_gpx_file
from contravento.services.track_backfill import backfill_tracks
from tests.integration.conftest import Api, api_for, make_settings
from tests.integration.test_processing import _reset
from tests.integration.tracks import legacy_row_count, make_legacy, stored_points, stored_track
from tests.support import (
    pg_test_database,
    sample,
    sqlalchemy_url,
)

# several segments; no elevation and a trk without times; sensors; one-point segments
SAMPLES = (
    "garmin-gpsmap64s-hike-two-segments.gpx",
    "osm-api-traces-gpx10-no-elevation.gpx",
    "strava-ride-power-hr-cad.gpx",
)
BEFORE_TRACKS = "c4f1a7e2d9b3"  # the revision before gpx_tracks


def _simplified(api: Api, data: bytes) -> SimplifiedTrack:
    """What the job kept, with the app's own settings."""
    return _run_domain(api.app.state.ctx, data, threading.Event()).simplified


async def _track(api: Api, headers: dict[str, str], file_id: uuid.UUID) -> httpx.Response:
    r = await api.client.get(f"/gpx/{file_id}/track", headers=headers)
    assert r.status_code == 200, r.text
    return r


async def _upload(api: Api, headers: dict[str, str], trip_id: str, name: str) -> uuid.UUID:
    r = await api.upload(headers, trip_id, sample(name), filename=name)
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    assert (await api.wait_done(headers, str(file_id)))["processing_status"] == "completed"
    return file_id


async def test_legacy_rows_are_served_alike_then_backfilled(api: Api) -> None:
    sessions = api.app.state.ctx.sessions
    headers = await api.signup()
    trip_id = await api.trip(headers)
    files: dict[uuid.UUID, tuple[SimplifiedTrack, bytes, str]] = {}
    for name in SAMPLES:
        file_id = await _upload(api, headers, trip_id, name)
        served = await _track(api, headers, file_id)
        files[file_id] = (_simplified(api, sample(name)), served.content, served.headers["etag"])
    for file_id, (track, body, etag) in files.items():
        assert await make_legacy(sessions, file_id, track) == track.point_count > 0
        assert await stored_track(sessions, file_id) is None
        legacy = await _track(api, headers, file_id)
        assert legacy.content == body  # byte for byte, from the rows
        assert legacy.headers["etag"] == etag
    # a file a job is about to (re)process keeps its rows: the job writes its own track
    busy = await _upload(api, headers, trip_id, "garmin-connect-run-hr-cad-ns3-prefix.gpx")
    busy_track = _simplified(api, sample("garmin-connect-run-hr-cad-ns3-prefix.gpx"))
    await make_legacy(sessions, busy, busy_track)
    await _reset(api, busy)

    first = await backfill_tracks(sessions, batch=1)
    assert first.converted >= len(files) and first.skipped >= 1
    for file_id, (track, body, etag) in files.items():
        assert await legacy_row_count(sessions, file_id) == 0
        assert await stored_points(sessions, file_id) == track.point_count
        again = await _track(api, headers, file_id)
        assert again.content == body and again.headers["etag"] == etag
    assert await legacy_row_count(sessions, busy) == busy_track.point_count
    assert await stored_track(sessions, busy) is None

    second = await backfill_tracks(sessions, batch=2)  # idempotent: nothing left to convert
    assert (second.converted, second.cleaned) == (0, 0) and second.skipped >= 1

    # the job then runs: its track replaces the rows, never both
    assert (await process_gpx_file(api.app.state.ctx, busy)).outcome == "completed"
    assert await legacy_row_count(sessions, busy) == 0
    assert await stored_points(sessions, busy) == busy_track.point_count


async def test_backfill_deletes_rows_left_beside_a_track(api: Api) -> None:
    """Rows next to a gpx_tracks row (not something the product leaves): the track wins, the
    rows go, nothing is rewritten."""
    sessions = api.app.state.ctx.sessions
    headers = await api.signup()
    file_id = await _upload(api, headers, await api.trip(headers), SAMPLES[0])
    packed = await stored_track(sessions, file_id)
    assert packed is not None
    track = _simplified(api, sample(SAMPLES[0]))
    await make_legacy(sessions, file_id, track)
    async with sessions() as session, session.begin():
        await insert_track(session, file_id, packed, replace=False)
    assert await stored_points(sessions, file_id) == 2 * track.point_count
    assert (await backfill_tracks(sessions)).cleaned >= 1
    assert await stored_points(sessions, file_id) == track.point_count
    assert await stored_track(sessions, file_id) == packed


def test_backfill_command(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`contravento backfill-tracks --batch N`, as an operator runs it (its own event loop)."""

    async def prepare() -> tuple[uuid.UUID, int]:
        async with api_for(make_settings(database_url, tmp_path)) as api:
            headers = await api.signup()
            file_id = await _upload(api, headers, await api.trip(headers), SAMPLES[1])
            track = _simplified(api, sample(SAMPLES[1]))
            return file_id, await make_legacy(api.app.state.ctx.sessions, file_id, track)

    async def count(file_id: uuid.UUID) -> tuple[int, int]:
        async with api_for(make_settings(database_url, tmp_path)) as api:
            sessions = api.app.state.ctx.sessions
            return await stored_points(sessions, file_id), await legacy_row_count(sessions, file_id)

    file_id, rows = asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    try:
        assert main(["backfill-tracks", "--batch", "3"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert re.search(r"Recorridos convertidos: [1-9]\d* \([1-9][\d]* puntos\)", out), out
    assert asyncio.run(count(file_id)) == (rows, 0)
    with pytest.raises(SystemExit):
        main(["backfill-tracks", "--batch", "0"])


async def test_track_etag_and_not_modified(api: Api) -> None:
    headers = await api.signup()
    file_id = await _upload(api, headers, await api.trip(headers), SAMPLES[2])
    first = await _track(api, headers, file_id)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "private, no-cache"
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = await api.client.get(
            f"/gpx/{file_id}/track", headers={**headers, "If-None-Match": sent}
        )
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag, sent
    stale = await api.client.get(
        f"/gpx/{file_id}/track", headers={**headers, "If-None-Match": '"other"'}
    )
    assert stale.status_code == 200 and stale.content == first.content

    # processed again: a new ETag, and the old one gets the body
    await _reset(api, file_id)
    pending = await api.client.get(
        f"/gpx/{file_id}/track", headers={**headers, "If-None-Match": "*"}
    )
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "GPX_NOT_PROCESSED"
    assert (await process_gpx_file(api.app.state.ctx, file_id)).outcome == "completed"
    again = await api.client.get(
        f"/gpx/{file_id}/track", headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert again.content == first.content

    # someone else's file: 404 whatever the ETag
    other = await api.signup()
    r = await api.client.get(f"/gpx/{file_id}/track", headers={**other, "If-None-Match": "*"})
    assert r.status_code == 404


@pytest.fixture(params=["sqlite", "postgres"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own (it migrates down and up again)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"
        return
    with pg_test_database("cv_tracks") as dsn:
        yield sqlalchemy_url(dsn)


async def test_migration_down_and_up_keeps_every_track(own_database: str, tmp_path: Path) -> None:
    url = own_database
    await asyncio.to_thread(upgrade, url)
    async with api_for(make_settings(url, tmp_path)) as api:
        sessions = api.app.state.ctx.sessions
        headers = await api.signup()
        trip_id = await api.trip(headers)
        bodies = {}
        for name in SAMPLES:
            file_id = await _upload(api, headers, trip_id, name)
            bodies[file_id] = (await _track(api, headers, file_id)).content
        counts = {i: await stored_points(sessions, i) for i in bodies}
        if url.startswith("postgresql"):  # this server has lz4 (PostgreSQL 15, Debian's)
            async with sessions() as session:
                method = await session.scalar(
                    text(
                        "SELECT attcompression::text FROM pg_attribute WHERE attname = 'packed'"
                        " AND attrelid = 'gpx_tracks'::regclass"
                    )
                )
            assert method == "l", method
        await api.app.state.ctx.engine.dispose()  # no pooled connection in the way

        # down: every packed track becomes rows again (what the older release reads)
        await asyncio.to_thread(command.downgrade, alembic_config(url), BEFORE_TRACKS)
        for file_id, points in counts.items():
            assert await legacy_row_count(sessions, file_id) == points
        await api.app.state.ctx.engine.dispose()

        # up again: no gpx_tracks rows, the rows are served the same bytes, then converted
        await asyncio.to_thread(upgrade, url)
        for file_id, body in bodies.items():
            assert await stored_track(sessions, file_id) is None
            assert (await _track(api, headers, file_id)).content == body
        report = await backfill_tracks(sessions)
        assert report.converted == len(bodies) and report.points == sum(counts.values())
        for file_id, body in bodies.items():
            assert await legacy_row_count(sessions, file_id) == 0
            assert (await _track(api, headers, file_id)).content == body
