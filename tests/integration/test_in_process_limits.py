"""In-process jobs retry on the same schedule as Celery ones and have Celery's time limits.

The API's own runner (services/jobs/dispatch) on SQLite and PostgreSQL, with RETRY_BASE_S
shortened: a transient error sends the row back to `pending` with `next_attempt_at`, a timer
brings it back when due; the attempts run out into GPX_PROCESSING_FAILED. The soft limit fails
the job with GPX_PROCESSING_TIMEOUT; past the hard limit a parse that ignores cancellation is
abandoned and the in-process slot goes to the next upload.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from contravento.db.models import GPXFile
from contravento.services.context import AppContext
from contravento.services.jobs import process
from tests.integration.conftest import Api, api_for, make_settings
from tests.support import tiny_gpx

pytestmark = pytest.mark.slow  # real countdowns and time limits

BASE_S = 0.4
JITTER_S = 0.05


@pytest_asyncio.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    settings = make_settings(
        database_url,
        tmp_path,
        retry_base_s=BASE_S,
        retry_jitter_s=JITTER_S,
        task_soft_time_limit_s=1,
        task_time_limit_s=2,
    )
    async with api_for(settings) as value:
        yield value


def _flaky_read(failures: int, calls: list[float]) -> Any:
    """The first `failures` reads meet a transient error (as a store that is away would)."""
    original = process.read_original

    def read_original(ctx: AppContext, key: str) -> bytes:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise ConnectionError(f"injected transient fault #{len(calls)}")
        return original(ctx, key)

    return read_original


async def _watch(api: Api, file_id: uuid.UUID, seen: list[tuple[str, Any]]) -> None:
    """Record every (status, next_attempt_at) the row goes through."""
    ctx: AppContext = api.app.state.ctx
    while True:
        async with ctx.sessions() as session:
            row = (
                await session.execute(
                    select(GPXFile.processing_status, GPXFile.next_attempt_at).where(
                        GPXFile.id == file_id
                    )
                )
            ).first()
        if row is not None and (not seen or seen[-1] != tuple(row)):
            seen.append(tuple(row))
        await asyncio.sleep(0.02)


async def _upload_and_wait(
    api: Api, data: bytes, timeout: float = 30
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    headers = await api.signup()
    trip = await api.trip(headers)
    upload = asyncio.create_task(api.upload(headers, trip, data))
    ctx: AppContext = api.app.state.ctx
    file_id = None
    while file_id is None:
        await asyncio.sleep(0.01)
        async with ctx.sessions() as session:
            file_id = await session.scalar(
                select(GPXFile.id).where(GPXFile.trip_id == uuid.UUID(trip))
            )
    seen: list[tuple[str, Any]] = []
    watcher = asyncio.create_task(_watch(api, file_id, seen))
    try:
        r = await upload
        assert r.status_code == 202, r.text
        assert r.json()["processing_mode"] == "background"
        status = await api.wait_done(headers, str(file_id), timeout=timeout)
    finally:
        watcher.cancel()
    return status, seen


async def test_transient_failure_is_retried_after_the_countdowns(
    app: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = 2
    calls: list[float] = []
    monkeypatch.setattr(process, "read_original", _flaky_read(failures, calls))
    status, seen = await _upload_and_wait(app, tiny_gpx(60, seed="flaky"))
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == failures + 1 == len(calls)
    assert status["error_code"] is None and status["stats"]["point_count"] == 60
    # each retry waited its countdown: BASE_S * 2**(n-1), jitter on top
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    for n, gap in enumerate(gaps, start=1):
        assert gap >= BASE_S * 2 ** (n - 1), gaps
    # and the row carried each retry: back to pending with its due time, then claimed again
    waiting = [due for state, due in seen if state == "pending" and due is not None]
    assert len(waiting) == failures, seen


async def test_exhausted_retries_end_failed(app: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(process, "read_original", _flaky_read(100, calls))
    status, _ = await _upload_and_wait(app, tiny_gpx(60, seed="always-flaky"))
    assert status["processing_status"] == "failed", status
    assert status["error_code"] == "GPX_PROCESSING_FAILED"
    assert "tras varios intentos" in status["error_message"]
    assert status["attempts"] == app.settings.max_attempts == len(calls) == 4
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    for n, gap in enumerate(gaps, start=1):  # 1, 2, 4 times the base, at least
        assert gap >= BASE_S * 2 ** (n - 1), gaps


async def test_soft_time_limit_fails_the_job_in_spanish(
    app: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = process.read_original

    def slow_read(ctx: AppContext, key: str) -> bytes:
        time.sleep(1.5)  # past the 1 s soft limit
        return original(ctx, key)

    monkeypatch.setattr(process, "read_original", slow_read)
    status, _ = await _upload_and_wait(app, tiny_gpx(60, seed="slow"))
    assert status["processing_status"] == "failed", status
    assert status["error_code"] == "GPX_PROCESSING_TIMEOUT"
    assert status["error_message"] == (
        "El procesamiento del archivo tardó demasiado y se ha cancelado."
    )
    assert status["attempts"] == 1


async def test_hard_time_limit_abandons_a_stuck_parse_and_frees_the_slot(
    app: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.settings.gpx_in_process_concurrency == 1  # one slot: the next job needs it
    release, entered, left = threading.Event(), threading.Event(), threading.Event()
    original = process._run_domain
    stuck_seed = b'creator="teststuck"'

    def run_domain(ctx: AppContext, data: bytes, cancel: threading.Event) -> Any:
        if stuck_seed in data:  # a parse that never looks at `cancel`
            entered.set()
            release.wait(60)
            left.set()
        return original(ctx, data, cancel)

    monkeypatch.setattr(process, "_run_domain", run_domain)
    try:
        stuck, _ = await _upload_and_wait(app, tiny_gpx(60, seed="stuck"))
        assert stuck["processing_status"] == "failed", stuck
        assert stuck["error_code"] == "GPX_PROCESSING_TIMEOUT"
        assert entered.is_set() and not left.is_set()  # its thread is still stuck
        after, _ = await _upload_and_wait(app, tiny_gpx(60, seed="after"))
        assert after["processing_status"] == "completed", after
        assert not left.is_set()  # the slot was freed, not waited for
    finally:
        release.set()
    assert await asyncio.to_thread(left.wait, 10)
