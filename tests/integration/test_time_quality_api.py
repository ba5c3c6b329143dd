"""Through HTTP and a real job: a file whose times lie completes with every point, says so in
its status (`time_quality`), and a ride's start is given on its own clock. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import gpxpy
import pytest

from tests.integration.conftest import Api
from tests.support import sample

TIME = Path(__file__).resolve().parents[1] / "data" / "time"
GPSBABEL = "gpsbabel-1901-every-point-184pts.gpx"


async def _completed(
    api: Api, headers: dict[str, str], trip_id: str, name: str, data: bytes
) -> dict[str, Any]:
    r = await api.upload(headers, trip_id, data, filename=name)
    assert r.status_code == 202, r.text
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed", status
    return status


async def test_constant_1901_times_keep_the_hike_and_say_so(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    data = (TIME / GPSBABEL).read_bytes()
    status = await _completed(api, headers, trip_id, GPSBABEL, data)
    stats = status["stats"]
    assert stats["time_quality"] == "constant"
    assert stats["point_count"] == 184 and stats["glitch_point_count"] == 0
    assert stats["distance_km"] == pytest.approx(gpxpy.parse(data).length_2d() / 1000, rel=0.005)
    for key in ("moving_time_s", "duration_s", "avg_speed_kmh", "max_speed_kmh", "start_time"):
        assert stats[key] is None, key
    assert stats["timezone"] == "Europe/Berlin" and stats["start_time_local"] is None

    track = await api.client.get(f"/gpx/{status['gpx_file_id']}/track", headers=headers)
    assert track.status_code == 200
    props = track.json()["properties"]
    assert props["point_count"] >= 2 and set(props["coordTimes"]) == {None}
    [listed] = (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()
    assert listed["time_quality"] == "constant" and listed["timezone"] == "Europe/Berlin"
    assert listed["start_time"] is None and listed["start_time_local"] is None
    trip = (await api.client.get(f"/trips/{trip_id}", headers=headers)).json()
    assert trip["totals"]["distance_km"] == pytest.approx(stats["distance_km"], abs=1e-3)
    assert trip["totals"]["moving_time_s"] is None


async def test_a_good_ride_starts_on_its_own_clock(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    name = "mytourbook-ride-98km-cadence.gpx"  # Dunedin, 9 March 2011: NZ summer time
    stats = (await _completed(api, headers, trip_id, name, sample(name)))["stats"]
    assert stats["time_quality"] == "ok"
    assert stats["timezone"] == "Pacific/Auckland"
    local = datetime.fromisoformat(stats["start_time_local"])
    assert local.utcoffset() is not None and local.utcoffset().total_seconds() == 13 * 3600
    assert local == datetime.fromisoformat(stats["start_time"].replace("Z", "+00:00"))
    [listed] = (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()
    assert listed["start_time_local"] == stats["start_time_local"]
    assert (listed["timezone"], listed["time_quality"]) == ("Pacific/Auckland", "ok")
