"""MAX_PENDING_JOBS_PER_USER holds under concurrency: parallel uploads never exceed it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.integration.celery_stack import redis_db  # noqa: F401  (fixture)
from tests.live import ApiServer, Client, service_env
from tests.support import REDIS_HOST, REDIS_PORT, tiny_gpx

pytestmark = pytest.mark.slow
LIMIT = 3
PARALLEL = 16


def _upload(url: str, headers: dict[str, str], trip: str, body: bytes) -> httpx.Response:
    return Client(url).upload(headers, trip, body)  # a connection of its own


def test_parallel_uploads_never_exceed_the_pending_limit(
    database_url: str,
    redis_db: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = service_env(
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        auto_migrate="false",
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        celery_enabled="true",
        celery_force="true",  # no worker listens: every accepted job stays pending
        celery_queue=f"gpx_limit_{uuid.uuid4().hex[:8]}",
        max_pending_jobs_per_user=LIMIT,
        log_level="WARNING",
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip = client.trip(headers)
        bodies = [tiny_gpx(seed=f"p{i}") for i in range(PARALLEL)]
        for attempt in range(3):  # a few bursts: each on a fresh account, all at once
            with ThreadPoolExecutor(PARALLEL) as pool:
                codes = sorted(
                    r.status_code
                    for r in pool.map(partial(_upload, server.url, headers, trip), bodies)
                )
            assert codes == [202] * LIMIT + [429] * (PARALLEL - LIMIT), (attempt, codes)
            listing = client.http.get(f"/trips/{trip}/gpx", headers=headers).json()
            assert [f["processing_status"] for f in listing] == ["pending"] * LIMIT
            headers = client.signup()
            trip = client.trip(headers)
    finally:
        server.kill()
