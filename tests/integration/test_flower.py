"""Flower for real: `contravento flower` against the real Redis, a real worker and a real task."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.live import BIN, Proc, free_port
from tests.support import sample

pytestmark = pytest.mark.slow

BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > the 0.5 MB threshold of the stack
AUTH = ("ops", "s3cret-flower")


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, pg_database, redis_db)
    yield value
    value.close()


def _start_flower(stack: Stack) -> tuple[Proc, str]:
    port = free_port()
    env = dict(stack.env)
    env.update(
        FLOWER_PORT=str(port),
        FLOWER_BASIC_AUTH=":".join(AUTH),
        FLOWER_COOKIE_SECRET="x" * 40,
    )
    proc = Proc([str(BIN / "contravento"), "flower"], env, stack.tmp / "flower.log")
    return proc, f"http://127.0.0.1:{port}"


def _wait_flower(proc: Proc, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.proc.poll() is None, proc.output()[-3000:]
        try:
            if httpx.get(url + "/healthcheck", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"Flower not up:\n{proc.output()[-3000:]}")


def _poll(fetch: Any, ok: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.25)


def test_flower_shows_the_task_and_the_worker_behind_basic_auth(stack: Stack) -> None:
    flower, url = _start_flower(stack)  # starts while the worker and the API start
    try:
        stack.start_worker("fw1")
        client = stack.start_api()
        _wait_flower(flower, url)  # before the upload, so it sees every event of the task
        headers = client.signup()
        trip = client.trip(headers)
        r = client.upload(headers, trip, sample(BIG))
        assert r.json()["processing_mode"] == "celery", r.text
        file_id, task_id = r.json()["gpx_file_id"], r.json()["task_id"]
        assert client.wait_done(headers, file_id)["processing_status"] == "completed"

        assert httpx.get(url + "/api/tasks", timeout=5).status_code == 401
        assert httpx.get(url + "/api/workers", timeout=5).status_code == 401
        assert httpx.get(url + "/api/tasks", auth=("ops", "wrong"), timeout=5).status_code == 401
        assert httpx.get(url + "/", timeout=5).status_code == 401
        # unauthenticated by design (docs/operations.md): keep 5555 off the public network
        assert httpx.get(url + "/healthcheck", timeout=5).status_code == 200
        assert httpx.get(url + "/metrics", timeout=5).status_code == 200

        tasks = _poll(
            lambda: httpx.get(url + "/api/tasks", auth=AUTH, timeout=5).json(),
            lambda body: body.get(task_id, {}).get("state") == "SUCCESS",
        )
        task = tasks[task_id]
        assert task["name"] == "gpx.process"
        assert file_id in task["args"]
        assert task["worker"].startswith("fw1@")
        assert task["runtime"] and task["runtime"] > 0

        workers = _poll(
            lambda: httpx.get(
                url + "/api/workers", params={"refresh": 1}, auth=AUTH, timeout=10
            ).json(),
            lambda body: any(name.startswith("fw1@") for name in body),
        )
        [info] = [i for n, i in workers.items() if n.startswith("fw1@")]
        assert info["stats"]["pool"]["max-concurrency"] == 1
        assert info["stats"]["total"].get("gpx.process", 0) >= 1
        assert any(q["name"] == stack.queue for q in info["active_queues"])
    finally:
        flower.kill()


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than 127.x (None when it has none)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout
    return next((a for a in out.split() if "." in a and not a.startswith("127.")), None)


def test_flower_without_login_warns_and_listens_on_loopback_only(stack: Stack) -> None:
    port = free_port()
    env = dict(stack.env, FLOWER_PORT=str(port), FLOWER_BASIC_AUTH="", FLOWER_AUTH_PROVIDER="")
    env["APP_ENV"] = "development"
    flower = Proc([str(BIN / "contravento"), "flower"], env, stack.tmp / "flower-open.log")
    try:
        _wait_flower(flower, f"http://127.0.0.1:{port}")
        assert "WITHOUT A LOGIN" in flower.output()
        # no login: the UI is open, which is why it must stay on this machine
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        other = _non_loopback_address()
        if other is not None:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((other, port)) != 0, f"Flower answers on {other}:{port}"
    finally:
        flower.kill()


def test_flower_without_login_refuses_a_public_address(stack: Stack) -> None:
    port = free_port()
    env = dict(stack.env, FLOWER_PORT=str(port), FLOWER_ADDRESS="0.0.0.0", FLOWER_BASIC_AUTH="")
    env["APP_ENV"] = "development"
    done = subprocess.run(
        [str(BIN / "contravento"), "flower"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "FLOWER_ADDRESS=0.0.0.0" in done.stderr and "127.0.0.1" in done.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing was started
