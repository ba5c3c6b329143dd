"""Issue 14's pieces together, through HTTP and the one job path, on SQLite and PostgreSQL:
one real ride as FIT, GPX and TCX (same-ride duplicates in every order, matched on our
computed distance whatever the devices' totals say), a device export zip of every format,
indoor rides beside outdoor ones in a trip's totals, gzip of every format, and times that lie
in a TCX. (The same with a real Celery worker: test_formats_together_celery.py.)"""

from __future__ import annotations

import asyncio
import gzip
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contravento.domain import summarize
from contravento.domain.same_ride import distance_tolerance_km
from tests import archives
from tests.converted import fit_as_gpx, fit_as_tcx, fit_with_every_time
from tests.integration.conftest import Api
from tests.support import sample

DATA = Path(__file__).resolve().parents[1] / "data"
RIDE_FIT = (DATA / "fit" / "Edge810-Vector-2013-08-16-15-35-10.fit").read_bytes()
INDOOR_FIT = (DATA / "fit" / "sample-activity-indoor-trainer.fit").read_bytes()
TREADMILL_TCX = (DATA / "tcx" / "forerunner945-treadmill-indoor-no-position.tcx").read_bytes()
# the TCX's lap says 10 % more than the FIT's session: device totals that disagree
TCX_LAP_FACTOR = 1.10


async def _done(api: Api, headers: dict[str, str], trip: str, data: bytes, name: str) -> Any:
    r = await api.upload(headers, trip, data, filename=name)
    assert r.status_code == 202, r.text
    return await api.wait_done(headers, r.json()["gpx_file_id"])


