"""Douglas-Peucker with a tolerance in metres, per segment, endpoints always kept."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from gpx_factory import T0, Pt, destination, gpx, line

from contravento.domain import DEFAULT_TOLERANCE_M, parse_gpx, simplify, summarize


def test_default_tolerance_is_5_m() -> None:
    assert DEFAULT_TOLERANCE_M == 5.0
    assert simplify(parse_gpx(gpx([line(10)]))).tolerance_m == 5.0


def test_straight_line_becomes_two_points() -> None:
    track = parse_gpx(gpx([line(1000, step_m=5.0)]))
    simple = simplify(track)
    assert simple.point_count == 2
    assert simple.original_point_count == 1000
    seg, orig = simple.segments[0], track.segments[0]
    assert (seg.lat[0], seg.lat[-1]) == (orig.lat[0], orig.lat[-1])


def _zigzag(amplitude_m: float, n: int = 41) -> list[Pt]:
    pts = []
    base = line(n, step_m=50.0, bearing=90.0, ele0=0.0, dele=1.0, dt_s=10.0)
    for i, p in enumerate(base):
        lat, lon = destination(p.lat, p.lon, 0.0 if i % 2 else 180.0, amplitude_m / 2)
        pts.append(Pt(lat, lon, p.ele, p.time, {"hr": float(i)}))
    return pts


def test_metres_not_degrees() -> None:
    # A 4 m zig-zag disappears at 5 m; an 8 m one survives. Degrees would make both vanish.
    assert simplify(parse_gpx(gpx([_zigzag(4.0)]))).point_count == 2
    assert simplify(parse_gpx(gpx([_zigzag(8.0)]))).point_count == 41


def test_elevation_time_and_sensors_are_carried() -> None:
    track = parse_gpx(gpx([_zigzag(20.0)]))
    seg = simplify(track, 5.0).segments[0]
    np.testing.assert_array_equal(seg.ele, track.segments[0].ele)
    np.testing.assert_array_equal(seg.time, track.segments[0].time)
    np.testing.assert_array_equal(seg.sensors["hr"], np.arange(41.0))


def test_per_segment_and_endpoints_of_each() -> None:
    a = line(200, lat=43.0, step_m=5.0)
    b = line(200, lat=43.1, step_m=5.0, t0=T0 + timedelta(hours=1))
    simple = simplify(parse_gpx(gpx([a, b])))
    assert [len(s) for s in simple.segments] == [2, 2]
    assert simple.segments[1].lat[0] == pytest.approx(b[0].lat)


def test_tiny_segments_are_untouched() -> None:
    track = parse_gpx(gpx([[Pt(43.0, -2.0)], line(2), [Pt(44.0, -2.0), Pt(44.0, -2.0)]]))
    simple = simplify(track)
    assert [len(s) for s in simple.segments] == [1, 2, 2]


def test_zero_tolerance_keeps_every_corner() -> None:
    assert simplify(parse_gpx(gpx([_zigzag(1.0)])), 0.0).point_count == 41


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError):
        simplify(parse_gpx(gpx([line(3)])), -1.0)


def test_a_closed_loop_keeps_its_shape() -> None:
    # a 1 km circle that starts and ends at the same point
    centre = (43.0, -2.0)
    pts = []
    for i in range(361):
        lat, lon = destination(*centre, float(i), 1000.0 / (2 * math.pi))
        pts.append(Pt(lat, lon, 100.0, T0 + timedelta(seconds=i)))
    simple = simplify(parse_gpx(gpx([pts])))
    assert 8 <= simple.point_count <= 60
    assert simple.segments[0].lat[0] == simple.segments[0].lat[-1]


def test_summary_reports_the_simplified_count() -> None:
    summary = summarize(gpx([_zigzag(20.0)]), tolerance_m=5.0)
    assert summary.simplified.point_count == 41
    assert summarize(gpx([_zigzag(20.0)]), tolerance_m=50.0).simplified.point_count == 2
