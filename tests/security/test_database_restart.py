"""PostgreSQL restarted while a worker is processing: the job retries and completes.

This stops and starts the machine's real PostgreSQL cluster for a few seconds, so it runs
only where the test may manage it (CI, or RUN_PG_RESTART=1).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.support import IN_CI, sample

pytestmark = pytest.mark.slow


def _cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pg_up() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    if (
        not (IN_CI or os.environ.get("RUN_PG_RESTART") == "1")
        or not Path("/etc/postgresql").is_dir()
    ):
        pytest.skip("restarts the shared PostgreSQL: runs under CI=true or RUN_PG_RESTART=1")
    # retries after 2, 4 and 8 s: 14 s for PostgreSQL to come back, even on a slow machine
    value = Stack(tmp_path, pg_database, redis_db, retry_base_s=2)
    yield value
    value.close()
    if not _pg_up():
        _cluster("start")


def test_postgres_restart_mid_job_retries_and_completes(stack: Stack) -> None:
    stack.start_worker("w1", processing_delay_s=2)
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample("osmand-hike-recording-long.gpx"))
    file_id = r.json()["gpx_file_id"]
    deadline = time.monotonic() + 20
    while client.status(headers, file_id)["processing_status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _cluster("stop")
    try:
        during = client.http.get(f"/gpx/{file_id}/status", headers=headers)
        assert during.status_code == 503, during.text  # not a 500: a clear, retryable answer
        assert during.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        time.sleep(2.5)  # the worker's write fails while the database is down
    finally:
        _cluster("start")
        deadline = time.monotonic() + 30
        while not _pg_up() and time.monotonic() < deadline:
            time.sleep(0.2)
    deadline = time.monotonic() + 60
    while True:
        try:
            status = client.status(headers, file_id)
        except (AssertionError, httpx.HTTPError):
            status = {"processing_status": "unknown"}
        if status["processing_status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["processing_status"] == "completed", status
    assert status["attempts"] >= 2
    assert stack.workers[0].proc.poll() is None
    assert "task_retry_scheduled" in stack.workers[0].output()
