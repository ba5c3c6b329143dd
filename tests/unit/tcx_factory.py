"""TCX documents written from values, for the round-trip and hostile-input tests.

Written with lxml's element API (not string templates), the way an exporter would, so the
parser is checked against a document that is valid TCX v2 by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
_NSMAP = {None: TCX_NS, "ns3": TPX_NS}


@dataclass
class TPoint:
    time: datetime | None = None
    lat: float | None = None  # None: a trackpoint without <Position>
    lon: float | None = None
    ele: float | None = None
    hr: float | None = None
    cadence: float | None = None
    power: float | None = None


@dataclass
class TLap:
    start: datetime
    tracks: list[list[TPoint]]
    time_s: float | None = None
    distance_m: float | None = None
    max_speed_ms: float | None = None
    calories: int | None = None
    avg_hr: int | None = None
    max_hr: int | None = None
    avg_power: float | None = None
    max_power: float | None = None


@dataclass
class TActivity:
    sport: str
    laps: list[TLap] = field(default_factory=list)
    creator: str | None = None


def _sub(parent: etree._Element, name: str, text: object | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{TCX_NS}}}{name}")
    if text is not None:
        el.text = text if isinstance(text, str) else repr(text)
    return el


def _when(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _point(track: etree._Element, p: TPoint) -> None:
    el = _sub(track, "Trackpoint")
    if p.time is not None:
        _sub(el, "Time", _when(p.time))
    if p.lat is not None and p.lon is not None:
        pos = _sub(el, "Position")
        _sub(pos, "LatitudeDegrees", p.lat)
        _sub(pos, "LongitudeDegrees", p.lon)
    if p.ele is not None:
        _sub(el, "AltitudeMeters", p.ele)
    if p.hr is not None:
        _sub(_sub(el, "HeartRateBpm"), "Value", str(int(p.hr)))
    if p.cadence is not None:
        _sub(el, "Cadence", str(int(p.cadence)))
    if p.power is not None:
        tpx = etree.SubElement(_sub(el, "Extensions"), f"{{{TPX_NS}}}TPX")
        etree.SubElement(tpx, f"{{{TPX_NS}}}Watts").text = str(int(p.power))


def _lap(activity: etree._Element, lap: TLap) -> None:
    el = _sub(activity, "Lap")
    el.set("StartTime", _when(lap.start))
    for name, value in (
        ("TotalTimeSeconds", lap.time_s),
        ("DistanceMeters", lap.distance_m),
        ("MaximumSpeed", lap.max_speed_ms),
        ("Calories", lap.calories),
    ):
        if value is not None:
            _sub(el, name, str(value))
    for name, bpm in (("AverageHeartRateBpm", lap.avg_hr), ("MaximumHeartRateBpm", lap.max_hr)):
        if bpm is not None:
            _sub(_sub(el, name), "Value", str(bpm))
    _sub(el, "Intensity", "Active")
    _sub(el, "TriggerMethod", "Manual")
    for points in lap.tracks:
        track = _sub(el, "Track")
        for p in points:
            _point(track, p)
    if lap.avg_power is not None or lap.max_power is not None:
        lx = etree.SubElement(_sub(el, "Extensions"), f"{{{TPX_NS}}}LX")
        if lap.avg_power is not None:
            etree.SubElement(lx, f"{{{TPX_NS}}}AvgWatts").text = str(int(lap.avg_power))
        if lap.max_power is not None:
            etree.SubElement(lx, f"{{{TPX_NS}}}MaxWatts").text = str(int(lap.max_power))


def tcx(activities: list[TActivity], *, courses: int = 0) -> bytes:
    """A TCX document: the activities, then `courses` planned courses of two points."""
    root = etree.Element(f"{{{TCX_NS}}}TrainingCenterDatabase", nsmap=_NSMAP)
    if activities:
        acts = _sub(root, "Activities")
        for activity in activities:
            el = _sub(acts, "Activity")
            el.set("Sport", activity.sport)
            first = activity.laps[0].start if activity.laps else None
            if first is not None:
                _sub(el, "Id", _when(first))
            for lap in activity.laps:
                _lap(el, lap)
            if activity.creator is not None:
                creator = _sub(el, "Creator")
                creator.set("{http://www.w3.org/2001/XMLSchema-instance}type", "Device_t")
                _sub(creator, "Name", activity.creator)
    if courses:
        container = _sub(root, "Courses")
        for i in range(courses):
            course = _sub(container, "Course")
            _sub(course, "Name", f"Ruta {i}")
            track = _sub(course, "Track")
            for j in range(2):
                _point(track, TPoint(lat=43.0 + j * 0.001, lon=-2.0))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def straight_points(
    n: int, start: datetime, *, lat0: float = 43.0, step_deg: float = 1e-4
) -> list[TPoint]:
    """`n` positioned points one second apart, heading north."""
    from datetime import timedelta

    return [
        TPoint(
            time=start + timedelta(seconds=i),
            lat=lat0 + i * step_deg,
            lon=-2.0,
            ele=100.0 + math.sin(i / 10.0),
            hr=120 + i % 30,
        )
        for i in range(n)
    ]
