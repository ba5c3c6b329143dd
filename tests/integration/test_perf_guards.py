"""Performance regression guards that count work, never time it (figures live in bench/).

- a file's kept points are written as one gpx_tracks row (one INSERT, never one per point),
  so the statements a job issues do not grow with its point count;
- the original is read from storage once per job;
- in-process jobs run one at a time (GPX_IN_PROCESS_CONCURRENCY=1), so CPU-bound parsing in
  threads never crowds the event loop out of the GIL.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from contravento.domain import TrackSummary
from contravento.services.jobs import process as processing
from contravento.services.jobs.process import process_gpx_file
from tests.integration.conftest import Api
from tests.integration.test_processing import _reset
from tests.integration.tracks import stored_points
from tests.support import sample


@contextmanager
def statements(api: Api) -> Iterator[list[tuple[str, bool]]]:
    """Every SQL statement the app's engine sends while the block runs: (sql, executemany)."""
    seen: list[tuple[str, bool]] = []
    engine = api.app.state.ctx.engine.sync_engine

    def record(_conn: Any, _cursor: Any, sql: str, _params: Any, _ctx: Any, many: bool) -> None:
        seen.append((sql, many))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _processed(api: Api, data: bytes) -> tuple[uuid.UUID, list[tuple[str, bool]], int]:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, data)
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    await api.wait_done(headers, str(file_id))
    await _reset(api, file_id)
    with statements(api) as seen:
        result = await process_gpx_file(api.app.state.ctx, file_id)
    assert result.outcome == "completed"
    return file_id, seen, await stored_points(api.app.state.ctx.sessions, file_id)


async def test_track_is_written_as_one_row(api: Api) -> None:
    small = await _processed(api, sample("strava-ride-power-hr-cad.gpx"))
    large = await _processed(api, sample("garmin-gpsmap64s-hike-two-segments.gpx"))
    for _file_id, seen, count in (small, large):
        assert count > 1
        inserts = [(sql, many) for sql, many in seen if "INSERT INTO gpx_tracks" in sql]
        assert len(inserts) == 1 and not inserts[0][1], inserts  # one row, not executemany
        assert not [sql for sql, _ in seen if "INSERT INTO gpx_trackpoints" in sql]
    # the statements of a job do not depend on how many points it has
    assert small[2] != large[2]
    assert len(small[1]) == len(large[1]), (small[1], large[1])


async def test_original_is_read_once_per_job(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = api.app.state.ctx.storage
    reads: list[str] = []
    original = storage.read

    def counting_read(key: str) -> bytes:
        reads.append(key)
        return bytes(original(key))

    monkeypatch.setattr(storage, "read", counting_read)
    file_id, _seen, _count = await _processed(api, sample("strava-ride-power-hr-cad.gpx"))
    assert len(reads) == 2  # once for the upload's own job, once for the re-run
    assert len(set(reads)) == 1 and str(file_id) in reads[0]


async def test_in_process_jobs_run_one_at_a_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.settings.gpx_in_process_concurrency == 1
    running = 0
    peak = 0
    lock = threading.Lock()
    real = processing._run_domain

    def tracked(ctx: Any, data: bytes, *rest: Any) -> TrackSummary:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real(ctx, data, *rest)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(processing, "_run_domain", tracked)
    headers = await api.signup()
    trips = [await api.trip(headers) for _ in range(4)]  # the same ride: a trip each
    data = sample("garmin-gpsmap64s-hike-two-segments.gpx")
    uploads = await asyncio.gather(
        *(
            api.upload(headers, trip, data + f"<!-- {i} -->".encode())
            for i, trip in enumerate(trips)
        )
    )
    assert [r.status_code for r in uploads] == [202] * 4
    for r in uploads:
        body = await api.wait_done(headers, r.json()["gpx_file_id"])
        assert body["processing_status"] == "completed"
    assert peak == 1


async def test_in_process_upload_sets_no_mode_twice(api: Api) -> None:
    """A new in-process job is stored as background: no extra UPDATE of its mode."""
    headers = await api.signup()
    trip_id = await api.trip(headers)
    with statements(api) as seen:
        r = await api.upload(headers, trip_id, sample("strava-ride-power-hr-cad.gpx"))
        body = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert body["processing_status"] == "completed" and body["processing_mode"] == "background"
    assert not [sql for sql, _ in seen if "processing_mode" in sql and sql.startswith("UPDATE")]


async def test_upload_checks_user_trip_and_duplicates_in_two_queries(api: Api) -> None:
    """Up to its INSERT an upload reads the database twice: user + trip, duplicate + quota;
    on PostgreSQL the admission then locks the owner's row (the quota holds under concurrency)."""
    headers = await api.signup()
    trip_id = await api.trip(headers)
    with statements(api) as seen:
        r = await api.upload(headers, trip_id, sample("strava-ride-power-hr-cad.gpx"))
    assert r.status_code == 202
    sqls = [sql for sql, _ in seen]
    insert = next(i for i, sql in enumerate(sqls) if sql.startswith("INSERT INTO gpx_files"))
    reads = [sql for sql in sqls[:insert] if sql.lstrip().upper().startswith("SELECT")]
    locks = [sql for sql in reads if "FOR UPDATE" in sql]
    assert len(locks) == (api.settings.database_url.startswith("postgresql")), locks
    reads = [sql for sql in reads if sql not in locks]
    assert len(reads) == 2, reads
    assert "users" in reads[0] and "trips" in reads[0]
    assert "count(" in reads[1].lower() and "sha256" in reads[1]


async def test_in_process_jobs_give_way_while_uploads_stream_in(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    dispatcher = api.app.state.dispatcher
    api.app.state.ctx.settings.gpx_ingest_priority_s = 30
    real_schedule = dispatcher.schedule
    dispatcher.schedule = _no_schedule_guard  # keep the job pending until we run it below
    r = await api.upload(headers, trip_id, sample("strava-ride-power-hr-cad.gpx"))
    dispatcher.schedule = real_schedule
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    with dispatcher.ingesting():  # an upload body is arriving
        job = asyncio.create_task(dispatcher.run_in_process(file_id))
        await asyncio.sleep(0.3)
        status = (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).json()
        assert status["processing_status"] == "pending"  # the job waits for the upload
    await asyncio.wait_for(job, 60)
    status = (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).json()
    assert status["processing_status"] == "completed"


async def _no_schedule_guard(*_args: object, **_kwargs: object) -> str:
    return "background"
