"""domain/profile: the drawing profile from the full points, and its packed row."""

from __future__ import annotations

import numpy as np
import pytest

from contravento.domain import compute_stats, parse_gpx, remove_glitches
from contravento.domain.elevation import gain_loss
from contravento.domain.packed_profile import PackedProfileError, pack_profile, unpack_profile
from contravento.domain.profile import MAX_SAMPLES, series_profile, track_profile
from contravento.domain.track import ParsedTrack, Segment
from tests.support import sample


def _clean(name: str) -> ParsedTrack:
    return remove_glitches(parse_gpx(sample(name)))[0]


def test_a_short_ride_keeps_every_point_and_its_gain() -> None:
    track = _clean("strava-ride-power-hr-cad.gpx")  # 314 points, one segment
    profile = track_profile(track)
    stats = compute_stats(track)
    assert profile.sample_count == profile.source_point_count == track.point_count == 314
    assert profile.distance_km[0] == 0.0
    assert profile.distance_km[-1] == pytest.approx(stats.distance_km, abs=1e-9)
    assert (np.diff(profile.distance_km) >= 0).all()
    # the chart is what the number counts: same smoothing, same gain and loss
    gain, loss = gain_loss(profile.elevation_m)
    assert (gain, loss) == pytest.approx((stats.elevation_gain_m, stats.elevation_loss_m))
    assert set(profile.sensors) == {"hr", "cadence", "power"}
    assert np.nanmax(profile.sensors["hr"]) == stats.max_hr


def test_a_long_ride_is_downsampled_keeping_its_shape() -> None:
    track = _clean("movescount-viking-gpx10-two-overlapping-tracks.gpx")  # 15,003 points
    profile = track_profile(track)
    stats = compute_stats(track)
    assert profile.source_point_count == track.point_count > MAX_SAMPLES
    assert profile.sample_count == MAX_SAMPLES
    assert profile.distance_km[0] == 0.0
    assert profile.distance_km[-1] == pytest.approx(stats.distance_km, abs=1e-9)
    assert np.nanmax(profile.elevation_m) == pytest.approx(stats.max_elevation_m)
    assert np.nanmin(profile.elevation_m) == pytest.approx(stats.min_elevation_m)
    hike = track_profile(_clean("endomondo-hike-hr-sparse-elevation-glitches.gpx"))
    assert hike.sample_count == len(hike.elevation_m) == len(hike.sensors["hr"]) == MAX_SAMPLES


def test_segments_without_elevation_or_sensors() -> None:
    profile = track_profile(_clean("osm-api-traces-gpx10-no-elevation.gpx"))
    assert profile.sample_count == MAX_SAMPLES
    assert np.isnan(profile.elevation_m).all()
    assert profile.sensors == {}


def test_sensor_means_over_each_samples_share() -> None:
    n = 5000
    hr = np.full(n, 100.0)
    hr[::2] = 140.0  # alternating: a point sample would be 100 or 140, the mean is 120
    power = np.full(n, np.nan)  # recorded as a column, never with a value: absent
    cadence = np.full(n, np.nan)
    cadence[:10] = 90.0
    profile = series_profile(
        np.linspace(0, 50, n),
        np.sin(np.linspace(0, 20, n)) * 100,
        {"hr": hr, "power": power, "cadence": cadence},
        max_samples=200,
    )
    assert profile.sample_count == 200 and set(profile.sensors) == {"hr", "cadence"}
    assert profile.sensors["hr"][1:-1] == pytest.approx(120.0, abs=2.0)
    assert profile.sensors["cadence"][0] == 90.0 and np.isnan(profile.sensors["cadence"][-1])


def test_missing_elevations_stay_missing() -> None:
    n = 3000
    ele = np.linspace(0, 300, n)
    ele[1000:1500] = np.nan
    profile = series_profile(np.linspace(0, 30, n), ele, {}, max_samples=500)
    inside = (profile.distance_km > 10.01) & (profile.distance_km < 14.99)
    assert inside.any() and np.isnan(profile.elevation_m[inside]).all()
    assert not np.isnan(profile.elevation_m[~inside]).any()


def test_packed_round_trip_and_size() -> None:
    profile = track_profile(_clean("movescount-viking-gpx10-two-overlapping-tracks.gpx"))
    packed = pack_profile(profile)
    assert len(packed.data) == (2 + len(profile.sensors)) * 4 * profile.sample_count
    back = unpack_profile(packed)
    assert back.source_point_count == profile.source_point_count
    np.testing.assert_allclose(back.distance_km, profile.distance_km, rtol=1e-6)
    np.testing.assert_allclose(back.elevation_m, profile.elevation_m, rtol=1e-6)
    assert set(back.sensors) == set(profile.sensors)
    with pytest.raises(PackedProfileError):
        unpack_profile(packed.__class__(1, profile.sample_count, packed.columns, b"x"))


def test_one_point_ride() -> None:
    seg = Segment(
        np.array([40.0]), np.array([-4.0]), np.array([700.0]),
        np.array(["2026-01-01T00:00"], dtype="datetime64[ms]"),
    )  # fmt: skip
    profile = track_profile(ParsedTrack(segments=(seg,)))
    assert profile.sample_count == 1 and profile.elevation_m.tolist() == [700.0]
