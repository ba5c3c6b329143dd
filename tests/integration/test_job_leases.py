"""Leases and fencing on the job row (services/jobs/machine), on SQLite and PostgreSQL.

A claim on a live lease is refused; once the lease expires another runner takes the job with
a higher fencing number, and the runner that lost it changes nothing when it finishes late.
The heartbeat keeps a long job's lease alive while its thread works (sleeping or burning CPU),
so a second runner is turned away for as long as the first one lives.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from contravento.db.models import GPXFile, RouteStatsRow
from contravento.domain import summarize
from contravento.services.context import AppContext
from contravento.services.jobs import machine, process
from contravento.services.jobs.machine import Claim, Refused
from tests.integration.conftest import Api, api_for, make_settings
from tests.integration.tracks import stored_points
from tests.support import sample, tiny_gpx

pytestmark = pytest.mark.slow  # seconds of real sleeping and CPU per test

LEASE_S = 1.0


def _settings(database_url: str, tmp_path: Path, reconcile_interval_s: float) -> Any:
    return make_settings(
        database_url,
        tmp_path,
        lease_s=LEASE_S,
        lease_renew_s=0.25,
        reconcile_interval_s=reconcile_interval_s,
        redispatch_after_s=0.5,
    )


@pytest_asyncio.fixture
async def leased(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app with one-second leases renewed every 0.25 s and a reconciler every 0.2 s."""
    async with api_for(_settings(database_url, tmp_path, 0.2)) as value:
        yield value


