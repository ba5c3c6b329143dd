"""The same ride in another format, written from a real FIT by the tests: what another
program's export of one recording looks like (other bytes, the same points).

- `fit_as_gpx`: the FIT's positioned points as GPX 1.1 (gpxpy writes it);
- `fit_as_tcx`: the same points as a Garmin TCX v2 (lxml writes it), one lap whose
  DistanceMeters is the FIT device's distance times `lap_distance_factor`: a device total
  that disagrees with the points, as devices' totals do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import gpxpy.gpx
import numpy as np
from lxml import etree
from lxml.builder import ElementMaker

from contravento.domain.device_totals import device_block
from contravento.domain.fit import parse_fit
from contravento.domain.track import ParsedTrack

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _points(track: ParsedTrack) -> list[tuple[float, float, float | None, datetime]]:
    out = []
    for segment in track.segments:
        ms = segment.time.astype("datetime64[ms]").astype(np.int64)
        for lat, lon, ele, t, nat in zip(
            segment.lat, segment.lon, segment.ele, ms, np.isnat(segment.time), strict=True
        ):
            if nat:
                continue
            alt = None if np.isnan(ele) else float(ele)
            out.append((float(lat), float(lon), alt, _EPOCH + timedelta(milliseconds=int(t))))
    return out


def parsed(fit: bytes) -> ParsedTrack:
    return parse_fit(fit, max_points=5_000_000)


def fit_as_gpx(fit: bytes) -> bytes:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "contravento tests (from a FIT)"
    track = gpxpy.gpx.GPXTrack(name="Salida")
    segment = gpxpy.gpx.GPXTrackSegment()
    for lat, lon, ele, t in _points(parsed(fit)):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(lat, lon, elevation=ele, time=t))
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1").encode()


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fit_as_tcx(
    fit: bytes, *, lap_distance_factor: float = 1.0, every_time: datetime | None = None
) -> bytes:
    """`every_time`: that one instant written on every trackpoint (times that lie)."""
    track = parsed(fit)
    device = device_block(track.device_sessions) or {}
    points = _points(track)
    if every_time is not None:
        points = [(lat, lon, ele, every_time) for lat, lon, ele, _t in points]
    e = ElementMaker(namespace=TCX_NS, nsmap={None: TCX_NS})  # type: ignore[dict-item]
    start = points[0][3]
    elapsed = (points[-1][3] - start).total_seconds() or 1.0
    distance_m = float(device["distance_km"]) * 1000.0 * lap_distance_factor
    trackpoints = []
    for lat, lon, ele, t in points:
        children = [
            e.Time(_iso(t)),
            e.Position(e.LatitudeDegrees(repr(lat)), e.LongitudeDegrees(repr(lon))),
        ]
        if ele is not None:
            children.append(e.AltitudeMeters(repr(ele)))
        trackpoints.append(e.Trackpoint(*children))
    lap = e.Lap(
        e.TotalTimeSeconds(repr(float(device.get("timer_time_s") or elapsed))),
        e.DistanceMeters(repr(distance_m)),
        e.Intensity("Active"),
        e.TriggerMethod("Manual"),
        e.Track(*trackpoints),
        StartTime=_iso(start),
    )
    root = e.TrainingCenterDatabase(
        e.Activities(e.Activity(e.Id(_iso(start)), lap, Sport="Biking"))
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def fit_with_every_time(fit: bytes, every_time: datetime) -> bytes:
    """The FIT's positioned points encoded again by Garmin's own FIT encoder, every record
    (and the session) stamped with one instant: a device whose clock was stuck."""
    from garmin_fit_sdk import Encoder, Profile  # the tests' only use of the encoder

    mesg, semi = Profile["mesg_num"], 2**31 / 180.0
    track = parsed(fit)
    device = device_block(track.device_sessions) or {}
    enc = Encoder()
    enc.on_mesg(mesg["FILE_ID"], {"type": "activity", "manufacturer": "development",
                                  "product": 0, "time_created": every_time, "serial_number": 7})  # fmt: skip
    for lat, lon, ele, _t in _points(track):
        record: dict[str, object] = {"timestamp": every_time, "position_lat": round(lat * semi),
                                     "position_long": round(lon * semi)}  # fmt: skip
        if ele is not None:
            record["enhanced_altitude"] = ele
        enc.on_mesg(mesg["RECORD"], record)
    enc.on_mesg(mesg["SESSION"], {
        "start_time": every_time, "timestamp": every_time, "sport": "cycling",
        "total_distance": float(device["distance_km"]) * 1000.0,
        "total_timer_time": float(device["timer_time_s"]),
    })  # fmt: skip
    data: bytes = enc.close()
    return data
