"""MAX_PENDING_JOBS_PER_USER holds under concurrency: parallel uploads never exceed it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.integration.celery_stack import queue_only_env, redis_db  # noqa: F401
from tests.live import ApiServer, Client
from tests.support import tiny_gpx

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
    env = queue_only_env(  # no worker listens: every accepted job stays pending
        tmp_path, database_url, redis_db, auto_migrate="false", max_pending_jobs_per_user=LIMIT
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip = client.trip(headers)
        bodies = [tiny_gpx(seed=f"p{i}") for i in range(PARALLEL)]
        for attempt in range(3):  # a few bursts: each on a fresh account, all at once
            with ThreadPoolExecutor(PARALLEL) as pool:
                answers = list(pool.map(partial(_upload, server.url, headers, trip), bodies))
            codes = sorted(r.status_code for r in answers)
            unexpected = [r.text for r in answers if r.status_code not in (202, 429)]
            assert codes == [202] * LIMIT + [429] * (PARALLEL - LIMIT), (
                attempt, codes, unexpected[:2], server.output()[-4000:],
            )  # fmt: skip
            listing = client.http.get(f"/trips/{trip}/gpx", headers=headers).json()
            assert [f["processing_status"] for f in listing] == ["pending"] * LIMIT
            headers = client.signup()
            trip = client.trip(headers)
    finally:
        server.kill()
