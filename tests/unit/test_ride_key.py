"""Which ride a file holds, for same-ride duplicates (device_totals.ride_key): the headline
start and distance, on real files; and the epoch rules for one instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contravento.domain import summarize
from contravento.domain.same_ride import same_ride
from contravento.domain.time_quality import GPS_WEEKS_ROLLOVER, believable_instant
from tests.converted import fit_as_gpx, fit_as_tcx

DATA = Path(__file__).resolve().parents[1] / "data"
RIDE = (DATA / "fit" / "Edge810-Vector-2013-08-16-15-35-10.fit").read_bytes()


def test_a_ride_with_positions_is_keyed_on_our_distance() -> None:
    fit, tcx = summarize(RIDE), summarize(fit_as_tcx(RIDE, lap_distance_factor=1.1))
    assert fit.device.device is not None and tcx.device.device is not None
    assert fit.ride_key().distance_km == fit.stats.distance_km != fit.device.device["distance_km"]
    assert tcx.device.device["distance_km"] == pytest.approx(1.1 * 41.339, abs=0.01)
    assert same_ride(fit.ride_key(), tcx.ride_key())
    assert same_ride(fit.ride_key(), summarize(fit_as_gpx(RIDE)).ride_key())


@pytest.mark.parametrize(
    "path",
    [
        "fit/sample-activity-indoor-trainer.fit",
        "tcx/forerunner945-treadmill-indoor-no-position.tcx",
    ],
)
def test_an_indoor_ride_is_keyed_on_the_device(path: str) -> None:
    summary = summarize((DATA / path).read_bytes())
    assert summary.device.indoor and summary.stats.start_time is None
    key = summary.ride_key()
    assert summary.device.device is not None
    assert key.start_time == summary.device.start_time is not None
    assert key.distance_km == summary.device.device["distance_km"]
    assert key.distance_km == summary.stats_document()["distance_km"]


def test_a_device_start_in_1901_is_no_start() -> None:
    stamp = datetime(1901, 12, 13, 20, 45, 52, tzinfo=UTC)
    summary = summarize(fit_as_tcx(RIDE, every_time=stamp))
    document = summary.stats_document()
    assert document["time_quality"] == "constant"
    assert summary.ride_key().start_time is None and document["start_time"] is None
    assert document["headline"]["start_time"] == "computed"
    assert document["device"]["start_time"] == "1901-12-13T20:45:52Z"  # what it said


def test_one_instant_on_the_epoch_rules() -> None:
    received = datetime(2026, 12, 7, 12, tzinfo=UTC)
    for bad in ("1901-12-13T20:45:52", "1970-01-01T00:00:00", "1980-01-06T00:00:05",
                "2000-01-01T00:00:00", "2000-01-01T23:59:59"):  # fmt: skip
        assert not believable_instant(datetime.fromisoformat(bad).replace(tzinfo=UTC))
    assert believable_instant(datetime(1980, 1, 7, tzinfo=UTC))
    assert believable_instant(datetime(2000, 1, 2, tzinfo=UTC))
    shifted = received - timedelta(days=3) - GPS_WEEKS_ROLLOVER
    assert believable_instant(shifted)  # without the arrival date: an old ride
    assert not believable_instant(shifted, received_at=received)
    assert believable_instant(received - timedelta(days=3), received_at=received)
