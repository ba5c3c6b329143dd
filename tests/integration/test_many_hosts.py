"""Proof that no host shares a directory: an API and a worker on two "hosts" (network
namespaces of their own, each with its working directory and STORAGE_DIR) share only
PostgreSQL, Redis and the S3 endpoint, and every file is processed and downloaded whole."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.integration.celery_stack import redis_db  # noqa: F401  (fixture)
from tests.live import ApiServer, Client, Worker, service_env
from tests.netns import Host
from tests.s3_server import S3Server, list_keys
from tests.support import REDIS_PORT, sample

pytestmark = pytest.mark.slow
BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > GPX_ASYNC_THRESHOLD_MB=0.5 below
SMALL = "strava-ride-power-hr-cad.gpx"  # 98 KB


@pytest.fixture
def hosts() -> Iterator[tuple[Host, Host]]:
    """Two namespaced hosts; where namespaces cannot be made (not root, no `ip`), two plain
    process groups on this host, said loudly (each keeps its own directory all the same)."""
    tag = uuid.uuid4().hex[:6]
    a, b = random.randrange(16, 250), random.randrange(1, 249)
    made: list[Host] = []
    try:
        for role, third in (("api", b), ("wrk", b + 1)):
            made.append(Host.create(f"cv-{role}-{tag}", f"10.{a}.{third}"))
    except Exception as exc:
        for host in made:
            host.close()
        print(f"no network namespaces ({exc!r}): plain processes on this host instead")
        made = [Host.plain(f"cv-api-{tag}"), Host.plain(f"cv-wrk-{tag}")]
    try:
        yield made[0], made[1]
    finally:
        for host in made:
            host.close()


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_api_and_worker_on_two_hosts_share_only_postgres_redis_and_s3(
    hosts: tuple[Host, Host],
    pg_database: str,
    redis_db: int,  # noqa: F811
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    bucket = s3_server.create_bucket(f"cv-{uuid.uuid4().hex[:20]}")
    queue = f"gpx_hosts_{uuid.uuid4().hex[:8]}"
    database = urlsplit(pg_database)
    pg_port = database.port or 5432
    procs: list[ApiServer | Worker] = []
    try:
        started: dict[str, Path] = {}
        for host, role in zip(hosts, ("api", "worker"), strict=True):
            home = tmp_path / f"{role}-host"  # its checkout: its own cwd and ./var/storage
            home.mkdir()
            started[role] = home
            env = service_env(
                database_url=(
                    f"postgresql+asyncpg://{database.username}@{host.gateway}:"
                    f"{host.expose(pg_port)}{database.path}"
                ),
                redis_url=f"redis://{host.gateway}:{host.expose(REDIS_PORT)}/{redis_db}",
                storage_dir="./var/storage",
                auto_migrate="false",
                celery_enabled="true",
                celery_queue=queue,
                gpx_async_threshold_mb=0.5,
                reconcile_interval_s=0,
                **s3_server.env(
                    bucket, s3_endpoint_url=f"http://{host.gateway}:{host.expose(s3_server.port)}"
                ),
            )
            if role == "worker":
                worker = Worker(env, tmp_path / "worker.log", "far", prefix=host.prefix, cwd=home)
                procs.append(worker)
                worker.wait_ready()
            else:
                api = ApiServer(
                    env, tmp_path / "api.log", host=host.address, prefix=host.prefix, cwd=home
                )
                procs.append(api)

        for host in (h for h in hosts if h.namespaced):  # each has a loopback of its own
            probe = f"import socket; socket.create_connection(('127.0.0.1', {pg_port}), 2)"
            alone = subprocess.run([*host.prefix, sys.executable, "-c", probe], capture_output=True)
            assert alone.returncode != 0, "the namespace reaches the host's loopback"

        client = Client(api.url)
        headers = client.signup()
        trip = client.trip(headers)
        big, small = sample(BIG), sample(SMALL)
        r_big = client.upload(headers, trip, big, "grande.gpx")
        r_small = client.upload(headers, trip, small, "pequeno.gpx")
        assert r_big.status_code == r_small.status_code == 202, (r_big.text, r_small.text)
        assert r_big.json()["processing_mode"] == "celery"
        assert r_small.json()["processing_mode"] == "background"

        done_big = client.wait_done(headers, r_big.json()["gpx_file_id"], timeout=90)
        done_small = client.wait_done(headers, r_small.json()["gpx_file_id"], timeout=90)
        assert done_big["processing_status"] == "completed", done_big
        assert done_big["processing_mode"] == "celery"
        assert done_big["processed_by"].startswith("far@"), done_big  # the other host's worker
        assert done_small["processing_status"] == "completed", done_small
        assert done_small["processed_by"] is None  # in the API's process

        for done, data in ((done_big, big), (done_small, small)):
            got = client.http.get(f"/gpx/{done['gpx_file_id']}/download", headers=headers)
            assert got.status_code == 200
            assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()

        keys = list_keys(s3_server.client(), bucket)
        assert sorted(k.rsplit("/", 1)[-1] for k in keys) == sorted(
            f"{d['gpx_file_id']}.gpx" for d in (done_big, done_small)
        )
        assert all(k.startswith("gpx_files/") and f"/{trip}/" in k for k in keys), keys
        for role, home in started.items():  # no original on either local disk
            on_disk = _files(home)
            assert not [p for p in on_disk if p.suffix == ".gpx" or p.name.endswith(".part")]
            for path in on_disk:
                content = path.read_bytes()
                assert big[:4096] not in content and small[:4096] not in content, (role, path)
    finally:
        for proc in procs:
            proc.kill()
