"""The list KEDA counts is the list the app publishes to.

Renders every overlay, publishes one task through the app's real CeleryPublisher (a separate
process, REDIS_URL pointing at the database the rendered worker pods use; no worker runs) and
reads LLEN on exactly the list and database the overlay's ScaledObject names: 1.
A private redis-server on a free loopback port (the same binary as the shared one) holds the
data, so database 0 of the shared Redis, which other stacks use, is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.k8s import OVERLAYS, env, main_container, one, redis_endpoints, render
from tests.support import unavailable

PUBLISH = """
import asyncio, sys
from contravento.config import get_settings
from contravento.worker.app import app
from contravento.worker.publisher import CeleryPublisher

publisher = CeleryPublisher(app, get_settings())
ok = asyncio.run(publisher.publish(
    gpx_file_id=sys.argv[1], trip_id=sys.argv[2], request_id="keda-test", task_id=sys.argv[3]
))
sys.exit(0 if ok else 1)
"""


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", FileNotFoundError("redis-server"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError as exc:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                unavailable("a private redis-server", exc)
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def _scaled_lists() -> set[tuple[int, str, int]]:
    """(database the pods publish to, list KEDA reads, database KEDA reads) of each overlay."""
    found = set()
    for overlay in OVERLAYS:
        objects = render(overlay)
        [trigger] = one(objects, "ScaledObject", "contravento-worker")["spec"]["triggers"]
        worker = main_container(one(objects, "Deployment", "contravento-worker"))
        _hosts, pod_database = redis_endpoints(env(worker)["REDIS_URL"]["value"])
        meta = trigger["metadata"]
        found.add((pod_database, meta["listName"], int(meta["databaseIndex"])))
    return found


@pytest.mark.redis
def test_a_published_task_is_one_more_in_the_list_keda_reads(
    redis_port: int, tmp_path: Path
) -> None:
    lists = _scaled_lists()
    assert lists == {(0, "gpx", 0)}  # both overlays: the default queue in database 0
    for pod_database, list_name, database in sorted(lists):
        _publish_and_count(redis_port, pod_database, list_name, database, tmp_path)


def _publish_and_count(
    redis_port: int, pod_database: int, list_name: str, database: int, tmp_path: Path
) -> None:
    client = redis.Redis(port=redis_port, db=database)
    client.flushall()
    app_env = {
        **os.environ,
        "APP_ENV": "development",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/{pod_database}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    app_env.pop("CELERY_QUEUE", None)  # the app's default, as in every overlay's ConfigMap
    done = subprocess.run(
        [sys.executable, "-c", PUBLISH, "file-1", "trip-1", "task-1"],
        env=app_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    assert client.llen(list_name) == 1
    message = json.loads(client.lindex(list_name, 0))  # type: ignore[arg-type]
    assert message["headers"]["task"] == "gpx.process"
    assert message["headers"]["id"] == "task-1"
    for other in range(16):  # nowhere else
        if other != database:
            assert redis.Redis(port=redis_port, db=other).dbsize() == 0, other
    client.flushall()
