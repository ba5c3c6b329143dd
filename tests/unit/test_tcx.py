"""TCX: known answers on real files, hostile XML, and a round trip of random tracks.

Every known answer is checked against an independent reading of the same bytes: the
standard library's ElementTree for the structure and the lap totals, gpxpy's haversine for
the distance, so the parser is never checked against itself.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy.geo
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tcx_factory import TActivity, TLap, TPoint, straight_points, tcx

from contravento.domain import GPXError, GPXMalformedError, GPXUnsafeXMLError, summarize
from contravento.domain.errors import (
    GPXInvalidCoordinatesError,
    GPXTooManyPointsError,
    ProcessingCancelled,
    TCXNotAnActivityError,
    TCXNoTrackpointsError,
    UnsupportedFormatError,
)
from contravento.domain.formats import TrackFormat, parse_track, sniff
from contravento.domain.tcx import parse_tcx

DATA = Path(__file__).resolve().parents[1] / "data" / "tcx"
NS = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"}
ACTIVITY_SAMPLES = sorted(p.name for p in DATA.glob("*.tcx") if "not-an-activity" not in p.name)
T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)


# --- an independent reading of a file (ElementTree + gpxpy) -----------------------------


def _tree(name: str) -> ET.Element:
    return ET.parse(DATA / name).getroot()


def _positioned_tracks(name: str) -> list[list[tuple[float, float]]]:
    out = []
    for track in _tree(name).iterfind(".//t:Activity//t:Track", NS):
        points = []
        for tp in track.iterfind("t:Trackpoint", NS):
            lat = tp.find("t:Position/t:LatitudeDegrees", NS)
            lon = tp.find("t:Position/t:LongitudeDegrees", NS)
            if lat is not None and lon is not None:
                points.append((float(lat.text or "nan"), float(lon.text or "nan")))
        if points:
            out.append(points)
    return out


def _haversine_km(tracks: list[list[tuple[float, float]]]) -> float:
    metres = sum(
        gpxpy.geo.haversine_distance(a[0], a[1], b[0], b[1])
        for points in tracks
        for a, b in itertools.pairwise(points)
    )
    return metres / 1000.0


def _lap_values(activity: ET.Element, path: str) -> list[float]:
    return [float(el.text or "nan") for el in activity.iterfind(f"t:Lap/{path}", NS)]


# --- known answers on the real samples --------------------------------------------------


@pytest.mark.parametrize("name", ACTIVITY_SAMPLES)
def test_points_and_distance_agree_with_an_independent_reading(name: str) -> None:
    data = (DATA / name).read_bytes()
    parsed = parse_tcx(data)
    tracks = _positioned_tracks(name)
    assert parsed.point_count == sum(len(t) for t in tracks)
    assert len(parsed.segments) == len(tracks)
    assert [len(s) for s in parsed.segments] == [len(t) for t in tracks]
    if tracks:
        first = parsed.segments[0]
        assert (first.lat[0], first.lon[0]) == tracks[0][0]
        stats = summarize(data).stats
        assert stats.glitch_point_count == 0
        # gpxpy's Earth radius is 6378.137 km, ours 6371.0088 km: 0.11 % shorter, no more
        assert stats.distance_km == pytest.approx(_haversine_km(tracks), rel=0.002)
        assert stats.distance_km < _haversine_km(tracks)


@pytest.mark.parametrize("name", ACTIVITY_SAMPLES)
def test_device_sessions_are_the_sum_of_each_activitys_laps(name: str) -> None:
    parsed = parse_tcx((DATA / name).read_bytes())
    activities = list(_tree(name).iterfind(".//t:Activity", NS))
    assert len(parsed.device_sessions) == len(activities)
    for session, activity in zip(parsed.device_sessions, activities, strict=True):
        assert session.sport == activity.get("Sport", "").lower()
        distance = _lap_values(activity, "t:DistanceMeters")
        seconds = _lap_values(activity, "t:TotalTimeSeconds")
        calories = _lap_values(activity, "t:Calories")
        max_hr = _lap_values(activity, "t:MaximumHeartRateBpm/t:Value")
        max_speed = _lap_values(activity, "t:MaximumSpeed")
        assert session.distance_km == pytest.approx(sum(distance) / 1000.0)
        assert session.timer_time_s == pytest.approx(sum(seconds))
        assert session.calories_kcal == pytest.approx(sum(calories))
        assert session.max_hr == (max(max_hr) if max_hr else None)
        if max_speed:
            assert session.max_speed_kmh == pytest.approx(max(max_speed) * 3.6)
        else:  # Fitbit writes no MaximumSpeed
            assert session.max_speed_kmh is None
        first_lap = activity.find("t:Lap", NS)
        assert first_lap is not None
        start = datetime.fromisoformat(first_lap.get("StartTime", "").replace("Z", "+00:00"))
        assert session.start_time == start


def test_edge520_ride_power_cadence_and_lap_extension_totals() -> None:
    parsed = parse_tcx((DATA / "garmin-connect-edge520-ride-watts.tcx").read_bytes())
    (segment,) = parsed.segments
    assert len(segment) == 316  # 317 trackpoints, one without a position
    assert set(segment.sensors) == {"cadence", "power"}
    assert (segment.sensors["power"][:2] == [160.0, 187.0]).all()
    assert (segment.sensors["cadence"][:2] == [63.0, 62.0]).all()
    assert parsed.creator == "Edge 520"
    (session,) = parsed.device_sessions
    assert session.sport == "biking"
    assert session.avg_power == 178 and session.max_power == 552
    assert session.avg_cadence == 106
    assert session.avg_speed_kmh == pytest.approx(5.427000045776367 * 3.6)
    stats = summarize((DATA / "garmin-connect-edge520-ride-watts.tcx").read_bytes()).stats
    assert stats.max_power == 552.0  # the lap's MaxWatts is the highest point too


def test_three_laps_time_weighted_heart_rate() -> None:
    name = "forerunner410-run-three-laps.tcx"
    parsed = parse_tcx((DATA / name).read_bytes())
    (activity,) = _tree(name).iterfind(".//t:Activity", NS)
    avg = _lap_values(activity, "t:AverageHeartRateBpm/t:Value")
    seconds = _lap_values(activity, "t:TotalTimeSeconds")
    assert len(avg) == len(seconds) == 3
    expected = sum(a * s for a, s in zip(avg, seconds, strict=True)) / sum(seconds)
    (session,) = parsed.device_sessions
    assert session.avg_hr == pytest.approx(expected)
    assert parsed.track_count == 3 and len(parsed.segments) == 3
    assert session.timer_time_s == pytest.approx(1992.78)
    assert session.max_hr == 189


def test_two_activities_give_two_sessions_and_one_track() -> None:
    parsed = parse_tcx((DATA / "forerunner910xt-two-activities-26-laps.tcx").read_bytes())
    assert len(parsed.segments) == 26 and parsed.track_count == 26
    first, second = parsed.device_sessions
    assert first.start_time == datetime(2014, 12, 26, 10, 0, 39, tzinfo=UTC)
    assert second.start_time == datetime(2016, 7, 29, 15, 0, 26, tzinfo=UTC)
    assert first.avg_hr is not None and second.avg_hr is None  # the second run had no strap
    assert all("hr" not in s.sensors for s in parsed.segments[15:])


def test_times_with_an_offset_become_utc() -> None:
    parsed = parse_tcx((DATA / "fitbit-versa-ride-hr-utc-offset.tcx").read_bytes())
    segment = parsed.segments[0]
    assert segment.time[0] == np.datetime64("2020-12-27T14:59:36", "ms")  # 15:59:36+01:00
    assert parsed.device_sessions[0].start_time == datetime(2020, 12, 27, 14, 43, 49, tzinfo=UTC)
    assert not np.isnan(segment.sensors["hr"]).any()


@pytest.mark.parametrize(
    "name",
    ["forerunner945-treadmill-indoor-no-position.tcx", "vivoactive-pool-swim-no-position.tcx"],
)
def test_an_activity_without_positions_is_indoor_with_device_totals(name: str) -> None:
    parsed = parse_tcx((DATA / name).read_bytes())
    assert parsed.segments == () and parsed.point_count == 0
    assert parsed.track_count >= 1  # the Tracks were there, only without positions
    (session,) = parsed.device_sessions
    assert session.distance_km is not None and session.distance_km > 1.0
    assert session.timer_time_s is not None and session.timer_time_s > 1000


def test_treadmill_totals() -> None:
    parsed = parse_tcx((DATA / "forerunner945-treadmill-indoor-no-position.tcx").read_bytes())
    (session,) = parsed.device_sessions
    assert session.sport == "running"
    assert session.distance_km == pytest.approx(4.11148)
    assert session.timer_time_s == pytest.approx(1638.071)
    assert session.calories_kcal == 323 and session.max_hr == 144


def test_folders_index_is_not_a_course_and_not_a_point() -> None:
    parsed = parse_tcx((DATA / "training-center-run-hr.tcx").read_bytes())
    assert parsed.point_count == 492 and len(parsed.device_sessions) == 1
    assert parsed.creator is None  # Garmin Training Center writes an Author, no device Creator


@pytest.mark.parametrize(
    "name", ["course-only-not-an-activity.tcx", "workout-only-not-an-activity.tcx"]
)
def test_courses_and_workouts_are_not_activities(name: str) -> None:
    with pytest.raises(TCXNotAnActivityError) as info:
        parse_track((DATA / name).read_bytes(), max_points=1000)
    assert info.value.code == "TCX_NOT_AN_ACTIVITY"
    assert "no es una actividad" in info.value.message


def test_sniffed_and_parsed_through_the_format_registry_also_gzipped() -> None:
    data = (DATA / "garmin-connect-edge520-ride-watts.tcx").read_bytes()
    assert sniff(data[:512]).format is TrackFormat.TCX
    plain = parse_track(data, max_points=10_000)
    zipped = parse_track(gzip.compress(data), max_points=10_000)
    assert plain.point_count == zipped.point_count == 316
    assert np.array_equal(plain.segments[0].lat, zipped.segments[0].lat)


# --- error classes ----------------------------------------------------------------------


def test_an_activity_without_trackpoints() -> None:
    data = tcx([TActivity("Biking", [TLap(T0, tracks=[], time_s=60.0, distance_m=400.0)])])
    with pytest.raises(TCXNoTrackpointsError) as info:
        parse_tcx(data)
    assert info.value.code == "TCX_NO_TRACKPOINTS"


def test_an_empty_activities_element_is_not_an_activity() -> None:
    data = b'<TrainingCenterDatabase xmlns="x"><Activities/></TrainingCenterDatabase>'
    with pytest.raises(TCXNotAnActivityError):
        parse_tcx(data)


def test_course_points_are_never_activity_points() -> None:
    lap = TLap(T0, tracks=[straight_points(5, T0)], time_s=5.0, distance_m=44.0)
    parsed = parse_tcx(tcx([TActivity("Biking", [lap])], courses=3))
    assert parsed.point_count == 5


def test_positions_out_of_range_are_dropped_and_counted() -> None:
    points = straight_points(6, T0)
    points[2].lat = 95.0
    parsed = parse_tcx(tcx([TActivity("Biking", [TLap(T0, tracks=[points])])]))
    assert parsed.point_count == 5 and parsed.invalid_point_count == 1
    for p in points:
        p.lon = 200.0
    with pytest.raises(GPXInvalidCoordinatesError):
        parse_tcx(tcx([TActivity("Biking", [TLap(T0, tracks=[points])])]))


def test_a_root_that_is_not_tcx() -> None:
    with pytest.raises(UnsupportedFormatError):
        parse_tcx(b'<gpx version="1.1"><trk/></gpx>')


def test_too_many_points_and_cancellation() -> None:
    lap = TLap(T0, tracks=[straight_points(5000, T0)])
    data = tcx([TActivity("Biking", [lap])])
    assert parse_tcx(data, max_points=5000).point_count == 5000
    with pytest.raises(GPXTooManyPointsError):
        parse_tcx(data, max_points=4999)
    with pytest.raises(ProcessingCancelled):
        parse_tcx(data, should_stop=lambda: True)


# --- hostile XML, as tests/unit/test_hostile_xml.py does for GPX -------------------------

GOOD = tcx([TActivity("Biking", [TLap(T0, tracks=[straight_points(30, T0)])])])
BODY = (
    '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
    '<Activities><Activity Sport="Biking"><Lap StartTime="2024-05-01T08:00:00Z"><Track>'
    "<Trackpoint><Time>2024-05-01T08:00:00Z</Time><Position><LatitudeDegrees>43</LatitudeDegrees>"
    "<LongitudeDegrees>-2</LongitudeDegrees></Position>{}</Trackpoint>"
    "</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
)
LAUGHS = "\n".join(
    ["<!DOCTYPE TrainingCenterDatabase [", '  <!ENTITY lol "lol">']
    + [
        f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    + ["]>"]
)


def _refused(data: bytes, error: type[GPXError]) -> GPXError:
    """Refused by the TCX parser itself and through the format registry (which sends a root
    hidden beyond the sniffed bytes, behind a long DOCTYPE, to the GPX parser)."""
    for parse in (parse_tcx, lambda d: parse_track(d, max_points=1_000_000)):
        started = time.perf_counter()
        with pytest.raises(error) as info:
            parse(data)
        assert time.perf_counter() - started < 2.0  # refused at once, nothing expanded
    return info.value


def test_billion_laughs() -> None:
    data = f'<?xml version="1.0"?>\n{LAUGHS}\n{BODY.format("<Notes>&lol9;</Notes>")}'
    assert _refused(data.encode(), GPXUnsafeXMLError).code == "GPX_UNSAFE_XML"


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE TrainingCenterDatabase [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE TrainingCenterDatabase [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE TrainingCenterDatabase SYSTEM "http://127.0.0.1:9/tcx.dtd">',
        "<!DOCTYPE TrainingCenterDatabase>",
    ],
)
def test_external_entities_and_any_doctype(doctype: str) -> None:
    data = f'<?xml version="1.0"?>\n{doctype}\n{BODY.format("<Notes>&xxe;</Notes>")}'
    err = _refused(data.encode(), GPXUnsafeXMLError)
    for text in (str(err), err.message, err.detail or ""):
        assert "root:" not in text


@pytest.mark.parametrize("where", ["root", "trackpoint"])
def test_ten_thousand_deep_nesting(where: str) -> None:
    deep = "<a>" * 10_000 + "</a>" * 10_000
    if where == "root":
        data = BODY.replace("<Activities>", f"{deep}<Activities>", 1).format("")
    else:
        data = BODY.format(f"<Extensions>{deep}</Extensions>")
    _refused(data.encode(), GPXUnsafeXMLError)


def test_an_element_flood_between_points_is_refused_before_parsing() -> None:
    data = BODY.format("<Extensions>" + "<x/>" * 500_000 + "</Extensions>")
    _refused(data.encode(), GPXUnsafeXMLError)


@pytest.mark.parametrize("cut", [1, 40, len(GOOD) // 2, len(GOOD) - 5])
def test_truncated_is_malformed_like_gpx(cut: int) -> None:
    err = _refused(GOOD[:cut], GPXMalformedError)
    assert err.code == "GPX_MALFORMED"


def test_undefined_entity_and_trailing_garbage() -> None:
    with pytest.raises(GPXError):
        parse_tcx(GOOD.replace(b"<Track>", b"<Track>&nbsp;", 1))
    with pytest.raises(GPXMalformedError):
        parse_tcx(GOOD + b"<TrainingCenterDatabase>")


# --- round trip: random tracks written as TCX and read back -----------------------------

ROUND_TRIP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def activities(draw: st.DrawFn) -> TActivity:
    laps = []
    clock = T0 + timedelta(seconds=draw(st.integers(0, 10**8)))
    for _ in range(draw(st.integers(1, 3))):
        tracks = []
        start = clock
        for _ in range(draw(st.integers(1, 2))):
            points = []
            for _ in range(draw(st.integers(1, 25))):
                clock += timedelta(milliseconds=draw(st.integers(1, 60_000)))
                positioned = draw(st.booleans()) or draw(st.booleans())  # 3 in 4
                points.append(
                    TPoint(
                        time=clock,
                        lat=draw(st.floats(-90, 90)) if positioned else None,
                        lon=draw(st.floats(-180, 180)) if positioned else None,
                        ele=draw(st.none() | st.floats(-500, 9000)),
                        hr=draw(st.none() | st.integers(30, 230)),
                        cadence=draw(st.none() | st.integers(0, 200)),
                        power=draw(st.none() | st.integers(0, 2000)),
                    )
                )
            tracks.append(points)
        laps.append(
            TLap(
                start,
                tracks,
                time_s=draw(st.none() | st.floats(0, 1e5)),
                distance_m=draw(st.none() | st.floats(0, 1e6)),
                calories=draw(st.none() | st.integers(0, 5000)),
                max_hr=draw(st.none() | st.integers(30, 230)),
            )
        )
    return TActivity(draw(st.sampled_from(["Biking", "Running", "Other"])), laps)


def _column(points: list[TPoint], attr: str) -> np.ndarray:
    return np.array([math.nan if getattr(p, attr) is None else getattr(p, attr) for p in points])


@ROUND_TRIP
@given(st.lists(activities(), min_size=1, max_size=2))
def test_random_tracks_survive_a_round_trip(acts: list[TActivity]) -> None:
    data = tcx(acts)
    tracks = [
        [p for p in t if p.lat is not None] for a in acts for lap in a.laps for t in lap.tracks
    ]
    if not any(tracks):
        parsed = parse_tcx(data)  # indoor: no geometry, the totals stay
        assert parsed.segments == () and len(parsed.device_sessions) == len(acts)
        return
    parsed = parse_tcx(data)
    kept = [t for t in tracks if t]
    assert len(parsed.segments) == len(kept)
    for segment, points in zip(parsed.segments, kept, strict=True):
        assert np.array_equal(segment.lat, _column(points, "lat"))
        assert np.array_equal(segment.lon, _column(points, "lon"))
        assert np.array_equal(segment.ele, _column(points, "ele"), equal_nan=True)
        expected_times = np.array(
            [np.datetime64(p.time.replace(tzinfo=None), "ms") for p in points if p.time]
        )
        assert np.array_equal(segment.time, expected_times)
        for key in ("hr", "cadence", "power"):
            values = _column(points, key)
            if np.isnan(values).all():
                assert key not in segment.sensors
            else:
                assert np.array_equal(segment.sensors[key], values, equal_nan=True)
    for session, act in zip(parsed.device_sessions, acts, strict=True):
        assert session.sport == act.sport.lower()
        distances = [lap.distance_m for lap in act.laps if lap.distance_m is not None]
        assert session.distance_km == (
            pytest.approx(sum(distances) / 1000.0) if distances else None
        )
        calories = [lap.calories for lap in act.laps if lap.calories is not None]
        assert session.calories_kcal == (sum(calories) if calories else None)
        hrs = [lap.max_hr for lap in act.laps if lap.max_hr is not None]
        assert session.max_hr == (max(hrs) if hrs else None)
        assert session.start_time == act.laps[0].start


@ROUND_TRIP
@given(st.binary(max_size=600), st.integers(0, len(GOOD)))
def test_damaged_tcx_never_escapes_the_typed_errors(noise: bytes, at: int) -> None:
    data = GOOD[:at] + noise + GOOD[at:]
    with contextlib.suppress(GPXError):
        parse_track(data, max_points=10_000)


def test_multisport_session_reads_each_sport_and_skips_the_transition() -> None:
    run = tcx([TActivity("Running", [TLap(T0, [straight_points(5, T0)], distance_m=40.0)])])
    ride_start = T0 + timedelta(minutes=30)
    ride = tcx(
        [TActivity("Biking", [TLap(ride_start, [straight_points(7, ride_start)], time_s=7.0)])]
    )

    def activity(doc: bytes) -> bytes:
        return doc[doc.index(b"<Activity ") : doc.index(b"</Activities>")]

    transition = (
        b'<Transition><Lap StartTime="2024-05-01T08:20:00Z"><TotalTimeSeconds>90</TotalTimeSeconds>'
        b"<Track><Trackpoint><Time>2024-05-01T08:20:00Z</Time><Position><LatitudeDegrees>1"
        b"</LatitudeDegrees><LongitudeDegrees>1</LongitudeDegrees></Position></Trackpoint></Track>"
        b"</Lap></Transition>"
    )
    data = (
        b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
        b' xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><Activities>'
        b"<MultiSportSession><Id>2024-05-01T08:00:00Z</Id><FirstSport>"
        + activity(run)
        + b"</FirstSport><NextSport>"
        + transition
        + activity(ride)
        + b"</NextSport></MultiSportSession></Activities></TrainingCenterDatabase>"
    )
    parsed = parse_tcx(data)
    assert [len(s) for s in parsed.segments] == [5, 7]  # the transition's point is not riding
    assert [s.sport for s in parsed.device_sessions] == ["running", "biking"]
    assert parsed.device_sessions[0].distance_km == pytest.approx(0.04)
    assert parsed.device_sessions[1].timer_time_s == 7.0
