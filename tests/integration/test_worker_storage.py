"""A worker that meets a transient S3 failure retries the job, as any transient error."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from tests.forwarder import Forwarder
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.live import free_port
from tests.s3_server import S3Server
from tests.support import sample

BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > the 0.5 MB threshold of the stack


def test_s3_unreachable_from_the_worker_is_retried_then_completes(
    pg_database: str,
    redis_db: int,  # noqa: F811
    tmp_path: Path,
    s3_server: S3Server,
) -> None:
    bucket = s3_server.create_bucket(f"cv-{uuid.uuid4().hex[:20]}")
    stack = Stack(
        tmp_path, pg_database, redis_db, storage_backend="s3", s3_bucket=bucket,
        s3_endpoint_url=s3_server.url,
    )  # fmt: skip
    path = free_port()  # the worker's way to the store: nothing listens there yet
    relay: Forwarder | None = None
    try:
        worker = stack.start_worker(
            "w1", s3_endpoint_url=f"http://127.0.0.1:{path}", s3_max_attempts=1
        )
        client = stack.start_api()
        headers = client.signup()
        r = client.upload(headers, client.trip(headers), sample(BIG))
        assert r.json()["processing_mode"] == "celery", r.text
        deadline = time.monotonic() + 30
        while '"task_retry_scheduled"' not in worker.output():
            assert time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.1)
        relay = Forwarder(("127.0.0.1", path), ("127.0.0.1", s3_server.port))  # the store is back
        status = client.wait_done(headers, r.json()["gpx_file_id"], timeout=60)
        assert status["processing_status"] == "completed", status
        assert status["attempts"] >= 2 and status["processed_by"].startswith("w1@")
        errors = [
            json.loads(line).get("error", "")
            for line in worker.output().splitlines()
            if '"task_retry_scheduled"' in line
        ]
        assert errors and all("S3 GetObject" in e for e in errors), errors
    finally:
        if relay is not None:
            relay.close()
        stack.close()
