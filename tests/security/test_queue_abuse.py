"""Queue abuse against a real worker: unknown tasks, missing or deleted files, bad ids."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.support import sample

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, pg_database, redis_db)
    yield value
    value.close()


def _wait_for(worker_output, text: str, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while text not in worker_output():
        assert time.monotonic() < deadline, f"{text!r} not seen:\n{worker_output()[-2000:]}"
        time.sleep(0.1)


def test_worker_drops_bad_messages_and_keeps_working(stack: Stack) -> None:
    worker = stack.start_worker("w1")
    app = Celery(broker=stack.env["REDIS_URL"])
    app.conf.update(task_serializer="json")
    app.send_task("gpx.no_such_task", args=["x"], queue=stack.queue)
    _wait_for(worker.output, "unregistered task")
    app.send_task(
        "gpx.process", args=["00000000-0000-4000-8000-000000000000", None], queue=stack.queue
    )
    _wait_for(worker.output, "job_missing")
    app.send_task("gpx.process", args=["../../etc/passwd", None], queue=stack.queue)
    _wait_for(worker.output, "task_dropped_bad_id")
    assert "task_retry_scheduled" not in worker.output()
    assert worker.proc.poll() is None

    # the worker still processes real work afterwards
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample("osmand-hike-recording-long.gpx"))
    assert client.wait_done(headers, r.json()["gpx_file_id"])["processing_status"] == "completed"


def test_file_deleted_while_queued_is_dropped(stack: Stack) -> None:
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample("osmand-hike-recording-long.gpx"))
    file_id = r.json()["gpx_file_id"]
    assert r.json()["processing_mode"] == "celery"
    assert client.http.delete(f"/gpx/{file_id}", headers=headers).status_code == 204
    worker = stack.start_worker("w1")  # the message is consumed only now
    _wait_for(worker.output, "job_missing")
    assert "task_retry_scheduled" not in worker.output()


def test_missing_original_fails_once_with_spanish_message(stack: Stack) -> None:
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample("osmand-hike-recording-long.gpx"))
    for path in (stack.tmp / "storage").rglob("*.gpx"):
        path.unlink()
    stack.start_worker("w1")
    status = client.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed" and status["attempts"] == 1
    assert (
        status["error_code"] == "GPX_FILE_MISSING" and "Vuelve a subirlo" in status["error_message"]
    )
