"""FIT uploads end to end: real HTTP API, a real Celery worker process, PostgreSQL, Redis.

A normal ride (its device block beside our figures), an indoor ride (completed, no points,
the device's distance/time/power, `indoor: true`), a non-activity file (failed at once with
FIT_NOT_AN_ACTIVITY) and a truncated file (completed with FIT_TRUNCATED in the status).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

FIT_DIR = Path(__file__).resolve().parents[1] / "data" / "fit"


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, pg_database, redis_db, gpx_async_threshold_mb=0)
    yield value
    value.close()


def test_fit_files_through_http_and_a_worker(stack: Stack) -> None:
    worker = stack.start_worker("fw1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    sent = {}
    for name in (
        "Edge810-Vector-2013-08-16-15-35-10.fit",
        "sample-activity-indoor-trainer.fit",
        "WorkoutRepeatSteps.fit",
        "activity-unexpected-eof.fit",
    ):
        r = client.upload(headers, trip, (FIT_DIR / name).read_bytes(), name="ride.gpx")
        assert r.status_code == 202, r.text
        assert r.json()["processing_mode"] == "celery"
        sent[name] = r.json()["gpx_file_id"]
    done = {name: client.wait_done(headers, fid) for name, fid in sent.items()}

    ride = done["Edge810-Vector-2013-08-16-15-35-10.fit"]
    assert ride["processing_status"] == "completed", ride
    assert ride["format"] == "fit" and ride["processed_by"].startswith("fw1@")
    stats = ride["stats"]
    assert stats["point_count"] == 4700 and stats["indoor"] is False
    assert stats["device"]["distance_km"] == pytest.approx(41.34, abs=0.01)
    assert stats["headline"]["distance_km"] == "computed"
    assert stats["distance_km"] == pytest.approx(41.34, rel=0.05)
    assert stats["avg_power"] is not None and stats["parse_warnings"] == []
    track = client.http.get(
        f"/gpx/{sent['Edge810-Vector-2013-08-16-15-35-10.fit']}/track", headers=headers
    )
    assert track.status_code == 200 and track.json()["geometry"]["coordinates"]

    indoor = done["sample-activity-indoor-trainer.fit"]
    assert indoor["processing_status"] == "completed", indoor
    assert indoor["attempts"] == 1
    stats = indoor["stats"]
    assert stats["indoor"] is True and stats["point_count"] == 0
    assert stats["moving_time_s"] == pytest.approx(2261.8) and stats["avg_power"] == 201.0
    assert stats["headline"]["moving_time_s"] == "device"
    track = client.http.get(
        f"/gpx/{sent['sample-activity-indoor-trainer.fit']}/track", headers=headers
    )
    assert track.status_code < 500, track.text

    workout = done["WorkoutRepeatSteps.fit"]
    assert workout["processing_status"] == "failed" and workout["attempts"] == 1
    assert workout["error_code"] == "FIT_NOT_AN_ACTIVITY"
    assert "no es una actividad" in workout["error_message"]

    cut = done["activity-unexpected-eof.fit"]
    assert cut["processing_status"] == "completed", cut
    assert cut["stats"]["parse_warnings"] == ["FIT_TRUNCATED"]
    assert cut["stats"]["point_count"] == 14

    listing = client.http.get(f"/trips/{trip}/gpx", headers=headers)
    assert listing.status_code == 200
    assert worker.log_path.exists()
