"""Per-file assertions on the real exports, drawn from tests/data/samples/SOURCES.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from contravento.domain import TrackSummary, parse_gpx, summarize

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def load(stem: str) -> TrackSummary:
    return summarize((SAMPLES / f"{stem}.gpx").read_bytes())


def test_garmin_handheld_stale_first_and_last_points_are_removed() -> None:
    s = load("garmin-handheld-stale-first-last-point-glitch")
    assert s.stats.glitch_point_count == 2
    assert s.stats.point_count == 261
    assert s.stats.distance_km == pytest.approx(2.08, abs=0.1)  # not 120 km to Florence and back
    assert s.stats.max_lon < 10.7  # Florence (11.25 E) is gone
    raw = parse_gpx((SAMPLES / "garmin-handheld-stale-first-last-point-glitch.gpx").read_bytes())
    assert raw.point_count == 263


def test_ridewithgps_route_without_times() -> None:
    st = load("ridewithgps-route-pois-no-time").stats
    assert st.point_count == 1352
    assert st.waypoint_count == 4
    assert st.start_time is None and st.end_time is None and st.duration_s is None
    assert st.moving_time_s is None and st.avg_speed_kmh is None and st.max_speed_kmh is None
    assert st.distance_km == pytest.approx(48.3, abs=0.5)
    assert st.elevation_gain_m is not None and 900 < st.elevation_gain_m < 1200


def test_osm_traces_without_elevation() -> None:
    s = load("osm-api-traces-gpx10-no-elevation")
    st = s.stats
    assert s.track.gpx_version == "1.0"
    assert s.track.track_count == 3
    assert st.elevation_gain_m is None and st.elevation_loss_m is None
    assert st.min_elevation_m is None and st.max_elevation_m is None
    assert st.distance_3d_km == pytest.approx(st.distance_km)
    assert st.start_time is not None  # two of the three tracks carry times


def test_strava_ride_power_hr_cadence() -> None:
    st = load("strava-ride-power-hr-cad").stats
    assert st.point_count == 314
    assert st.max_power == 478 and st.avg_power is not None
    assert st.max_hr == 185 and st.avg_hr is not None
    assert st.max_cadence == 98 and st.avg_cadence is not None
    # the 49-min gap at the start (1.8 km at 2.2 km/h) is not riding
    assert st.duration_s == 3511
    assert st.moving_time_s is not None and st.moving_time_s < 700
    assert st.max_speed_kmh == pytest.approx(37.3, abs=1.0)


def test_expertgps_eleven_tracks_and_25_waypoints_latin1_crlf() -> None:
    data = (SAMPLES / "expertgps-etrex-duathlon-multitrack-waypoints.gpx").read_bytes()
    assert b"ISO-8859-1" in data[:100] and b"\r\n" in data
    s = summarize(data)
    assert s.track.track_count == 11
    assert s.stats.waypoint_count == 25
    assert s.stats.point_count == 348
    assert s.track.gpx_version == "1.0"
    timed = [seg for seg in s.track.segments if seg.has_time]
    assert len(timed) == 4


def test_garmin_connect_ns3_prefix_hr_cadence() -> None:
    st = load("garmin-connect-run-hr-cad-ns3-prefix").stats
    assert st.point_count == 988
    assert st.max_hr == 171 and st.max_cadence == 122
    assert st.distance_km == pytest.approx(12.8, abs=0.1)


def test_gpsmap64s_two_segments() -> None:
    st = load("garmin-gpsmap64s-hike-two-segments").stats
    assert st.segment_count == 2 and st.point_count == 3540
    assert st.distance_km == pytest.approx(18.2, abs=0.1)


def test_mapsource_three_tracks() -> None:
    s = load("garmin-mapsource-three-day-multitrack")
    assert s.track.track_count == 3 and s.stats.point_count == 5235
    assert s.stats.distance_km == pytest.approx(81.5, abs=0.2)


def test_endomondo_sparse_elevation_and_single_point_segment() -> None:
    s = load("endomondo-hike-hr-sparse-elevation-glitches")
    assert [len(seg) for seg in s.track.segments] == [5180, 1]
    assert s.stats.elevation_loss_m is not None and s.stats.elevation_loss_m > 1300  # descent
    assert s.stats.max_hr == 166


def test_mytourbook_start_up_elevation_glitch() -> None:
    st = load("mytourbook-ride-98km-cadence").stats
    assert st.distance_km == pytest.approx(97.8, abs=0.3)
    assert (
        st.min_elevation_m is not None and st.min_elevation_m > -18
    )  # the -18 m start is filtered
    assert st.max_cadence is not None


def test_viking_gpx10_two_overlapping_tracks() -> None:
    s = load("movescount-viking-gpx10-two-overlapping-tracks")
    assert s.track.gpx_version == "1.0" and s.track.track_count == 2
    assert s.stats.point_count == 15003


def test_tomtom_lon_before_lat() -> None:
    st = load("tomtom-watch-run-long").stats
    assert st.point_count == 7745
    assert st.distance_km == pytest.approx(21.5, abs=0.1)
    assert 51.0 < st.min_lat < st.max_lat < 51.6  # Kent, so lat and lon were not swapped


def test_strava_run_spike_does_not_set_max_speed() -> None:
    st = load("strava-run-hr-gps-spike").stats
    assert st.max_speed_kmh is not None and st.max_speed_kmh < 30  # a run, not the 82 m/s jump
    assert st.max_hr == 187


def test_osmand_phone_recording() -> None:
    st = load("osmand-hike-recording-long").stats
    assert st.point_count == 4592
    assert st.distance_km == pytest.approx(16.6, abs=0.1)
