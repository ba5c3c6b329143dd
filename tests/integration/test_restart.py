"""No upload is lost when the API process dies mid-job: the reconciler picks it up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.live import ApiServer, Client, service_env
from tests.support import sample

pytestmark = pytest.mark.slow


def test_kill_api_mid_job_then_restart_completes_it(database_url: str, tmp_path: Path) -> None:
    env = service_env(
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        auto_migrate="false",
        celery_enabled="false",
        processing_delay_s=30,  # the job stays in flight until we kill the server
        lease_s=2,  # the killed run's lease expires 2 s after its last renewal
        lease_renew_s=0.5,
        reconcile_interval_s=0.5,
    )
    server = ApiServer(env, tmp_path / "api1.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip_id = client.trip(headers)
        r = client.upload(headers, trip_id, sample("tomtom-watch-run-long.gpx"))
        assert r.status_code == 202, r.text
        file_id = r.json()["gpx_file_id"]
        deadline = time.monotonic() + 10
        while client.status(headers, file_id)["processing_status"] != "processing":
            assert time.monotonic() < deadline, "job never started"
            time.sleep(0.05)
    finally:
        server.kill()  # SIGKILL: no shutdown hooks, the job dies with the process

    env["PROCESSING_DELAY_S"] = "0"
    restarted = ApiServer(env, tmp_path / "api2.log")
    try:
        client = Client(restarted.url)
        status = client.wait_done(headers, file_id, timeout=30)
        assert status["processing_status"] == "completed", status
        assert status["attempts"] == 2  # the killed attempt counts
        assert status["stats"]["point_count"] == 7745
        track = client.http.get(f"/gpx/{file_id}/track", headers=headers).json()
        assert track["properties"]["point_count"] == status["stats"]["simplified_point_count"]
    finally:
        restarted.stop()
    assert "job_reconciled" in restarted.output()
