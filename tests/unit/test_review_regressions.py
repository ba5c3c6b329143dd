"""Regressions found in review: bad timestamps, partial times, non-finite values, floods."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from gpx_factory import gpx, line

from contravento.domain import GPXUnsafeXMLError, ProcessingCancelled, parse_gpx, summarize


def test_one_bogus_future_timestamp_drops_one_point_not_the_track() -> None:
    pts = line(200, step_m=5.0)
    pts[3].time = datetime(2038, 1, 1, tzinfo=UTC)
    s = summarize(gpx([pts])).stats
    assert s.glitch_point_count == 1
    assert s.point_count == 199
    assert s.duration_s == pytest.approx(199.0)
    assert s.distance_km == pytest.approx(199 * 5.0 / 1000, rel=0.02)


def test_one_bogus_past_timestamp_drops_one_point() -> None:
    pts = line(100, step_m=5.0)
    pts[50].time = datetime(1990, 1, 1, tzinfo=UTC)
    s = summarize(gpx([pts])).stats
    assert s.glitch_point_count == 1 and s.duration_s == pytest.approx(99.0)


def test_a_missing_time_keeps_time_statistics_and_glitch_removal() -> None:
    pts = line(120, step_m=5.0)  # 18 km/h
    pts[40].time = None
    far = line(2, lat=pts[80].lat + 0.01, lon=pts[80].lon)[0]  # a 1.1 km spike for one second
    pts[80].lat, pts[80].lon = far.lat, far.lon
    s = summarize(gpx([pts])).stats
    assert s.moving_time_s is not None and s.moving_time_s > 100
    assert s.max_speed_kmh is not None and s.max_speed_kmh < 25
    assert s.glitch_point_count == 1
    assert s.distance_km == pytest.approx(0.595, abs=0.02)


def test_non_finite_values_become_missing() -> None:
    pts = line(30)
    doc = gpx([pts])
    assert b"<ele>100.00</ele>" in doc
    doc = doc.replace(b"<ele>100.00</ele>", b"<ele>1e400</ele>", 1)
    parts = doc.split(b"</trkpt>")
    parts[0] += b"<extensions><hr>inf</hr></extensions>"
    parts[1] += b"<extensions><hr>-1e999</hr></extensions>"
    parts[2] += b"<extensions><hr>120</hr></extensions>"
    doc = b"</trkpt>".join(parts)
    summary = summarize(doc)
    assert summary.stats.max_hr == 120 and summary.stats.avg_hr == 120
    assert summary.stats.min_elevation_m == pytest.approx(100.0)
    json.dumps(summary.stats.to_dict(), allow_nan=False)  # what the API and PostgreSQL need


def test_element_flood_between_points_is_refused_before_parsing() -> None:
    flood = (
        b'<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"/>'
        + b"<x/>" * 1_000_000
        + b'<trkpt lat="1.1" lon="2"/></trkseg></trk></gpx>'
    )
    with pytest.raises(GPXUnsafeXMLError):
        parse_gpx(flood)


def test_real_exports_are_within_the_element_budget(samples: list[bytes]) -> None:
    for data in samples:
        parse_gpx(data)


def test_should_stop_cancels_a_long_parse() -> None:
    data = gpx([line(20_000)])
    stop = threading.Event()
    stop.set()
    with pytest.raises(ProcessingCancelled):
        summarize(data, should_stop=stop.is_set)
    assert summarize(data, should_stop=lambda: False).stats.point_count == 20_000


@pytest.fixture
def samples() -> list[bytes]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "data" / "samples"
    return [p.read_bytes() for p in sorted(root.glob("*.gpx"))]
