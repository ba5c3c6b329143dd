"""Celery + Redis with real worker processes (prefork) on real PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.conftest import both_stores
from tests.live import Client
from tests.support import sample, tiny_gpx

pytestmark = pytest.mark.slow

BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > the 0.5 MB threshold of these tests
SMALL = "strava-ride-power-hr-cad.gpx"  # 98 KB


@pytest.fixture
def stack(
    pg_database: str,
    redis_db: int,  # noqa: F811
    tmp_path: Path,
    storage_settings: dict[str, str],
) -> Iterator[Stack]:
    value = Stack(tmp_path, pg_database, redis_db, **storage_settings)
    yield value
    value.close()


def _log_events(path: Path, event: str) -> list[dict[str, object]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event:
                out.append(record)
    return out


@both_stores
def test_routes_by_threshold_and_records_worker(stack: Stack) -> None:
    worker = stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)

    big = client.upload(headers, trip, sample(BIG))
    assert big.status_code == 202, big.text
    assert big.json()["processing_mode"] == "celery" and big.json()["task_id"]
    small = client.upload(headers, trip, sample(SMALL))
    assert small.json()["processing_mode"] == "background" and small.json()["task_id"] is None

    done_big = client.wait_done(headers, big.json()["gpx_file_id"])
    done_small = client.wait_done(headers, small.json()["gpx_file_id"])
    assert done_big["processing_status"] == "completed", done_big
    assert done_big["processed_by"].startswith("w1@")
    assert done_big["task_id"] == big.json()["task_id"]
    assert done_big["stats"]["point_count"] == 4592
    assert done_small["processing_status"] == "completed" and done_small["processed_by"] is None
    started = _log_events(worker.log_path, "task_started")
    assert any(
        r.get("gpx_file_id") == big.json()["gpx_file_id"] and r.get("request_id") for r in started
    )


@both_stores
def test_transient_failure_retries_then_completes(stack: Stack) -> None:
    worker = stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    (stack.fault_dir / trip).write_text("2")  # the next two attempts meet a transient error
    r = client.upload(headers, trip, sample(BIG))
    status = client.wait_done(headers, r.json()["gpx_file_id"], timeout=60)
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == 3
    countdowns = [
        float(e["countdown_s"]) for e in _log_events(worker.log_path, "task_retry_scheduled")
    ]  # type: ignore[arg-type]
    assert len(countdowns) == 2
    assert 1.0 <= countdowns[0] <= 1.2 and 2.0 <= countdowns[1] <= 2.2, countdowns


@both_stores
def test_transient_failure_forever_fails_after_three_retries(stack: Stack) -> None:
    worker = stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    (stack.fault_dir / trip).write_text("100")
    r = client.upload(headers, trip, sample(BIG))
    status = client.wait_done(headers, r.json()["gpx_file_id"], timeout=60)
    assert status["processing_status"] == "failed", status
    assert status["attempts"] == 4  # the first try and three retries
    assert status["error_code"] == "GPX_PROCESSING_FAILED"
    assert "intentos" in status["error_message"]
    countdowns = [
        float(e["countdown_s"]) for e in _log_events(worker.log_path, "task_retry_scheduled")
    ]  # type: ignore[arg-type]
    assert [round(c) for c in countdowns] == [1, 2, 4]


@both_stores
def test_invalid_gpx_fails_at_once(stack: Stack) -> None:
    stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    broken = sample(BIG)[:-200_000]  # a truncated export, still above the threshold
    r = client.upload(headers, trip, broken)
    assert r.json()["processing_mode"] == "celery"
    status = client.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed"
    assert status["error_code"] == "GPX_MALFORMED" and status["attempts"] == 1


@both_stores
def test_sigkill_of_pool_process_redelivers_and_completes_once(stack: Stack) -> None:
    worker = stack.start_worker("w1", concurrency=1, processing_delay_s=3)
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample(BIG))
    file_id = r.json()["gpx_file_id"]
    deadline = time.monotonic() + 20
    while client.status(headers, file_id)["processing_status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [pool_pid] = worker.pool_pids()
    os.kill(pool_pid, signal.SIGKILL)
    status = client.wait_done(headers, file_id, timeout=60)
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == 2
    track = client.http.get(f"/gpx/{file_id}/track", headers=headers).json()
    assert track["properties"]["point_count"] == status["stats"]["simplified_point_count"]
    reference = _single_run_count(stack, client, headers)
    assert track["properties"]["point_count"] == reference


def _single_run_count(stack: Stack, client: Client, headers: dict[str, str]) -> int:
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample(BIG))
    done = client.wait_done(headers, r.json()["gpx_file_id"], timeout=60)
    assert done["attempts"] == 1
    return int(done["stats"]["simplified_point_count"])


@both_stores
def test_redis_down_falls_back_in_process_quickly(stack: Stack) -> None:
    client = stack.start_api(redis_url="redis://127.0.0.1:1/0", redis_connect_timeout_s=0.5)
    headers = client.signup()
    trip = client.trip(headers)
    for name in (BIG, "movescount-viking-gpx10-two-overlapping-tracks.gpx"):
        started = time.monotonic()
        r = client.upload(headers, trip, sample(name))
        elapsed = time.monotonic() - started
        assert r.status_code == 202, r.text
        assert r.json()["processing_mode"] == "background"
        assert elapsed < 5, elapsed  # bounded: connect timeout, no publish retries, then breaker
        status = client.wait_done(headers, r.json()["gpx_file_id"])
        assert status["processing_status"] == "completed"
    assert stack.api is not None
    assert "celery_unavailable_fallback_in_process" in stack.api.output()


@both_stores
def test_scale_out_and_in_loses_nothing(stack: Stack) -> None:
    w1 = stack.start_worker("w1", processing_delay_s=0.3)
    w2 = stack.start_worker("w2", processing_delay_s=0.3)
    client = stack.start_api(celery_force="true")
    headers = client.signup()
    trip = client.trip(headers)
    ids = [
        client.upload(headers, trip, tiny_gpx(seed=str(i))).json()["gpx_file_id"] for i in range(20)
    ]
    deadline = time.monotonic() + 30
    while sum(client.status(headers, i)["processing_status"] == "completed" for i in ids) < 6:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    w1.stop()  # warm shutdown: finishes its task, leaves the rest in the queue
    stack.start_worker("w3", processing_delay_s=0.3)  # ready before the next wave arrives
    more = [
        client.upload(headers, trip, tiny_gpx(seed=f"b{i}")).json()["gpx_file_id"]
        for i in range(10)
    ]
    done = [client.wait_done(headers, i, timeout=60) for i in ids + more]
    assert all(d["processing_status"] == "completed" for d in done)
    # Delivery is at-least-once: on a loaded machine a warm shutdown may hand back a message
    # that had been reserved. What must hold is one result per file, whoever ran it.
    attempts = [d["attempts"] for d in done]
    assert sum(a == 1 for a in attempts) >= 28 and max(attempts) <= 2, attempts
    for d in done:
        track = client.http.get(f"/gpx/{d['gpx_file_id']}/track", headers=headers).json()
        assert track["properties"]["point_count"] == d["stats"]["simplified_point_count"]
    by_worker: dict[str, int] = {}
    for d in done:
        by_worker[d["processed_by"].split("@")[0]] = (
            by_worker.get(d["processed_by"].split("@")[0], 0) + 1
        )
    assert by_worker.get("w1", 0) > 0 and by_worker.get("w2", 0) > 0, by_worker
    assert by_worker.get("w3", 0) > 0, by_worker
    assert sum(by_worker.values()) == 30
    assert w2.proc.poll() is None


@both_stores
def test_pickle_message_is_refused(stack: Stack) -> None:
    import pickle

    from kombu import Connection

    worker = stack.start_worker("w1")
    with Connection(stack.env["REDIS_URL"]) as conn:
        producer = conn.Producer()
        payload = pickle.dumps(((), {}, {}))
        producer.publish(
            payload,
            routing_key=stack.queue,
            exchange="",
            content_type="application/x-python-serialize",
            content_encoding="binary",
            headers={"task": "gpx.process", "id": "pickle-attack", "args": "()", "kwargs": "{}"},
        )
    deadline = time.monotonic() + 15
    while "pickle" not in worker.output().lower():
        assert time.monotonic() < deadline, worker.output()[-2000:]
        time.sleep(0.1)
    assert worker.proc.poll() is None
    client = stack.start_api(celery_force="true")
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, tiny_gpx(seed="after-pickle"))
    assert client.wait_done(headers, r.json()["gpx_file_id"])["processing_status"] == "completed"


@both_stores
def test_lost_message_is_reenqueued_by_the_reconciler(stack: Stack) -> None:
    import subprocess

    import redis

    from tests.live import BIN

    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample(BIG))
    assert r.json()["processing_mode"] == "celery"
    redis.Redis.from_url(stack.env["REDIS_URL"]).delete(stack.queue)  # the message is lost
    worker = stack.start_worker("w1")
    time.sleep(1)
    assert client.status(headers, r.json()["gpx_file_id"])["processing_status"] == "pending"
    out = subprocess.run(
        [str(BIN / "contravento"), "reconcile"],
        env={**stack.env, "REDISPATCH_AFTER_S": "0.5"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Trabajos reprogramados: 1" in out.stdout, out.stdout + out.stderr
    status = client.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed" and status["processed_by"].startswith("w1@")
    assert status["task_id"] == r.json()["task_id"]  # the same task, published again
    assert worker.proc.poll() is None


@both_stores
def test_soft_time_limit_marks_the_job_failed(stack: Stack) -> None:
    stack.start_worker("w1", processing_delay_s=4, task_soft_time_limit_s=1, task_time_limit_s=10)
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, sample(BIG))
    status = client.wait_done(headers, r.json()["gpx_file_id"], timeout=30)
    assert status["processing_status"] == "failed", status
    assert status["error_code"] == "GPX_PROCESSING_TIMEOUT"
    assert "tardó demasiado" in status["error_message"]


@both_stores
def test_unexpected_error_fails_at_once_and_never_loops(stack: Stack) -> None:
    worker = stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    (stack.fault_dir / trip).write_text("crash")
    r = client.upload(headers, trip, sample(BIG))
    status = client.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed", status
    assert status["error_code"] == "GPX_PROCESSING_ERROR" and status["attempts"] == 1
    assert "error interno" in status["error_message"]
    assert "task_retry_scheduled" not in worker.output()


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _autogroup_nice(pid: int) -> int | None:
    path = Path(f"/proc/{pid}/autogroup")
    return int(path.read_text().split()[-1]) if path.exists() else None


def test_workers_give_way_to_the_api_for_the_cpu(stack: Stack) -> None:
    """WORKER_NICE (default 10): the worker and its pool processes run at a lower priority than
    the API, and the worker's own session (tests start it with setsid) is weighed down too."""
    inherited = os.getpriority(os.PRIO_PROCESS, 0)
    default = stack.start_worker("w1")
    kept = stack.start_worker("w2", worker_nice=0)
    stack.start_api()
    assert stack.api is not None and _nice(stack.api.pid) == inherited
    for pid in [default.pid, *default.pool_pids()]:
        assert _nice(pid) == max(10, inherited), pid
    assert _autogroup_nice(default.pid) in (None, max(10, inherited))
    for pid in [kept.pid, *kept.pool_pids()]:
        assert _nice(pid) == inherited, pid
