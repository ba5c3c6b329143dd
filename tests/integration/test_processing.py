"""The processing service itself: idempotent, one transaction, failure modes."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from contravento.db.models import GPXFile, RouteStatsRow
from contravento.domain.packed_track import PackedTrack
from contravento.services.jobs.process import process_gpx_file
from tests.integration.conftest import Api, both_stores
from tests.integration.stores import remove_originals
from tests.integration.tracks import stored_points, stored_track
from tests.support import sample


async def _rows(api: Api, file_id: uuid.UUID) -> tuple[PackedTrack, dict[str, object]]:
    """The file's stored track (its one gpx_tracks row) and statistics."""
    track = await stored_track(api.app.state.ctx.sessions, file_id)
    assert track is not None
    async with api.app.state.ctx.sessions() as session:
        stats = await session.get(RouteStatsRow, file_id)
        assert stats is not None
        return track, dict(stats.data)


async def _processed(api: Api, name: str) -> tuple[dict[str, str], uuid.UUID]:
    """A new user uploads a real export and waits for its job: (auth headers, file id)."""
    headers = await api.signup()
    r = await api.upload(headers, await api.trip(headers), sample(name))
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    await api.wait_done(headers, str(file_id))
    return headers, file_id


async def _reset(api: Api, file_id: uuid.UUID) -> None:
    async with api.app.state.ctx.sessions() as session, session.begin():
        await session.execute(
            update(GPXFile).where(GPXFile.id == file_id).values(processing_status="pending")
        )


@both_stores
async def test_reprocessing_is_idempotent(api: Api) -> None:
    _, file_id = await _processed(api, "garmin-gpsmap64s-hike-two-segments.gpx")
    first = await _rows(api, file_id)
    assert first[0].point_count == first[1]["simplified_point_count"]
    assert first[0].segment_count == 2

    await _reset(api, file_id)
    result = await process_gpx_file(api.app.state.ctx, file_id)
    assert result.outcome == "completed"
    assert await _rows(api, file_id) == first

    await _reset(api, file_id)  # two runs at once (a redelivery racing the reconciler)
    results = await asyncio.gather(
        process_gpx_file(api.app.state.ctx, file_id),
        process_gpx_file(api.app.state.ctx, file_id),
        return_exceptions=True,
    )
    assert not [x for x in results if isinstance(x, BaseException)], results
    assert any(getattr(x, "outcome", None) == "completed" for x in results), results
    assert await _rows(api, file_id) == first
    assert await stored_points(api.app.state.ctx.sessions, file_id) == first[0].point_count


async def test_completed_job_is_not_run_again(api: Api) -> None:
    headers, file_id = await _processed(api, "strava-ride-power-hr-cad.gpx")
    result = await process_gpx_file(api.app.state.ctx, file_id)
    assert result.outcome == "skipped"
    assert (await api.wait_done(headers, str(file_id)))["attempts"] == 1


@both_stores
async def test_missing_original_fails_with_spanish_message(api: Api) -> None:
    headers, file_id = await _processed(api, "strava-ride-power-hr-cad.gpx")
    remove_originals(api.settings)
    await _reset(api, file_id)
    result = await process_gpx_file(api.app.state.ctx, file_id)
    assert result.outcome == "failed" and result.error_code == "GPX_FILE_MISSING"
    status = await api.wait_done(headers, str(file_id))
    assert (
        status["error_code"] == "GPX_FILE_MISSING" and "Vuelve a subirlo" in status["error_message"]
    )


async def test_unknown_id_is_dropped(api: Api) -> None:
    result = await process_gpx_file(api.app.state.ctx, uuid.uuid4())
    assert result.outcome == "missing"


async def test_tens_of_thousands_of_segments_are_stored(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    segs = "".join(f'<trkseg><trkpt lat="40.{i:06d}" lon="-3.7"/></trkseg>' for i in range(40_000))
    data = f'<gpx version="1.1"><trk>{segs}</trk></gpx>'.encode()
    r = await api.upload(headers, trip_id, data)
    status = await api.wait_done(headers, r.json()["gpx_file_id"], timeout=120)
    assert status["processing_status"] == "completed", status
    assert status["stats"]["segment_count"] == 40_000


async def test_attempts_are_capped_whoever_redelivers(api: Api) -> None:
    headers, file_id = await _processed(api, "strava-ride-power-hr-cad.gpx")
    async with api.app.state.ctx.sessions() as session, session.begin():
        await session.execute(
            update(GPXFile)
            .where(GPXFile.id == file_id)
            .values(processing_status="processing", attempts=api.settings.max_attempts)
        )
    result = await process_gpx_file(api.app.state.ctx, file_id)  # one more redelivery
    assert result.outcome == "failed" and result.error_code == "GPX_PROCESSING_FAILED"
    status = await api.wait_done(headers, str(file_id))
    assert (
        status["processing_status"] == "failed" and status["error_code"] == "GPX_PROCESSING_FAILED"
    )
    assert status["attempts"] == api.settings.max_attempts


@both_stores
async def test_reuploading_a_file_that_failed_on_our_side_retries_it(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    data = sample("strava-ride-power-hr-cad.gpx")
    r = await api.upload(headers, trip_id, data)
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    await api.wait_done(headers, str(file_id))
    remove_originals(api.settings)  # the original is lost on our side
    await _reset(api, file_id)
    assert (await process_gpx_file(api.app.state.ctx, file_id)).error_code == "GPX_FILE_MISSING"

    again = await api.upload(headers, trip_id, data)  # "Vuelve a subirlo", as the message says
    assert again.status_code == 202 and again.json()["gpx_file_id"] == str(file_id)
    status = await api.wait_done(headers, str(file_id))
    assert status["processing_status"] == "completed" and status["attempts"] == 1
    download = await api.client.get(f"/gpx/{file_id}/download", headers=headers)
    assert download.content == data

    broken = b'<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2">'
    first = await api.upload(headers, trip_id, broken)
    assert (await api.wait_done(headers, first.json()["gpx_file_id"]))[
        "error_code"
    ] == "GPX_MALFORMED"
    dup = await api.upload(headers, trip_id, broken)  # the file's own fault: no retry
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
