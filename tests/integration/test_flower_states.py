"""What Flower shows is what the row says: FAILURE with the code and message for a file that can
never be processed, RETRY for a transient error, FAILURE once the retries are used up.

Real Flower (`contravento flower`), a real worker and API on the real Redis and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.test_flower import AUTH, _poll, _start_flower, _wait_flower
from tests.live import Client
from tests.support import sample

pytestmark = pytest.mark.slow

BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > the 0.5 MB threshold of the stack
RETRY_BASE_S = 2  # the RETRY state lasts this long: long enough to be seen, short for the run


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, pg_database, redis_db, retry_base_s=RETRY_BASE_S, max_attempts=2)
    yield value
    value.close()


def _task(url: str, task_id: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/task/info/{task_id}", auth=AUTH, timeout=5)
    return r.json() if r.status_code == 200 else {}


def _row(client: Client, headers: dict[str, str], file_id: str) -> dict[str, Any]:
    return client.status(headers, file_id)


def test_flower_states_match_the_rows(stack: Stack) -> None:
    flower, url = _start_flower(stack)
    try:
        stack.start_worker("sw1", concurrency=2)
        client = stack.start_api()
        _wait_flower(flower, url)
        headers = client.signup()

        # a file that can never be processed: failed at once, FAILURE with its code and message
        broken_trip = client.trip(headers)
        broken = client.upload(headers, broken_trip, sample(BIG)[:-200_000]).json()
        # a transient error once: RETRY while the row waits for its next attempt, then SUCCESS
        flaky_trip = client.trip(headers)
        (stack.fault_dir / flaky_trip).write_text("1")
        flaky = client.upload(headers, flaky_trip, sample(BIG)).json()
        # transient for ever: the retries run out, FAILURE with GPX_PROCESSING_FAILED
        doomed_trip = client.trip(headers)
        (stack.fault_dir / doomed_trip).write_text("100")
        doomed = client.upload(headers, doomed_trip, sample(BIG)).json()
        for body in (broken, flaky, doomed):
            assert body["processing_mode"] == "celery" and body["task_id"], body

        # the retry event reaches Flower (RETRY, with the transient error), and RETRY it stays
        # while the row waits for next_attempt_at: no countdown message sits in a worker (the
        # reconciler publishes the job again when it is due)
        states = []

        def flaky_task() -> dict[str, Any]:
            task = _task(url, flaky["task_id"])
            states.append(task.get("state"))
            return task

        retrying = _poll(flaky_task, lambda t: t.get("retried") is not None, timeout=20)
        row = _row(client, headers, flaky["gpx_file_id"])
        assert row["processing_status"] == "pending" and row["attempts"] == 1, row
        assert "injected transient fault" in str(retrying.get("exception")), retrying
        assert retrying["state"] == "RETRY", retrying
        time.sleep(RETRY_BASE_S / 2)  # still waiting its turn: still RETRY
        if _row(client, headers, flaky["gpx_file_id"])["processing_status"] == "pending":
            assert _task(url, flaky["task_id"])["state"] == "RETRY"

        failed = _poll(
            lambda: _task(url, broken["task_id"]),
            lambda t: t.get("state") == "FAILURE",
        )
        row = client.wait_done(headers, broken["gpx_file_id"])
        assert row["processing_status"] == "failed" and row["attempts"] == 1, row
        assert row["error_code"] == "GPX_MALFORMED"
        assert failed["exception"].startswith("JobFailedError"), failed
        assert f"{row['error_code']}: {row['error_message']}" in failed["exception"], failed

        done = _poll(
            lambda: _task(url, flaky["task_id"]),
            lambda t: t.get("state") == "SUCCESS",
        )
        assert done["retried"] and done["worker"].startswith("sw1@"), done
        row = client.wait_done(headers, flaky["gpx_file_id"])
        assert row["processing_status"] == "completed" and row["attempts"] == 2, row

        spent = _poll(
            lambda: _task(url, doomed["task_id"]),
            lambda t: t.get("state") == "FAILURE",
        )
        row = client.wait_done(headers, doomed["gpx_file_id"])
        assert row["processing_status"] == "failed" and row["attempts"] == 2, row
        assert row["error_code"] == "GPX_PROCESSING_FAILED"
        assert spent["retried"], spent  # it was a RETRY first
        assert f"GPX_PROCESSING_FAILED: {row['error_message']}" in spent["exception"], spent

        listed = httpx.get(url + "/api/tasks", auth=AUTH, timeout=5).json()
        states = {k: listed[k]["state"] for k in (broken["task_id"], flaky["task_id"])}
        assert states == {broken["task_id"]: "FAILURE", flaky["task_id"]: "SUCCESS"}
    finally:
        flower.kill()
