"""Bulk imports with real Celery workers (prefork) on PostgreSQL and Redis: a large archive's
job runs in a worker, which publishes each member's job to the queue; every worker shares
them. A zip bomb is refused there as in-process."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import archives
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.test_imports import by_name, upload_zip, wait_import

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(
        tmp_path, pg_database, redis_db, gpx_async_threshold_mb=0.01, max_pending_jobs_per_user=1000
    )
    yield value
    value.close()


def test_an_export_expanded_by_a_worker_spreads_its_members_over_the_workers(
    stack: Stack,
) -> None:
    stack.start_worker("iw1")
    stack.start_worker("iw2")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    data, expected = archives.strava_export()
    sent = upload_zip(client, headers, trip, data)
    assert sent["processing_mode"] == "celery" and sent["task_id"]
    report = wait_import(client, headers, sent["import_id"], timeout=90)
    assert report["status"] == "completed", report
    archive_job = client.status(headers, sent["import_id"])
    assert str(archive_job["processed_by"]).startswith(("iw1@", "iw2@")), archive_job
    created = by_name(report["created"])
    assert set(created) == {n for n, want in expected.items() if want == "created"}
    assert {s["name"] for s in report["skipped"]} == {
        n for n, want in expected.items() if want != "created"
    }
    workers = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, item in created.items():
            done = client.wait_done(headers, item["gpx_file_id"], timeout=90)
            assert done["processing_mode"] == "celery" and done["task_id"], done
            workers.add(str(done["processed_by"]).split("@")[0])
            if not name.endswith(".fit"):
                assert done["processing_status"] == "completed", done
            got = client.http.get(f"/gpx/{item['gpx_file_id']}/download", headers=headers)
            assert got.content == archive.read(name)
    assert workers <= {"iw1", "iw2"} and workers, workers
    print(f"\nmembers processed by: {sorted(workers)}")


def test_a_zip_bomb_is_refused_in_the_worker(stack: Stack) -> None:
    stack.start_worker("iw1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    sent = upload_zip(client, headers, trip, archives.zip_bomb(40))
    assert sent["processing_mode"] == "celery"
    report = wait_import(client, headers, sent["import_id"], timeout=60)
    assert report["status"] == "completed", report
    assert [s["reason_code"] for s in report["skipped"]] == ["MEMBER_SUSPICIOUS_RATIO"]
    real = client.wait_done(headers, report["created"][0]["gpx_file_id"], timeout=60)
    assert real["processing_status"] == "completed" and real["processing_mode"] == "celery"
