"""Times that lie never cost a point: each class on real files whose times were rewritten
(tests/data/time, made by make_time_samples.py), the real samples themselves, and the edges
of each rule on hand-made tracks."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import gpxpy
import pytest
from gpx_factory import Pt, gpx, line
from hypothesis import given, settings
from hypothesis import strategies as st

from contravento.domain import parse_gpx, remove_glitches, summarize
from contravento.domain.stats import RouteStats
from contravento.domain.time_quality import judge_times

DATA = Path(__file__).resolve().parents[1] / "data"
TIME = DATA / "time"
SAMPLES = DATA / "samples"
_TRKPT = re.compile(rb"<trkpt\b.*?</trkpt>", re.S)
_TIME = re.compile(rb"<time>[^<]*</time>")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_time_samples", TIME / "make_time_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stats(name: str, received_at: datetime | None = None) -> RouteStats:
    return summarize((TIME / name).read_bytes(), received_at=received_at).stats


def _positions_only(data: bytes) -> RouteStats:
    """The same file with every trackpoint time removed: what its positions alone say."""
    stripped = _TRKPT.sub(lambda block: _TIME.sub(b"", block.group(0)), data)
    stats = summarize(stripped).stats
    assert stats.time_quality == "absent"
    return stats


def _gpxpy_km(data: bytes) -> float:
    return float(gpxpy.parse(data.decode("latin-1")).length_2d()) / 1000


def _source_start(name: str) -> datetime:
    start = summarize((SAMPLES / name).read_bytes()).stats.start_time
    assert start is not None
    return start


def test_the_script_reproduces_the_committed_files_byte_for_byte() -> None:
    made = _script().generate()
    assert sorted(made) == sorted(p.name for p in TIME.glob("*.gpx"))
    for name, data in made.items():
        assert (TIME / name).read_bytes() == data, name


# file, class, where it happened (IANA zone of the place SOURCES.md names), the ride's date:
# the source's own start ("source"), that start to the minute ("minute"), or none believable
CASES = [
    ("gpsbabel-1901-every-point-184pts.gpx", "constant", "Europe/Berlin", None),
    ("strava-ride-one-time-on-every-point.gpx", "constant", "America/New_York", "source"),
    ("mytourbook-ride-clock-from-1970.gpx", "impossible_epoch", "Pacific/Auckland", None),
    ("expertgps-etrex-clock-unset-2000.gpx", "impossible_epoch", "America/New_York", None),
    ("garmin-connect-run-reversed.gpx", "backwards", "America/Los_Angeles", "source"),
    ("mapsource-days-merged-out-of-order.gpx", "backwards", "Europe/Berlin", "source"),
    ("strava-run-times-to-the-minute.gpx", "repeated", "America/Los_Angeles", "minute"),
]
SOURCE = {
    "strava-ride-one-time-on-every-point.gpx": "strava-ride-power-hr-cad.gpx",
    "garmin-connect-run-reversed.gpx": "garmin-connect-run-hr-cad-ns3-prefix.gpx",
    "mapsource-days-merged-out-of-order.gpx": "garmin-mapsource-three-day-multitrack.gpx",
    "strava-run-times-to-the-minute.gpx": "strava-run-hr-gps-spike.gpx",
}


@pytest.mark.parametrize(("name", "quality", "zone", "date"), CASES, ids=[c[0] for c in CASES])
def test_unusable_times_leave_the_positions_whole(
    name: str, quality: str, zone: str, date: str | None
) -> None:
    data = (TIME / name).read_bytes()
    stats = _stats(name)
    positions = _positions_only(data)
    assert stats.time_quality == quality
    # not one point lost to the times: distance, elevation and extent are the positions' own
    assert stats.glitch_point_count == 0
    assert stats.point_count == positions.point_count == parse_gpx(data).point_count
    assert stats.distance_km == positions.distance_km
    assert stats.elevation_gain_m == positions.elevation_gain_m
    assert stats.elevation_loss_m == positions.elevation_loss_m
    assert stats.distance_km == pytest.approx(_gpxpy_km(data), rel=0.005)
    # nothing that needs a believable clock
    assert (stats.end_time, stats.duration_s, stats.moving_time_s) == (None, None, None)
    assert (stats.avg_speed_kmh, stats.max_speed_kmh) == (None, None)
    assert stats.timezone == zone
    if date is None:
        assert stats.start_time is None and stats.start_time_local is None
    else:
        expected = _source_start(SOURCE[name])
        if date == "minute":
            expected = expected.replace(second=0)
        assert stats.start_time == expected
        assert stats.start_time_local is not None
        assert datetime.fromisoformat(stats.start_time_local) == expected


def test_gpsbabel_1901_hike_keeps_its_184_points_and_2_7_km() -> None:
    data = (TIME / "gpsbabel-1901-every-point-184pts.gpx").read_bytes()
    raw = parse_gpx(data)
    assert raw.point_count == 184
    # the bug: judged by speed, a zero time step is infinitely fast and the walk vanishes
    _, removed_by_speed = remove_glitches(raw)
    assert removed_by_speed >= 180
    stats = summarize(data).stats
    assert stats.point_count == 184 and stats.glitch_point_count == 0
    assert stats.distance_km == pytest.approx(_gpxpy_km(data), rel=0.005)
    assert 2.6 < stats.distance_km < 2.8
    summary = summarize(data)
    assert summary.simplified.point_count >= 2
    assert summary.profile.distance_km[-1] == pytest.approx(stats.distance_km, rel=1e-3)


def test_rollover_is_recognised_when_the_file_is_fresh() -> None:
    name = "gpsmap64s-week-rollover-1024-weeks-back.gpx"
    source = summarize((SAMPLES / "garmin-gpsmap64s-hike-two-segments.gpx").read_bytes()).stats
    assert source.start_time is not None
    uploaded = source.start_time + timedelta(days=1)  # synced the day after the hike
    fresh = _stats(name, received_at=uploaded)
    assert fresh.time_quality == "impossible_epoch"
    assert fresh.start_time is None and fresh.moving_time_s is None
    assert fresh.distance_km == _positions_only((TIME / name).read_bytes()).distance_km
    # without knowing when it arrived, or years later, it is a hike of 1999: nothing to tell
    for received in (None, uploaded + timedelta(days=400)):
        old = _stats(name, received_at=received)
        assert old.time_quality == "ok"
        assert old.start_time == source.start_time - timedelta(weeks=1024)
        assert old.duration_s == source.duration_s
        assert old.moving_time_s == source.moving_time_s


def test_a_real_ride_of_long_ago_is_no_rollover() -> None:
    data = (SAMPLES / "garmin-mapsource-three-day-multitrack.gpx").read_bytes()
    assert summarize(data, received_at=datetime.now(UTC)).stats.time_quality == "ok"


# every real sample: what SOURCES.md says of its times, and the zone of the place it names
REAL = {
    "endomondo-hike-hr-sparse-elevation-glitches.gpx": ("ok", "Europe/Ljubljana"),
    "expertgps-etrex-duathlon-multitrack-waypoints.gpx": ("ok", "America/New_York"),
    "garmin-connect-run-hr-cad-ns3-prefix.gpx": ("ok", "America/Los_Angeles"),
    "garmin-gpsmap64s-hike-two-segments.gpx": ("ok", "Europe/Berlin"),
    "garmin-handheld-stale-first-last-point-glitch.gpx": ("ok", "Europe/Rome"),
    "garmin-mapsource-three-day-multitrack.gpx": ("ok", "Europe/Berlin"),
    "mytourbook-ride-98km-cadence.gpx": ("ok", "Pacific/Auckland"),
    # trace 1: 2,280 points in 56 s, 46 moves of ~30 m in zero time: scrambled stamps
    "osm-api-traces-gpx10-no-elevation.gpx": ("repeated", "America/New_York"),
    "osmand-hike-recording-long.gpx": ("ok", "Europe/Madrid"),
    "ridewithgps-route-pois-no-time.gpx": ("absent", "America/Los_Angeles"),
    "strava-ride-power-hr-cad.gpx": ("ok", "America/New_York"),
    "strava-run-hr-gps-spike.gpx": ("ok", "America/Los_Angeles"),
    "tomtom-watch-run-long.gpx": ("ok", "Europe/London"),
}


def test_every_real_sample_is_listed() -> None:
    listed = set(REAL) | {"movescount-viking-gpx10-two-overlapping-tracks.gpx"}
    assert listed == {p.name for p in SAMPLES.glob("*.gpx")}


@pytest.mark.parametrize(("name", "expected"), sorted(REAL.items()), ids=sorted(REAL))
def test_real_samples(name: str, expected: tuple[str, str]) -> None:
    stats = summarize((SAMPLES / name).read_bytes()).stats
    assert (stats.time_quality, stats.timezone) == expected


# the offset in force on the ride's day, where it was: summer time or not
LOCAL = [
    ("mytourbook-ride-98km-cadence.gpx", "+13:00"),  # Dunedin, March: NZ daylight time
    ("strava-run-hr-gps-spike.gpx", "-08:00"),  # San Francisco, January
    ("garmin-connect-run-hr-cad-ns3-prefix.gpx", "-07:00"),  # Los Gatos, July
    ("tomtom-watch-run-long.gpx", "+01:00"),  # Kent, May: BST
    ("osmand-hike-recording-long.gpx", "+01:00"),  # Spain, 19 March 2023: summer time was 26th
    ("garmin-gpsmap64s-hike-two-segments.gpx", "+02:00"),  # Bavaria, May
]


@pytest.mark.parametrize(("name", "offset"), LOCAL, ids=[n for n, _ in LOCAL])
def test_start_time_is_written_on_the_rides_clock(name: str, offset: str) -> None:
    stats = summarize((SAMPLES / name).read_bytes()).stats
    assert stats.start_time_local is not None and stats.start_time is not None
    assert stats.start_time_local.endswith(offset)
    assert datetime.fromisoformat(stats.start_time_local) == stats.start_time
    assert stats.to_dict()["start_time_local"] == stats.start_time_local


def test_dict_carries_the_verdict_and_the_zone() -> None:
    out = _stats("gpsbabel-1901-every-point-184pts.gpx").to_dict()
    assert out["time_quality"] == "constant"
    assert out["timezone"] == "Europe/Berlin"
    assert out["start_time_local"] is None and out["start_time"] is None


# -- the edges of each rule, on hand-made tracks -------------------------------------------


def test_a_few_1901_stamps_only_lose_their_own_times() -> None:
    pts = line(200, step_m=5.0)
    for p in pts[10:13]:
        p.time = datetime(1901, 12, 13, 20, 45, 52, tzinfo=UTC)
    stats = summarize(gpx([pts])).stats
    assert stats.time_quality == "ok"
    assert stats.point_count == 200 and stats.glitch_point_count == 0
    assert stats.duration_s == pytest.approx(199.0)
    assert stats.start_time == pts[0].time


def test_half_the_stamps_before_gps_is_an_impossible_epoch() -> None:
    pts = line(100, step_m=5.0)
    for i, p in enumerate(pts[:50]):
        p.time = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
    judged = judge_times(parse_gpx(gpx([pts])))
    assert judged.quality == "impossible_epoch" and not judged.usable
    assert judged.start_time is None
    assert not judged.track.has_time


def test_one_stale_point_back_in_time_is_the_glitch_filters_not_backwards() -> None:
    pts = line(200, step_m=5.0)
    pts[-1].time = pts[0].time
    stats = summarize(gpx([pts])).stats
    assert stats.time_quality == "ok" and stats.glitch_point_count == 1


def test_a_stretch_back_in_time_is_backwards() -> None:
    pts = line(200, step_m=5.0)
    head = [p.time for p in pts[:100]]
    for p, when in zip(pts[100:], head, strict=True):  # the second half re-uses the first's
        p.time = when
    stats = summarize(gpx([pts])).stats
    assert stats.time_quality == "backwards"
    assert stats.point_count == 200 and stats.glitch_point_count == 0


@pytest.mark.parametrize(("repeats", "quality"), [(5, "ok"), (40, "repeated")])
def test_moves_in_zero_time_are_repeated_past_a_tenth(repeats: int, quality: str) -> None:
    pts = line(200, step_m=5.0)
    for i in range(repeats):  # every fifth point takes the time of the one before
        pts[5 * i + 1].time = pts[5 * i].time
    assert summarize(gpx([pts])).stats.time_quality == quality


def test_two_points_at_the_same_instant_are_constant() -> None:
    pts = line(2, step_m=50.0)
    pts[1].time = pts[0].time
    stats = summarize(gpx([pts])).stats
    assert stats.time_quality == "constant"
    assert stats.distance_km == pytest.approx(0.05, rel=0.01)


def test_a_clock_starting_on_2000_01_01_is_unset() -> None:
    pts = line(100, step_m=5.0)
    for i, p in enumerate(pts):
        p.time = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
    assert summarize(gpx([pts])).stats.time_quality == "impossible_epoch"
    for i, p in enumerate(pts):  # the day after is a ride like any other
        p.time = datetime(2000, 1, 2, 9, tzinfo=UTC) + timedelta(seconds=i)
    assert summarize(gpx([pts])).stats.time_quality == "ok"


# -- properties: whatever the times say, the positions are the positions ---------------------

_INSTANT = st.datetimes(datetime(1901, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


@st.composite
def _retimed_walk(draw: st.DrawFn) -> tuple[bytes, bytes, str]:
    """A walk with times rewritten one of the ways files lie: (file, the same untimed, how)."""
    n = draw(st.integers(20, 300))
    step = draw(st.floats(1.0, 40.0))
    pts = line(n, step_m=step, bearing=draw(st.floats(0, 360)), dt_s=draw(st.floats(1, 10)))
    untimed = gpx([[Pt(p.lat, p.lon, p.ele, None) for p in pts]])
    how = draw(st.sampled_from(["constant", "shuffled", "minute", "from_1901"]))
    times = [p.time for p in pts]
    if how == "constant":
        instant = draw(_INSTANT)
        times = [instant] * n
    elif how == "shuffled":
        times = draw(st.permutations(times))
    elif how == "minute":
        times = [t.replace(second=0) for t in times if t is not None]
    else:
        start = datetime(1901, 12, 13, 20, 45, 52, tzinfo=UTC)
        times = [start + (t - pts[0].time) for t in times if t is not None and pts[0].time]
    for p, when in zip(pts, times, strict=True):
        p.time = when
    return gpx([pts]), untimed, how


@settings(max_examples=120, deadline=None)
@given(_retimed_walk())
def test_times_never_cost_a_position(case: tuple[bytes, bytes, str]) -> None:
    data, untimed, how = case
    stats = summarize(data).stats
    positions = summarize(untimed).stats
    if stats.time_quality == "ok":
        # only a shuffle that left nearly every point in order (hypothesis tries the identity)
        # can pass as believable; then the glitch filter's rules apply as to any ride
        assert how == "shuffled"
        return
    assert stats.point_count == positions.point_count and stats.glitch_point_count == 0
    assert stats.distance_km == positions.distance_km
    assert stats.moving_time_s is None and stats.max_speed_kmh is None