@pytest_asyncio.fixture
async def quiet(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The same leases, no reconciler: the test plays every runner itself."""
    async with api_for(_settings(database_url, tmp_path, 0)) as value:
        yield value


def _ctx(api: Api) -> AppContext:
    ctx: AppContext = api.app.state.ctx
    return ctx


async def _row(api: Api, file_id: uuid.UUID) -> dict[str, Any]:
    async with _ctx(api).sessions() as session:
        row = await session.get(GPXFile, file_id)
        assert row is not None
        stats = await session.get(RouteStatsRow, file_id)
        points = await stored_points(_ctx(api).sessions, file_id)
        return {
            "status": row.processing_status,
            "attempts": row.attempts,
            "processed_by": row.processed_by,
            "error_code": row.error_code,
            "lease_expires_at": row.lease_expires_at,
            "points": points,
            "simplified": stats.simplified_point_count if stats else None,
            "stats_points": stats.point_count if stats else None,
        }


async def _completed_then_pending(api: Api, data: bytes) -> uuid.UUID:
    """A job that ran once (its trackpoints and stats are stored), put back to pending with no
    attempts, as a fresh job whose previous results a late writer could clobber."""
    headers = await api.signup()
    r = await api.upload(headers, await api.trip(headers), data)
    file_id = uuid.UUID(r.json()["gpx_file_id"])
    assert (await api.wait_done(headers, str(file_id)))["processing_status"] == "completed"
    async with _ctx(api).sessions() as session, session.begin():
        await session.execute(
            update(GPXFile)
            .where(GPXFile.id == file_id)
            .values(processing_status="pending", attempts=0, lease_expires_at=None)
        )
    return file_id


async def test_live_lease_refuses_a_claim_and_a_late_finisher_changes_nothing(
    quiet: Api,
) -> None:
    api, ctx = quiet, _ctx(quiet)
    file_id = await _completed_then_pending(api, sample("strava-ride-power-hr-cad.gpx"))
    before = await _row(api, file_id)
    assert before["points"] == before["simplified"] > 0

    first = await machine.claim(ctx, file_id, worker="runner-a")
    assert isinstance(first, Claim) and first.fence == 1
    second = await machine.claim(ctx, file_id, worker="runner-b")
    assert isinstance(second, Refused) and second.reason == "leased", second
    assert second.until is not None and second.attempts == 1
    assert await machine.renew(ctx, first)  # the live holder may renew

    await asyncio.sleep(LEASE_S + 0.3)  # runner-a stops renewing: its lease runs out
    second = await machine.claim(ctx, file_id, worker="runner-b")
    assert isinstance(second, Claim) and second.fence == 2 > first.fence

    # runner-a comes back late with the result of another file: nothing of it may land
    other = summarize(tiny_gpx(40, seed="late"), tolerance_m=5.0)
    assert not await machine.renew(ctx, first)
    assert not await process._finish(ctx, first, other)
    async with ctx.sessions() as session, session.begin():
        assert not await machine.complete(session, first)
    assert not await machine.fail(ctx, first, machine.INTERNAL)
    decision = await machine.retry_later(ctx, first, timer=False)
    assert not decision.held
    row = await _row(api, file_id)
    assert row["status"] == "processing" and row["attempts"] == 2, row
    assert row["processed_by"] == "runner-b" and row["error_code"] is None
    assert (row["points"], row["simplified"], row["stats_points"]) == (
        before["points"],
        before["simplified"],
        before["stats_points"],
    )

    # the current holder finishes: its rows, exactly once
    data = sample("strava-ride-power-hr-cad.gpx")
    assert await process._finish(ctx, second, summarize(data, tolerance_m=5.0))
    row = await _row(api, file_id)
    assert row["status"] == "completed" and row["attempts"] == 2
    assert row["points"] == row["simplified"] == before["simplified"]
    assert row["lease_expires_at"] is None
    again = await machine.claim(ctx, file_id, worker="runner-a")
    assert isinstance(again, Refused) and again.reason == "finished"


def _slow_read(kind: str, seconds: float, calls: list[float]) -> Any:
    original = process.read_original

    def read_original(ctx: AppContext, key: str) -> bytes:
        calls.append(time.monotonic())
        end = time.monotonic() + seconds
        if kind == "sleep":
            time.sleep(seconds)  # a slow store
        else:
            while time.monotonic() < end:  # CPU-bound Python holding the GIL between switches
                sum(i * i for i in range(2000))
        return original(ctx, key)

    return read_original


@pytest.mark.parametrize("kind", ["sleep", "cpu"])
async def test_heartbeat_keeps_a_long_job_leased_and_no_second_run_starts(
    leased: Api, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    api, ctx = leased, _ctx(leased)
    calls: list[float] = []
    monkeypatch.setattr(process, "read_original", _slow_read(kind, 3 * LEASE_S, calls))
    headers = await api.signup()
    trip = await api.trip(headers)
    data = tiny_gpx(200, seed=f"heartbeat-{kind}")
    upload = asyncio.create_task(api.upload(headers, trip, data))  # runs the job in-process

    file_id: uuid.UUID | None = None
    busy_at: list[float] = []  # when the intruder was refused because the lease was live
    deadline = time.monotonic() + 30
    while not upload.done() or file_id is None:
        assert time.monotonic() < deadline, "the job never ended"
        await asyncio.sleep(0.2)
        if file_id is None:
            async with ctx.sessions() as session:
                file_id = await session.scalar(
                    select(GPXFile.id).where(GPXFile.trip_id == uuid.UUID(trip))
                )
            continue
        # a second runner (a redelivery, the reconciler of another API) tries all along
        result = await process.process_gpx_file(ctx, file_id, worker="intruder")
        assert result.outcome in ("busy", "skipped"), result
        if result.outcome == "busy":
            busy_at.append(time.monotonic())
    assert (await upload).status_code == 202
    assert file_id is not None
    status = await api.wait_done(headers, str(file_id))
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == 1 and len(calls) == 1, (status, calls)
    # the lease outlived LEASE_S twice over while it was tried: refused more than 2 x LEASE_S
    # after the job started (a count of refusals would depend on how fast the loop polls)
    assert len(busy_at) >= 2 and busy_at[-1] - calls[0] > 2 * LEASE_S, (busy_at, calls)
    row = await _row(api, file_id)
    assert row["points"] == row["simplified"] and row["stats_points"] == 200
    assert row["processed_by"] is None  # never the intruder's


async def test_heartbeat_is_a_separate_thread_of_work(quiet: Api) -> None:
    """The renewal runs on the loop while the job's thread works: it survives a thread that
    never yields to asyncio at all (only the GIL switch interval lets the loop in)."""
    ctx = _ctx(quiet)
    file_id = await _completed_then_pending(quiet, tiny_gpx(30, seed="beat"))
    held = await machine.claim(ctx, file_id, worker="busy")
    assert isinstance(held, Claim)
    done = threading.Event()

    def burn() -> None:
        end = time.monotonic() + 3 * LEASE_S
        while time.monotonic() < end:
            sum(i * i for i in range(2000))
        done.set()

    from contravento.services.jobs.heartbeat import lease_kept

    async with lease_kept(ctx, held) as lease:
        await asyncio.to_thread(burn)
    assert done.is_set() and not lease.lost
    refused = await machine.claim(ctx, file_id, worker="other")
    assert isinstance(refused, Refused) and refused.reason == "leased"


async def test_an_expired_lease_is_swept_at_once_a_fresh_redispatch_is_left_to_wait(
    database_url: str, tmp_path: Path
) -> None:
    """REDISPATCH_AFTER_S spaces out dispatches of jobs that may still be waiting their turn;
    it must not delay the reclaim of a lease whose runner died after claiming the job."""
    settings = make_settings(
        database_url,
        tmp_path,
        lease_s=LEASE_S,
        lease_renew_s=0.25,
        reconcile_interval_s=0,
        redispatch_after_s=60,
    )
    async with api_for(settings) as api:
        ctx = _ctx(api)
        file_id = await _completed_then_pending(api, tiny_gpx(30, seed="sweep"))

        async def swept() -> bool:
            return file_id in {job.gpx_file_id for job in await machine.stranded(ctx)}

        assert not await swept()  # pending, dispatched at its upload: may wait in a queue
        held = await machine.claim(ctx, file_id, worker="dies")
        assert isinstance(held, Claim)
        assert not await swept()  # a live lease
        await asyncio.sleep(LEASE_S + 0.3)
        assert await swept()  # its runner died: taken at once, not after 60 s
        async with ctx.sessions() as session, session.begin():
            await machine.mark_dispatched(session, file_id, mode="celery", task_id="t-1")
        assert not await swept()  # handed out again and not claimed yet: left to wait
