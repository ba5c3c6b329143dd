"""Workers that come and go, and how files are routed to them, with real processes.

CELERY_ROLLOUT_PERCENTAGE (0, 50, 100) on a real worker: the share, and the same route for the
same bytes; worker_max_tasks_per_child replacing a pool process; the README's `contravento
worker` started twice gives two distinct nodes; SIGTERM lets the running task finish; a
SIGKILLed worker's job is finished by another within about LEASE_S + RECONCILE_INTERVAL_S.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contravento.services.jobs.dispatch import rollout_bucket
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.live import BIN, Client, Proc, Worker
from tests.support import tiny_gpx

pytestmark = pytest.mark.slow

LARGE_POINTS = 200  # ~22 KB, above the 0.01 MB threshold of these tests
SMALL_POINTS = 30  # ~3 KB, below it


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(
        tmp_path,
        pg_database,
        redis_db,
        gpx_async_threshold_mb=0.01,
        max_pending_jobs_per_user=1000,
        reconcile_interval_s=1,
        redispatch_after_s=3,
    )
    yield value
    value.close()


def _restart_api(stack: Stack, **overrides: object) -> Client:
    if stack.api is not None:
        stack.api.kill()
    return stack.start_api(**overrides)


def _wait_status(
    client: Client, headers: dict[str, str], file_id: str, want: str, timeout: float = 20
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.status(headers, file_id)
        if body["processing_status"] == want:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_rollout_percentage_routes_a_stable_share_to_celery(stack: Stack) -> None:
    stack.start_worker("rw1", concurrency=2)
    files = [tiny_gpx(LARGE_POINTS, seed=f"rollout-{i}") for i in range(24)]
    buckets = [rollout_bucket(hashlib.sha256(data).hexdigest()) for data in files]
    routes: dict[int, list[str]] = {}
    for percentage in (0, 100, 50):
        client = _restart_api(stack, celery_rollout_percentage=percentage)
        headers = client.signup()
        trip = client.trip(headers)
        small = client.upload(headers, trip, tiny_gpx(SMALL_POINTS, seed=f"small-{percentage}"))
        assert small.json()["processing_mode"] == "background"  # below the threshold, always
        sent = [client.upload(headers, trip, data).json() for data in files]
        routes[percentage] = [s["processing_mode"] for s in sent]
        # the same bytes in another trip: a new job, the same route (by content hash)
        again_trip = client.trip(headers)
        again = [client.upload(headers, again_trip, data).json() for data in files[:8]]
        assert [a["processing_mode"] for a in again] == routes[percentage][:8]
        for body in [*sent, *again, small.json()]:
            done = client.wait_done(headers, body["gpx_file_id"], timeout=60)
            assert done["processing_status"] == "completed", done
            if body["processing_mode"] == "celery":
                assert str(done["processed_by"]).startswith("rw1@"), done
            else:
                assert done["processed_by"] is None, done
    assert routes[0] == ["background"] * len(files)
    assert routes[100] == ["celery"] * len(files)
    expected = ["celery" if b < 50 else "background" for b in buckets]
    assert routes[50] == expected
    share = routes[50].count("celery") / len(files)
    print(f"\nrollout 50%: {routes[50].count('celery')}/{len(files)} files to Celery")
    assert 0.25 <= share <= 0.75, share  # roughly half (these 24 hashes give a fixed share)


def test_max_tasks_per_child_replaces_the_pool_process(stack: Stack) -> None:
    env = dict(stack.env)
    worker = Worker(env, stack.tmp / "mw1.log", "mw1", 1, extra=("--max-tasks-per-child=1",))
    stack.workers.append(worker)
    worker.wait_ready()
    client = stack.start_api(celery_force="true")
    headers = client.signup()
    trip = client.trip(headers)
    pids = [_one_pool_pid(worker)]
    for i in range(2):
        r = client.upload(headers, trip, tiny_gpx(SMALL_POINTS, seed=f"child-{i}"))
        assert r.json()["processing_mode"] == "celery"
        done = client.wait_done(headers, r.json()["gpx_file_id"], timeout=30)
        assert done["processing_status"] == "completed" and done["attempts"] == 1, done
        pids.append(_next_pool_pid(worker, pids[-1]))
    assert len(set(pids)) == 3, pids  # a fresh pool process after each task
    assert worker.proc.poll() is None


def _one_pool_pid(worker: Worker) -> int:
    deadline = time.monotonic() + 10
    while True:
        pids = worker.pool_pids()
        if len(pids) == 1:
            return pids[0]
        assert time.monotonic() < deadline, pids
        time.sleep(0.05)


def _next_pool_pid(worker: Worker, old: int) -> int:
    deadline = time.monotonic() + 15
    while True:
        pids = worker.pool_pids()
        if len(pids) == 1 and pids[0] != old:
            return pids[0]
        assert time.monotonic() < deadline, (old, pids)
        time.sleep(0.05)


def test_two_workers_from_the_readme_commands_have_distinct_names(stack: Stack) -> None:
    # `make worker` runs `contravento worker`: twice on one host, as `make run` + `make worker`
    procs = [
        Proc([str(BIN / "contravento"), "worker", "-c", "1"], stack.env, stack.tmp / f"cw{i}.log")
        for i in range(2)
    ]
    try:
        for proc in procs:
            deadline = time.monotonic() + 30
            while " ready." not in proc.output():
                assert proc.proc.poll() is None, proc.output()[-3000:]
                assert time.monotonic() < deadline, proc.output()[-3000:]
                time.sleep(0.1)
        # the nodes that answer Celery's broadcast and consume this test's queue
        inspect = subprocess.run(
            [str(BIN / "celery"), "-A", "contravento.worker.app", "inspect", "active_queues",
             "-t", "3", "-j"],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        replies = json.loads(inspect.stdout or "{}")
        names = {n for n, qs in replies.items() if any(q["name"] == stack.queue for q in qs)}
        assert len(names) == 2, inspect.stdout + inspect.stderr
        assert all(re.fullmatch(r"contravento-\d+-[0-9a-f]{6}@.+", n) for n in names), names
        client = stack.start_api(celery_force="true")
        ready = client.http.get("/ready").json()
        assert ready["checks"]["workers"]["alive"] == 2, ready
        if "names" in ready["checks"]["workers"]:
            assert set(ready["checks"]["workers"]["names"]) == names
        headers = client.signup()
        trip = client.trip(headers)
        sent = [
            client.upload(headers, trip, tiny_gpx(SMALL_POINTS, seed=f"readme-{i}")).json()
            for i in range(6)
        ]
        by = {str(client.wait_done(headers, s["gpx_file_id"])["processed_by"]) for s in sent}
        assert by <= names, (by, names)
        for proc in procs:
            assert "DuplicateNodenameWarning" not in proc.output()
    finally:
        for proc in procs:
            proc.stop(timeout=20)


def test_sigterm_lets_the_running_task_finish_then_the_worker_exits(stack: Stack) -> None:
    worker = stack.start_worker("tw1", processing_delay_s=3)
    client = stack.start_api(celery_force="true")
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, tiny_gpx(SMALL_POINTS, seed="sigterm"))
    file_id = r.json()["gpx_file_id"]
    _wait_status(client, headers, file_id, "processing")
    worker.proc.send_signal(signal.SIGTERM)  # a deploy or a scale-in: warm shutdown
    code = worker.proc.wait(timeout=30)
    status = client.status(headers, file_id)
    assert status["processing_status"] == "completed", (status, worker.output()[-2000:])
    assert status["attempts"] == 1 and str(status["processed_by"]).startswith("tw1@")
    assert code == 0, worker.output()[-2000:]


def test_sigkilled_workers_job_is_finished_by_another_within_the_lease(stack: Stack) -> None:
    doomed = stack.start_worker("kw1", processing_delay_s=30)
    # an expired lease is taken at once: REDISPATCH_AFTER_S (for messages presumed lost) is
    # far longer here, so it cannot be what brings the job back
    client = stack.start_api(celery_force="true", redispatch_after_s=120)
    headers = client.signup()
    trip = client.trip(headers)
    r = client.upload(headers, trip, tiny_gpx(SMALL_POINTS, seed="sigkill"))
    file_id = r.json()["gpx_file_id"]
    running = _wait_status(client, headers, file_id, "processing")
    assert str(running["processed_by"]).startswith("kw1@")
    stack.start_worker("kw2")  # the survivor, ready before the kill
    killed_at = time.monotonic()
    doomed.kill()  # SIGKILL of the whole worker: main process and pool
    status = client.wait_done(headers, file_id, timeout=60)
    recovered_s = time.monotonic() - killed_at
    lease_s, interval_s = float(stack.env["LEASE_S"]), float(stack.env["RECONCILE_INTERVAL_S"])
    print(
        f"\nworker SIGKILL -> its job completed by another worker in {recovered_s:.1f} s "
        f"(LEASE_S={lease_s:g}, RECONCILE_INTERVAL_S={interval_s:g})"
    )
    assert status["processing_status"] == "completed", status
    assert status["attempts"] == 2 and str(status["processed_by"]).startswith("kw2@"), status
    assert recovered_s < 60  # the target; the figure itself is printed above
