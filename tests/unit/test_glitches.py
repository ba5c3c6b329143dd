"""GPS glitch removal: impossible spikes go, real movement stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from gpx_factory import T0, Pt, destination, gpx, line

from contravento.domain import parse_gpx, remove_glitches, summarize
from contravento.domain.track import DeviceSession


def _spiked(index: int, jump_m: float, n: int = 300) -> list[Pt]:
    pts = line(n, step_m=5.0)  # 18 km/h, 1 Hz
    p = pts[index]
    lat, lon = destination(p.lat, p.lon, 135.0, jump_m)
    pts[index] = Pt(lat, lon, p.ele, p.time)
    return pts


def test_spike_at_300_kmh_is_removed() -> None:
    pts = _spiked(150, 300 / 3.6)  # 83 m away and back within a second each way
    track = parse_gpx(gpx([pts]))
    clean, removed = remove_glitches(track)
    assert removed == 1
    assert clean.point_count == 299
    assert pts[150].lat not in clean.segments[0].lat.tolist()

    summary = summarize(gpx([pts]))
    assert summary.stats.glitch_point_count == 1
    assert summary.stats.max_speed_kmh == pytest.approx(18.0, rel=1e-3)
    assert summary.stats.distance_km == pytest.approx(299 * 5 / 1000, rel=2e-3)


def test_glitched_file_without_removal_would_be_longer() -> None:
    pts = _spiked(150, 300 / 3.6)
    raw = parse_gpx(gpx([pts]))
    from contravento.domain import compute_stats

    assert compute_stats(raw).distance_km > summarize(gpx([pts])).stats.distance_km + 0.15


def test_several_spikes() -> None:
    pts = _spiked(50, 200.0)
    pts[120] = _spiked(120, 500.0)[120]
    pts[200] = _spiked(200, 80.0)[200]
    _, removed = remove_glitches(parse_gpx(gpx([pts])))
    assert removed == 3


def test_two_point_excursion_is_beyond_the_rule_but_not_the_max_speed() -> None:
    """Known limit (docs/domain.md): two consecutive bad fixes look like jump + movement."""
    pts = line(300, step_m=5.0)
    for i in (120, 121):
        lat, lon = destination(pts[i].lat, pts[i].lon, 135.0, 500.0)
        pts[i] = Pt(lat, lon, pts[i].ele, pts[i].time)
    summary = summarize(gpx([pts]))
    assert summary.stats.glitch_point_count == 0
    assert summary.stats.max_speed_kmh == pytest.approx(18.0, rel=1e-3)


def test_stale_first_point_is_removed() -> None:
    pts = line(100, step_m=5.0)
    pts[0] = Pt(43.77, 11.25, 50.0, pts[1].time - timedelta(seconds=10))  # 60 km away
    clean, removed = remove_glitches(parse_gpx(gpx([pts])))
    assert removed == 1
    assert clean.segments[0].lat[0] == pytest.approx(pts[1].lat)


def test_last_point_back_in_time_is_removed() -> None:
    pts = line(100, step_m=5.0)
    pts.append(Pt(pts[0].lat, pts[0].lon, 100.0, T0 - timedelta(hours=2)))
    clean, removed = remove_glitches(parse_gpx(gpx([pts])))
    assert removed == 1
    assert clean.point_count == 100


def test_real_jump_followed_by_plausible_movement_stays() -> None:
    a = line(100, step_m=5.0)
    # a tunnel: 2 km without fix in 1 s of log, then riding on at 18 km/h from there
    lat, lon = destination(a[-1].lat, a[-1].lon, 45.0, 2000.0)
    b = line(100, lat=lat, lon=lon, step_m=5.0, t0=a[-1].time + timedelta(seconds=1))
    clean, removed = remove_glitches(parse_gpx(gpx([a + b])))
    assert removed == 0
    assert clean.point_count == 200


def test_segments_without_times_are_left_alone() -> None:
    pts = _spiked(50, 5000.0)
    for p in pts:
        p.time = None
    _, removed = remove_glitches(parse_gpx(gpx([pts])))
    assert removed == 0


def test_threshold_is_configurable() -> None:
    pts = _spiked(150, 100 / 3.6)  # 100 km/h out and back: plausible at 150, not at 60
    assert remove_glitches(parse_gpx(gpx([pts])))[1] == 0
    assert remove_glitches(parse_gpx(gpx([pts])), max_speed_kmh=60.0)[1] == 1


def test_clean_track_is_returned_unchanged() -> None:
    track = parse_gpx(gpx([line(50)]))
    clean, removed = remove_glitches(track)
    assert removed == 0 and clean is track


def test_removal_keeps_sensors_aligned() -> None:
    pts = _spiked(10, 500.0, n=20)
    for i, p in enumerate(pts):
        p.ext = {"hr": float(100 + i)}
    clean, removed = remove_glitches(parse_gpx(gpx([pts])))
    seg = clean.segments[0]
    assert removed == 1
    assert len(seg.sensors["hr"]) == len(seg) == 19
    assert 110.0 not in seg.sensors["hr"].tolist()
    assert np.all(np.diff(seg.time.astype(np.int64)) > 0)


def test_metadata_is_kept() -> None:
    track = parse_gpx(gpx([_spiked(5, 900.0, n=10)], name="x", waypoints=[Pt(1, 1)]))
    clean, _ = remove_glitches(track)
    assert (clean.name, clean.waypoint_count, clean.gpx_version) == ("x", 1, "1.1")


def test_device_sessions_and_warnings_survive_a_removal() -> None:
    track = replace(
        parse_gpx(gpx([_spiked(150, 300 / 3.6)])),
        device_sessions=(DeviceSession(sport="cycling", distance_km=1.5),),
        parse_warnings=("FIT_TRUNCATED",),
    )
    clean, removed = remove_glitches(track)
    assert removed == 1
    assert clean.device_sessions == track.device_sessions
    assert clean.parse_warnings == ("FIT_TRUNCATED",)
