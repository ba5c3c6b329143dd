"""compute_stats on hand-made tracks with known answers."""

from __future__ import annotations

import itertools
import json
import math
import random
from datetime import timedelta

import numpy as np
import pytest
from gpx_factory import API_STAT_FIELDS, T0, Pt, destination, gpx, haversine, line

from contravento.domain import RouteStats, compute_stats, parse_gpx, summarize
from contravento.domain.elevation import gain_loss, median_filter


def stats_of(*segments: list[Pt], **kwargs: float) -> RouteStats:
    return compute_stats(parse_gpx(gpx(list(segments))), **kwargs)


def test_straight_line_of_known_length() -> None:
    pts = line(1001, step_m=5.0, bearing=30.0)  # 5 km at 5 m/s (18 km/h)
    independent = sum(haversine(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(pts))
    s = stats_of(pts)
    assert s.distance_km == pytest.approx(5.0, rel=1e-6)
    assert s.distance_km == pytest.approx(independent / 1000, rel=1e-7)  # 9-decimal XML
    assert s.distance_3d_km == pytest.approx(s.distance_km)
    assert s.duration_s == 1000
    assert s.moving_time_s == 1000
    assert s.avg_speed_kmh == pytest.approx(18.0, rel=1e-6)
    assert s.max_speed_kmh == pytest.approx(18.0, rel=1e-3)
    assert s.start_time == T0
    assert s.end_time == T0 + timedelta(seconds=1000)
    assert s.point_count == 1001 and s.segment_count == 1
    assert s.min_lat == pytest.approx(pts[0].lat) and s.max_lat == pytest.approx(pts[-1].lat)
    assert s.min_lon == pytest.approx(pts[0].lon) and s.max_lon == pytest.approx(pts[-1].lon)


def test_long_line_independent_haversine() -> None:
    pts = line(3, step_m=100_000.0, lat=60.0, bearing=80.0, dt_s=3600)
    expected = sum(haversine(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(pts))
    assert stats_of(pts).distance_km == pytest.approx(expected / 1000, rel=1e-9)
    assert expected == pytest.approx(200_000, rel=1e-9)


def test_known_climb() -> None:
    pts = line(1001, step_m=5.0, ele0=0.0, dele=0.1)  # 0 -> 100 m, steady 2 %
    s = stats_of(pts)
    assert s.elevation_gain_m == pytest.approx(100.0, abs=0.5)
    assert s.elevation_loss_m == pytest.approx(0.0, abs=0.5)
    # the reflected median judges the end points too, which pulls them one step inward
    assert s.min_elevation_m == pytest.approx(0.0, abs=0.15)
    assert s.max_elevation_m == pytest.approx(100.0, abs=0.15)
    assert s.distance_3d_km == pytest.approx(1000 * math.hypot(5.0, 0.1) / 1000, rel=1e-4)
    assert s.distance_3d_km > s.distance_km


def test_climb_then_descent() -> None:
    up = line(501, step_m=5.0, ele0=200.0, dele=0.2)  # +100 m
    last = up[-1]
    down = line(
        501,
        lat=last.lat,
        lon=last.lon,
        step_m=5.0,
        ele0=300.0,
        dele=-0.3,
        t0=T0 + timedelta(seconds=501),
    )[1:]  # -150 m
    s = stats_of(up + down)
    assert s.elevation_gain_m == pytest.approx(100.0, abs=1.0)
    assert s.elevation_loss_m == pytest.approx(150.0, abs=1.0)
    assert s.min_elevation_m == pytest.approx(150.0, abs=0.5)
    assert s.max_elevation_m == pytest.approx(300.0, abs=0.5)


def _ride_stop_ride(stop_s: int, jitter_m: float, record_stop: bool) -> list[Pt]:
    rng = random.Random(7)
    first = line(301, step_m=5.0)
    stop_at = first[-1]
    pts = list(first)
    t = 300
    if record_stop:
        for _ in range(stop_s):
            t += 1
            lat, lon = destination(
                stop_at.lat, stop_at.lon, rng.uniform(0, 360), rng.uniform(0, jitter_m)
            )
            pts.append(Pt(lat, lon, 100.0, T0 + timedelta(seconds=t)))
    else:
        t += stop_s
    second = line(301, lat=stop_at.lat, lon=stop_at.lon, step_m=5.0, t0=T0 + timedelta(seconds=t))
    return pts + (second if not record_stop else second[1:])


@pytest.mark.parametrize("jitter_m", [0.0, 1.5, 3.0])
def test_stop_of_known_length_is_not_moving(jitter_m: float) -> None:
    s = stats_of(_ride_stop_ride(120, jitter_m, record_stop=True))
    assert s.duration_s == 300 + 120 + 300
    # 600 s of riding; the 10 s window may blur at most a few seconds at each edge of the stop
    assert s.moving_time_s == pytest.approx(600, abs=10)
    assert s.avg_speed_kmh == pytest.approx(18.0, rel=0.05)
    assert s.max_speed_kmh == pytest.approx(18.0, rel=0.01)


def test_stop_without_points_auto_pause() -> None:
    s = stats_of(_ride_stop_ride(600, 0.0, record_stop=False))
    assert s.duration_s == 300 + 600 + 300
    assert s.moving_time_s == pytest.approx(600, abs=1)
    assert s.distance_km == pytest.approx(3.0, rel=1e-6)


def test_stop_threshold_is_configurable() -> None:
    walk = line(601, step_m=0.5)  # 1.8 km/h: stopped for a cyclist at the 2.5 km/h default
    assert stats_of(walk).moving_time_s == 0
    assert stats_of(walk).avg_speed_kmh is None
    assert stats_of(walk, stop_speed_kmh=1.0).moving_time_s == 600


def test_no_times_means_time_fields_are_none() -> None:
    s = stats_of(line(100, dt_s=None))
    assert s.distance_km == pytest.approx(0.495, rel=1e-6)
    for field in ("start_time", "end_time", "duration_s", "moving_time_s"):
        assert getattr(s, field) is None
    assert s.avg_speed_kmh is None
    assert s.max_speed_kmh is None
    assert s.elevation_gain_m == 0.0


def test_no_elevation_means_elevation_fields_are_none() -> None:
    s = stats_of(line(100, ele0=None))
    for field in ("elevation_gain_m", "elevation_loss_m", "min_elevation_m", "max_elevation_m"):
        assert getattr(s, field) is None
    assert s.distance_3d_km == pytest.approx(s.distance_km)
    assert s.moving_time_s == 99


def test_gap_between_segments_is_not_distance() -> None:
    a = line(101, lat=43.0, step_m=10.0)
    b = line(101, lat=43.2, step_m=10.0, t0=T0 + timedelta(hours=1))  # ~22 km away
    s = stats_of(a, b)
    assert s.segment_count == 2
    assert s.distance_km == pytest.approx(2.0, rel=1e-6)
    assert s.moving_time_s == 200
    assert s.duration_s == 3600 + 100
    assert s.max_speed_kmh == pytest.approx(36.0, rel=1e-3)


def test_single_point_track() -> None:
    s = stats_of([Pt(43.0, -2.0, 500.0, T0)])
    assert s.distance_km == 0
    assert s.point_count == 1
    assert s.duration_s == 0
    assert s.moving_time_s is None
    assert s.min_elevation_m == s.max_elevation_m == 500.0


def test_elevation_jitter_on_a_flat_road_adds_nothing() -> None:
    rng = random.Random(3)
    pts = line(2000, step_m=5.0)
    for p in pts:
        p.ele = 100.0 + rng.uniform(-2.0, 2.0)
    s = stats_of(pts)
    assert s.elevation_gain_m is not None and s.elevation_gain_m < 5.0
    raw_sum = sum(max(0.0, b.ele - a.ele) for a, b in itertools.pairwise(pts))  # type: ignore[operator]
    assert raw_sum > 1000  # what a naive sum would report


def test_single_sample_elevation_spike_is_ignored() -> None:
    pts = line(200, step_m=5.0, ele0=100.0)
    pts[100].ele = 160.0
    pts[150].ele = 40.0
    s = stats_of(pts)
    assert s.elevation_gain_m == 0 and s.elevation_loss_m == 0
    assert s.max_elevation_m == 100.0 and s.min_elevation_m == 100.0


def test_hysteresis() -> None:
    assert gain_loss(np.array([0.0, 3, 0, 3, 0, 3, 0, 4, 0])) == (0.0, 0.0)
    assert gain_loss(np.array([0.0, 10, 0, 10, 0, 10])) == (30.0, 20.0)
    assert gain_loss(np.array([0.0, 5.0])) == (5.0, 0.0)
    assert gain_loss(np.array([0.0, 4.9])) == (0.0, 0.0)
    assert gain_loss(np.array([100.0, 90, 94, 80])) == (0.0, 20.0)
    assert gain_loss(np.array([7.0])) == (0.0, 0.0)


def test_median_filter_keeps_edges_and_length() -> None:
    values = np.array([-18.0, 3.0, 17.0, 20.0, 21.0, 22.0, 23.0])
    out = median_filter(values)
    assert len(out) == len(values)
    assert out[0] > 0  # the start-up -18 m glitch is judged too
    np.testing.assert_array_equal(median_filter(np.array([1.0, 2.0])), [1.0, 2.0])


def test_sparse_elevation_uses_the_points_that_have_it() -> None:
    pts = line(300, step_m=5.0, ele0=0.0, dele=0.5)  # 0 -> 149.5 m
    for i, p in enumerate(pts):
        if i % 7:
            p.ele = None
    s = stats_of(pts)
    # 0 -> 147 m on the known points; the edge median costs one 3.5 m step at each end
    assert s.elevation_gain_m == pytest.approx(140.0, abs=0.5)
    assert s.elevation_loss_m == 0


def test_max_speed_ignores_a_single_fast_step() -> None:
    pts = line(300, step_m=5.0)
    # one plausible-but-wrong 100 km/h step (28 m) that glitch removal would not catch
    for i in range(151, 300):
        lat, lon = destination(pts[i].lat, pts[i].lon, 45.0, 23.0)
        pts[i] = Pt(lat, lon, pts[i].ele, pts[i].time)
    s = stats_of(pts)
    assert s.max_speed_kmh == pytest.approx(18.0, rel=1e-3)
    assert s.distance_km == pytest.approx((299 * 5 + 23) / 1000, rel=1e-6)


def test_max_speed_of_a_sustained_sprint() -> None:
    slow = line(100, step_m=5.0)
    fast = line(30, lat=slow[-1].lat, lon=slow[-1].lon, step_m=16.0, t0=T0 + timedelta(seconds=99))
    s = stats_of(slow + fast[1:])
    assert s.max_speed_kmh == pytest.approx(57.6, rel=1e-3)


def test_implausible_steps_are_not_max_speed() -> None:
    pts = line(100, step_m=5.0)
    s = compute_stats(parse_gpx(gpx([pts])), max_plausible_kmh=10.0)
    assert s.max_speed_kmh is None
    assert s.distance_km == pytest.approx(0.495, rel=1e-6)


def test_climb_rate_filter_on_max_speed() -> None:
    # a drifting fix: 14 m/s while "climbing" 2 m/s for half a minute
    base = line(100, step_m=5.0)
    drift = line(
        31,
        lat=base[-1].lat,
        lon=base[-1].lon,
        step_m=14.0,
        ele0=100.0,
        dele=2.0,
        t0=T0 + timedelta(seconds=99),
    )
    s = stats_of(base + drift[1:])
    assert s.max_speed_kmh == pytest.approx(18.0, rel=1e-3)


def test_sensors_mean_and_max() -> None:
    pts = line(6)
    for p, hr, cad, pw, temp in zip(
        pts,
        [100, 110, 120, 130, 140, 150],
        [0, 80, 90, 0, 100, 0],
        [0, 200, 300, 0, 400, 0],
        [20, 21, 22, 23, 24, 25],
        strict=True,
    ):
        p.ext = {"hr": hr, "cad": cad, "power": pw, "atemp": temp}
    s = stats_of(pts)
    assert s.avg_hr == 125 and s.max_hr == 150
    assert s.avg_cadence == 90 and s.max_cadence == 100  # zeros (coasting) left out of the mean
    assert s.avg_power == 150 and s.max_power == 400  # zeros kept: they are real zero watts
    assert s.avg_temperature_c == 22.5


def test_no_sensors_means_none() -> None:
    s = stats_of(line(5))
    assert (s.avg_hr, s.max_hr, s.avg_cadence, s.max_power, s.avg_temperature_c) == (None,) * 5


def test_to_dict_is_json_ready_with_api_field_names() -> None:
    d = summarize(gpx([line(100, ele0=0.0, dele=0.2)])).stats.to_dict()
    json.dumps(d)
    for key in (*API_STAT_FIELDS, "segment_count", "invalid_point_count"):
        assert key in d
    assert d["start_time"] == "2024-05-01T08:00:00Z"
    assert d["distance_km"] == round(d["distance_km"], 3)
    assert d["avg_speed_kmh"] == round(d["avg_speed_kmh"], 1)


def test_route_stats_is_frozen() -> None:
    s = stats_of(line(3))
    with pytest.raises(AttributeError):
        s.distance_km = 1.0  # type: ignore[misc]
