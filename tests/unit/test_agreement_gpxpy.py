"""Agreement with gpxpy on a realistic synthetic ride: distance within 0.5% of length_2d."""

from __future__ import annotations

import math
from datetime import timedelta

import gpxpy
import numpy as np
import pytest
from gpx_factory import T0, Pt, destination, gpx

from contravento.domain import summarize


def synthetic_ride(n: int = 4000, seed: int = 11) -> list[Pt]:
    """1 Hz, smooth curving road, 15-40 km/h, rolling hills, metre-level GPS noise."""
    rng = np.random.default_rng(seed)
    heading = 20.0
    lat, lon = 42.8, -1.6
    pts: list[Pt] = []
    for i in range(n):
        speed = 7.5 + 3.5 * math.sin(i / 300.0)  # m/s
        heading += 2.0 * math.sin(i / 90.0) + rng.normal(0, 0.3)
        ele = 450 + 60 * math.sin(i / 700.0) + 15 * math.sin(i / 130.0) + rng.normal(0, 0.4)
        nlat, nlon = destination(lat, lon, rng.uniform(0, 360), abs(rng.normal(0, 0.8)))
        pts.append(Pt(nlat, nlon, ele, T0 + timedelta(seconds=i), {"hr": 140.0, "cad": 85.0}))
        lat, lon = destination(lat, lon, heading, speed)
    return pts


@pytest.fixture(scope="module")
def ride() -> bytes:
    return gpx([synthetic_ride()], name="Sintética")


def test_distance_within_half_a_percent_of_gpxpy(ride: bytes) -> None:
    ours = summarize(ride).stats
    theirs = gpxpy.parse(ride.decode())
    length_2d_km = theirs.length_2d() / 1000
    assert length_2d_km > 25
    assert ours.distance_km == pytest.approx(length_2d_km, rel=0.005)
    assert ours.glitch_point_count == 0


def test_times_and_points_agree_with_gpxpy(ride: bytes) -> None:
    ours = summarize(ride).stats
    theirs = gpxpy.parse(ride.decode())
    bounds = theirs.get_time_bounds()
    assert ours.start_time == bounds.start_time
    assert ours.end_time == bounds.end_time
    assert ours.point_count == theirs.get_points_no() == 4000
    # moving: nobody stops on this ride; both must see (almost) all of it as moving
    assert ours.moving_time_s == pytest.approx(theirs.get_moving_data().moving_time, rel=0.01)


def test_gain_is_smoothed_below_gpxpy_raw_noise(ride: bytes) -> None:
    ours = summarize(ride).stats
    up, _ = gpxpy.parse(ride.decode()).get_uphill_downhill()
    true_gain = 0.0
    prev = None
    for i in range(4000):  # the noiseless profile of synthetic_ride
        ele = 450 + 60 * math.sin(i / 700.0) + 15 * math.sin(i / 130.0)
        if prev is not None and ele > prev:
            true_gain += ele - prev
        prev = ele
    assert ours.elevation_gain_m is not None
    assert abs(ours.elevation_gain_m - true_gain) <= 0.1 * true_gain
    assert abs(ours.elevation_gain_m - true_gain) <= abs(up - true_gain) + 1.0