async def _pair(api: Api, first: tuple[str, bytes], second: tuple[str, bytes]) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    kept = await _done(api, headers, trip, first[1], first[0])
    assert kept["processing_status"] == "completed", kept
    twin = await _done(api, headers, trip, second[1], second[0])
    assert twin["processing_status"] == "failed", (first[0], second[0], twin)
    assert twin["error_code"] == "DUPLICATE_RIDE" and twin["attempts"] == 1
    assert twin["duplicate_of"] == kept["gpx_file_id"]
    assert f"«{first[0]}»" in twin["error_message"]
    assert twin["format"] == second[0].split(".")[1]
    listing = (await api.client.get(f"/trips/{trip}/gpx", headers=headers)).json()
    assert {f["gpx_file_id"]: f["duplicate_of"] for f in listing} == {
        kept["gpx_file_id"]: None,
        twin["gpx_file_id"]: kept["gpx_file_id"],
    }
    totals = (await api.client.get(f"/trips/{trip}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 1
    assert totals["distance_km"] == pytest.approx(kept["stats"]["distance_km"], abs=0.01)


@pytest.mark.parametrize("order", ["fit-first", "other-first"])
async def test_fit_and_gpx_of_one_ride_are_one_ride(api: Api, order: str) -> None:
    pair = [("salida.fit", RIDE_FIT), ("salida.gpx", fit_as_gpx(RIDE_FIT))]
    await _pair(api, *(pair if order == "fit-first" else pair[::-1]))


@pytest.mark.parametrize("order", ["fit-first", "other-first"])
async def test_fit_and_tcx_with_disagreeing_device_totals_are_one_ride(
    api: Api, order: str
) -> None:
    """Matched on our computed distance (device_totals.py's headline): the two devices'
    totals differ by far more than the tolerance, the points do not."""
    tcx = fit_as_tcx(RIDE_FIT, lap_distance_factor=TCX_LAP_FACTOR)
    fit_sum, tcx_sum = summarize(RIDE_FIT), summarize(tcx)
    fit_device = fit_sum.device.device["distance_km"]  # type: ignore[index]
    tcx_device = tcx_sum.device.device["distance_km"]  # type: ignore[index]
    assert abs(fit_device - tcx_device) > 2 * distance_tolerance_km(fit_device, tcx_device)
    assert fit_sum.stats.distance_km == pytest.approx(tcx_sum.stats.distance_km, abs=0.01)
    pair = [("salida.fit", RIDE_FIT), ("salida.tcx", tcx)]
    await _pair(api, *(pair if order == "fit-first" else pair[::-1]))


async def _wait_import(api: Api, headers: dict[str, str], import_id: str) -> Any:
    await api.app.state.dispatcher.drain()
    for _ in range(600):
        r = await api.client.get(f"/imports/{import_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("completed", "failed"):
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(r.json())


async def test_a_device_export_of_every_format(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    data, expected = archives.device_export()
    r = await api.upload(headers, trip, data, filename="export.zip")
    assert r.status_code == 202, r.text
    report = await _wait_import(api, headers, r.json()["import_id"])
    assert report["status"] == "completed", report
    assert report["members_found"] == len(expected)
    created = {c["name"]: c["gpx_file_id"] for c in report["created"]}
    skipped = {s["name"]: s["reason_code"] for s in report["skipped"]}
    assert created.keys() == {n for n, want in expected.items() if isinstance(want, tuple)}
    assert skipped == {n: want for n, want in expected.items() if isinstance(want, str)}
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "archivo FIT de ajustes" in reasons["export_9/activities/105.fit"]
    assert "archivo FIT de monitorización" in reasons["export_9/monitor/106.fit.gz"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, file_id in created.items():
            done = await api.wait_done(headers, file_id, timeout=90)
            assert (done["format"], done["compression"]) == expected[name], done
            assert done["processing_status"] == "completed", done
            assert done["stats"]["distance_km"] > 0 and done["duplicate_of"] is None
            got = await api.client.get(f"/gpx/{file_id}/download", headers=headers)
            assert got.content == archive.read(name)
    listing = (await api.client.get(f"/trips/{trip}/gpx", headers=headers)).json()
    assert {f["gpx_file_id"] for f in listing} == set(created.values())
    totals = (await api.client.get(f"/trips/{trip}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 4


async def test_indoor_rides_beside_an_outdoor_one(api: Api) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    ride = await _done(api, headers, trip, RIDE_FIT, "salida.fit")
    indoor = {
        "rodillo.fit": await _done(api, headers, trip, INDOOR_FIT, "rodillo.fit"),
        "cinta.tcx": await _done(api, headers, trip, TREADMILL_TCX, "cinta.tcx"),
    }
    for name, done in indoor.items():
        assert done["processing_status"] == "completed", done
        assert done["format"] == name.rsplit(".", 1)[1]
        stats = done["stats"]
        assert stats["indoor"] is True and stats["point_count"] == 0
        assert stats["device"] is not None and stats["device"]["timer_time_s"] > 0
        assert stats["headline"]["distance_km"] == "device"
        assert stats["distance_km"] == stats["device"]["distance_km"]
        # no positions, no map: an empty route (the page never asks: stage.js says why)
        track = await api.client.get(f"/gpx/{done['gpx_file_id']}/track", headers=headers)
        assert track.status_code == 200, track.text
        assert track.json()["properties"]["point_count"] == 0
        assert track.json()["geometry"]["coordinates"] == []
        profile = await api.client.get(f"/gpx/{done['gpx_file_id']}/profile", headers=headers)
        assert profile.status_code < 500, profile.text
    assert indoor["cinta.tcx"]["stats"]["distance_km"] == pytest.approx(4.111, abs=0.001)
    totals = (await api.client.get(f"/trips/{trip}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 3
    want = ride["stats"]["distance_km"] + sum(d["stats"]["distance_km"] for d in indoor.values())
    assert totals["distance_km"] == pytest.approx(want, abs=0.01)


async def test_an_indoor_ride_again_in_other_bytes_is_a_duplicate(api: Api) -> None:
    """No position, so no start or distance of ours: the device's start and distance (the
    headline ones) say which ride it is."""
    headers = await api.signup()
    trip = await api.trip(headers)
    for name, data in (("rodillo.fit", INDOOR_FIT), ("cinta.tcx", TREADMILL_TCX)):
        kept = await _done(api, headers, trip, data, name)
        assert kept["processing_status"] == "completed", kept
        twin = await _done(api, headers, trip, gzip.compress(data), name + ".gz")
        assert twin["error_code"] == "DUPLICATE_RIDE", twin
        assert twin["duplicate_of"] == kept["gpx_file_id"]
    totals = (await api.client.get(f"/trips/{trip}", headers=headers)).json()["totals"]
    assert totals["stage_count"] == 2


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("salida.fit.gz", RIDE_FIT, "fit"),
        ("salida.tcx.gz", (DATA / "tcx" / "garmin-connect-edge520-ride-watts.tcx").read_bytes(),
         "tcx"),
        ("salida.gpx.gz", sample("strava-ride-power-hr-cad.gpx"), "gpx"),
    ],
)  # fmt: skip
async def test_gzip_of_each_format(api: Api, name: str, data: bytes, fmt: str) -> None:
    headers = await api.signup()
    trip = await api.trip(headers)
    packed = gzip.compress(data)
    done = await _done(api, headers, trip, packed, name)
    assert done["processing_status"] == "completed", done
    assert (done["format"], done["compression"]) == (fmt, "gzip")
    assert done["stats"]["distance_km"] == pytest.approx(
        summarize(data).stats_document()["distance_km"], abs=0.001
    )
    listing = (await api.client.get(f"/trips/{trip}/gpx", headers=headers)).json()
    assert [(f["format"], f["compression"]) for f in listing] == [(fmt, "gzip")]
    got = await api.client.get(f"/gpx/{done['gpx_file_id']}/download", headers=headers)
    assert got.status_code == 200 and got.content == packed


@pytest.mark.parametrize(
    ("every_time", "start"),
    [
        (datetime(2013, 8, 16, 18, 5, 10, tzinfo=UTC), "2013-08-16T18:05:10Z"),
        (datetime(1901, 12, 13, 20, 45, 52, tzinfo=UTC), None),
    ],
)
async def test_a_tcx_whose_times_lie_keeps_its_ride(
    api: Api, every_time: datetime, start: str | None
) -> None:
    """Every trackpoint (and the lap) on one instant: geometry from the positions, no time
    figure of ours, a date only when the instant is believable (never 1901)."""
    headers = await api.signup()
    trip = await api.trip(headers)
    tcx = fit_as_tcx(RIDE_FIT, every_time=every_time)
    done = await _done(api, headers, trip, tcx, "constante.tcx")
    assert done["processing_status"] == "completed", done
    stats = done["stats"]
    assert stats["time_quality"] == "constant" and stats["point_count"] == 4700
    assert stats["distance_km"] == pytest.approx(summarize(RIDE_FIT).stats.distance_km, rel=1e-3)
    assert stats["duration_s"] is None and stats["max_speed_kmh"] is None
    assert stats["start_time"] == start


@pytest.mark.parametrize(
    ("every_time", "start"),
    [
        (datetime(2013, 8, 16, 18, 5, 10, tzinfo=UTC), "2013-08-16T18:05:10Z"),
        (datetime(2000, 1, 1, 0, 0, 0, tzinfo=UTC), None),  # a device's unset clock
    ],
)
async def test_a_fit_whose_clock_was_stuck_keeps_its_ride(
    api: Api, every_time: datetime, start: str | None
) -> None:
    """Every record of a real ride on one instant, encoded by Garmin's FIT encoder: the
    ride's geometry from its positions, the device's timer as the moving time, a date only
    when the instant is believable (the device's session start on 2000-01-01 is not)."""
    headers = await api.signup()
    trip = await api.trip(headers)
    fit = fit_with_every_time(RIDE_FIT, every_time)
    done = await _done(api, headers, trip, fit, "reloj.fit")
    assert done["processing_status"] == "completed", done
    stats = done["stats"]
    assert done["format"] == "fit" and stats["time_quality"] == "constant"
    assert stats["point_count"] == 4700 and stats["glitch_point_count"] == 0
    assert stats["distance_km"] == pytest.approx(summarize(RIDE_FIT).stats.distance_km, rel=1e-3)
    assert stats["duration_s"] is None and stats["max_speed_kmh"] is None
    assert stats["headline"]["moving_time_s"] == "device"
    assert stats["moving_time_s"] == stats["device"]["timer_time_s"]
    assert stats["start_time"] == start
