"""parse_gpx on hand-made documents: versions, namespaces, encodings, structure, sensors."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from gpx_factory import NS11, T0, TPX1, Pt, gpx, line

from contravento.domain import (
    GPXInvalidCoordinatesError,
    GPXNoTrackpointsError,
    compute_stats,
    parse_gpx,
)
from contravento.domain.times import parse_times

PTS = line(10, step_m=10.0)


def _same_points(data: bytes, expected: list[Pt] = PTS) -> None:
    track = parse_gpx(data)
    assert track.point_count == len(expected)
    seg = track.segments[0]
    np.testing.assert_allclose(seg.lat, [p.lat for p in expected], atol=1e-9)
    np.testing.assert_allclose(seg.lon, [p.lon for p in expected], atol=1e-9)


def test_gpx_11_with_default_namespace() -> None:
    track = parse_gpx(gpx([PTS]))
    _same_points(gpx([PTS]))
    assert track.gpx_version == "1.1"
    assert track.creator == "contravento-tests"
    assert track.track_count == 1
    seg = track.segments[0]
    assert seg.lat.dtype == np.float64
    assert seg.time.dtype == np.dtype("datetime64[ms]")
    assert seg.time[0] == np.datetime64("2024-05-01T08:00:00", "ms")
    assert seg.ele[0] == pytest.approx(100.0)


def test_gpx_10() -> None:
    track = parse_gpx(gpx([PTS], version="1.0"))
    assert track.gpx_version == "1.0"
    _same_points(gpx([PTS], version="1.0"))


def test_no_namespace() -> None:
    _same_points(gpx([PTS], namespace=False))


@pytest.mark.parametrize("prefix", ["g", "ns3", "gpx11"])
def test_odd_namespace_prefixes(prefix: str) -> None:
    pts = [Pt(p.lat, p.lon, p.ele, p.time, {"hr": 120.0}) for p in PTS]
    data = gpx([pts], prefix=prefix, tpx_prefix="ns3" if prefix != "ns3" else "x9")
    _same_points(data, pts)
    assert parse_gpx(data).segments[0].sensors["hr"].tolist() == [120.0] * len(pts)


def test_utf8_bom() -> None:
    _same_points(b"\xef\xbb\xbf" + gpx([PTS]))


def test_utf16_with_bom() -> None:
    text = gpx([PTS]).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    _same_points(text.encode("utf-16"))


def test_crlf_line_endings() -> None:
    data = gpx([PTS], newline="\r\n")
    assert b"\r\n" in data
    _same_points(data)


def test_iso_8859_1_with_accents() -> None:
    text = gpx([PTS], name="Subida al Angliru: ñandú").decode()
    text = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    track = parse_gpx(text.encode("latin-1"))
    assert track.name == "Subida al Angliru: ñandú"
    assert track.point_count == len(PTS)


def test_comments_processing_instructions_and_cdata() -> None:
    text = gpx([PTS], name="x").decode()
    text = text.replace("<trkseg>", "<trkseg><!-- a comment --><?pi data?>", 1)
    text = text.replace("</trkpt>", "</trkpt><!-- between points -->")
    text = text.replace("<name>x</name>", "<name><![CDATA[Vuelta <ría>]]></name>")
    text = text.replace("<gpx ", "<!-- before the root --><gpx ", 1)
    track = parse_gpx(text.encode())
    assert track.point_count == len(PTS)
    assert track.name == "Vuelta <ría>"


def test_lon_before_lat_and_extra_children() -> None:
    data = (
        f'<gpx version="1.1" xmlns="{NS11}"><trk><trkseg>'
        '<trkpt lon="-3.5" lat="40.25"><hdop>3</hdop><ele> 650.5 </ele><sat>7</sat></trkpt>'
        '<trkpt lon="-3.6" lat="40.35"/>'
        "</trkseg></trk></gpx>"
    ).encode()
    seg = parse_gpx(data).segments[0]
    assert seg.lat.tolist() == [40.25, 40.35]
    assert seg.lon.tolist() == [-3.5, -3.6]
    assert seg.ele[0] == 650.5
    assert np.isnan(seg.ele[1])
    assert np.isnat(seg.time).all()


def test_routes_only_is_a_track_without_times() -> None:
    route = line(20, step_m=50.0)  # rtept with <time>: times are ignored for routes
    track = parse_gpx(gpx(routes=[route]))
    assert track.route_count == 1
    assert track.track_count == 0
    assert track.point_count == 20
    assert not track.has_time
    assert track.has_elevation
    stats = compute_stats(track)
    assert stats.distance_km == pytest.approx(19 * 50 / 1000, rel=1e-6)
    assert stats.moving_time_s is None
    assert stats.start_time is None


def test_tracks_win_over_routes() -> None:
    track = parse_gpx(gpx([PTS], routes=[line(50, lat=10.0)]))
    assert track.point_count == len(PTS)
    assert track.route_count == 1
    assert track.has_time


def test_waypoints_are_counted_not_drawn() -> None:
    wpts = [Pt(43.1, -2.1, 50.0), Pt(43.2, -2.2), Pt(43.3, -2.3)]
    track = parse_gpx(gpx([PTS], waypoints=wpts))
    assert track.waypoint_count == 3
    assert track.point_count == len(PTS)
    assert float(track.segments[0].lat.max()) < 43.1


def test_waypoints_only_has_no_trackpoints() -> None:
    with pytest.raises(GPXNoTrackpointsError) as info:
        parse_gpx(gpx(waypoints=[Pt(43.1, -2.1)]))
    assert info.value.code == "GPX_NO_TRACKPOINTS"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<trk></trk>",
        "<trk><trkseg></trkseg></trk>",
        "<rte><name>vacía</name></rte>",
        "<metadata><name>x</name></metadata>",
    ],
)
def test_no_points(body: str) -> None:
    with pytest.raises(GPXNoTrackpointsError):
        parse_gpx(f'<gpx version="1.1" xmlns="{NS11}">{body}</gpx>'.encode())


def test_segments_and_tracks_are_kept_apart() -> None:
    a = line(5, lat=43.0, step_m=10.0)
    b = line(5, lat=43.5, step_m=10.0, t0=T0 + timedelta(hours=1))
    c = line(5, lat=44.0, step_m=10.0, t0=T0 + timedelta(hours=2))
    track = parse_gpx(gpx(tracks=[[a, b], [c]]))
    assert [len(s) for s in track.segments] == [5, 5, 5]
    assert track.track_count == 2


def test_garmin_trackpoint_extension_sensors() -> None:
    pts = [
        Pt(p.lat, p.lon, p.ele, p.time, {"hr": 100 + i, "cad": 80, "atemp": 21.5, "power": 200})
        for i, p in enumerate(PTS)
    ]
    pts[3].ext = {"hr": 150}  # a point without cadence, temperature and power
    sensors = parse_gpx(gpx([pts])).segments[0].sensors
    assert sorted(sensors) == ["cadence", "hr", "power", "temperature"]
    assert sensors["hr"].tolist() == [100 + i if i != 3 else 150 for i in range(len(pts))]
    assert np.isnan(sensors["cadence"][3]) and sensors["cadence"][0] == 80
    assert sensors["temperature"][0] == 21.5
    assert np.isnan(sensors["power"][3]) and sensors["power"][9] == 200


def test_sensor_first_seen_late_and_after_a_chunk_boundary() -> None:
    # 20,000 points cross the parser's 16,384-point chunk; hr starts at point 17,000 only.
    pts = line(20_000, step_m=3.0, ele0=None)
    for i in range(17_000, 20_000):
        pts[i].ext = {"hr": 130.0}
    pts[5].ext = {"cad": 90.0}
    seg = parse_gpx(gpx([pts])).segments[0]
    assert len(seg) == 20_000
    hr, cad = seg.sensors["hr"], seg.sensors["cadence"]
    assert len(hr) == len(cad) == 20_000
    assert np.isnan(hr[:17_000]).all() and (hr[17_000:] == 130.0).all()
    assert cad[5] == 90.0 and np.isnan(np.delete(cad, 5)).all()


def test_strava_bare_power_in_default_namespace() -> None:
    data = (
        f'<gpx version="1.1" xmlns="{NS11}" xmlns:gpxtpx="{TPX1}"><trk><trkseg>'
        '<trkpt lat="1" lon="1"><extensions><power>250</power><gpxtpx:TrackPointExtension>'
        "<gpxtpx:hr>140</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>"
        "</trkseg></trk></gpx>"
    ).encode()
    sensors = parse_gpx(data).segments[0].sensors
    assert sensors["power"].tolist() == [250.0]
    assert sensors["hr"].tolist() == [140.0]


def test_missing_time_and_elevation_become_nat_and_nan() -> None:
    pts = line(4)
    pts[1].ele = None
    pts[2].time = None
    seg = parse_gpx(gpx([pts])).segments[0]
    assert np.isnan(seg.ele[1]) and not np.isnan(seg.ele[0])
    assert np.isnat(seg.time[2]) and not np.isnat(seg.time[3])


def test_out_of_range_points_are_dropped_and_counted() -> None:
    text = gpx([PTS]).decode()
    bad = (
        '<trkpt lat="91" lon="0"/><trkpt lat="0" lon="-180.5"/>'
        '<trkpt lat="nan" lon="0"/><trkpt lon="3"/><trkpt lat="abc" lon="1"/>'
    )
    text = text.replace("<trkseg>", "<trkseg>" + bad, 1)
    track = parse_gpx(text.encode())
    assert track.invalid_point_count == 5
    assert track.point_count == len(PTS)
    assert compute_stats(track).invalid_point_count == 5


def test_boundary_coordinates_are_valid() -> None:
    data = gpx([[Pt(90.0, 180.0), Pt(-90.0, -180.0)]])
    track = parse_gpx(data)
    assert track.point_count == 2
    assert track.invalid_point_count == 0


def test_only_invalid_points_is_an_error() -> None:
    data = gpx([[Pt(95.0, 10.0), Pt(10.0, 200.0)]])
    with pytest.raises(GPXInvalidCoordinatesError) as info:
        parse_gpx(data)
    assert info.value.code == "GPX_INVALID_COORDINATES"


def test_time_offsets_are_converted_to_utc() -> None:
    text = gpx([line(2)]).decode()
    text = text.replace("2024-05-01T08:00:00Z", "2024-05-01T10:00:00+02:00")
    seg = parse_gpx(text.encode()).segments[0]
    assert seg.time[0] == np.datetime64("2024-05-01T08:00:00", "ms")
    assert seg.time[1] == np.datetime64("2024-05-01T08:00:01", "ms")


def test_fractional_seconds_are_kept() -> None:
    text = gpx([line(2)]).decode().replace("08:00:01Z", "08:00:01.250Z")
    seg = parse_gpx(text.encode()).segments[0]
    assert seg.time[1] == np.datetime64("2024-05-01T08:00:01.250", "ms")


@pytest.mark.parametrize(
    "raw",
    [
        "now",
        "today",
        "garbage",
        "",
        "2024-13-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "99999-01-01T00:00:00Z",
        "-2020-01-01T00:00:00Z",
        "1850-01-01T00:00:00Z",
    ],
)
def test_unreadable_times_become_nat(raw: str) -> None:
    """Regression: "now"/"today" read the clock, year 1 with an offset overflowed."""
    times = parse_times([raw, "2024-05-01T08:00:00Z"])
    assert np.isnat(times[0])
    times = parse_times([raw, "2024-05-01T08:00:00+00:00"])  # the per-item fallback path
    assert np.isnat(times[0])
    assert times[1] == np.datetime64("2024-05-01T08:00:00", "ms")


def test_name_comes_from_the_first_track() -> None:
    assert parse_gpx(gpx([PTS], name="Vuelta al Moncayo")).name == "Vuelta al Moncayo"
    assert parse_gpx(gpx([PTS])).name is None
