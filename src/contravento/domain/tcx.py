"""Safe, streaming TCX (Garmin Training Center Database v2) parsing into the one track model.

The XML parser is GPX's (``gpx._HARDENED``: no DTDs, no entities, no network, libxml2's
depth and size limits), and so are the bounds: a DOCTYPE is refused, markup far beyond what
the trackpoints explain is refused before parsing, more than ``max_points`` trackpoints is
refused, and ``should_stop`` is polled while reading.

What is read: each ``Activity`` (also inside a ``MultiSportSession``); each of its ``Track``
elements is one segment of ``Trackpoint``s (Position, AltitudeMeters, Time, HeartRateBpm,
Cadence, and the ActivityExtension ``TPX`` Watts as power and RunCadence as cadence). The
laps of each activity, summed, are that activity's ``DeviceSession``: what the device said.
Trackpoints without a ``Position`` (pauses, sensor-only records, trainer rides) carry no
geometry and are left out of the segments; an activity in which no trackpoint has one is an
indoor activity: no segments, its device totals kept.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from lxml import etree

from .errors import (
    GPXInvalidCoordinatesError,
    GPXMalformedError,
    GPXTooManyPointsError,
    GPXUnsafeXMLError,
    ProcessingCancelled,
    TCXNotAnActivityError,
    TCXNoTrackpointsError,
    UnsupportedFormatError,
)
from .gpx import (
    _HARDENED,
    DEFAULT_MAX_POINTS,
    ELEMENT_SLACK,
    ELEMENTS_PER_POINT,
    _floats,
    _local,
    _raise_for_syntax,
    _valid_points,
    read_root,
)
from .times import parse_times
from .track import DeviceSession, ParsedTrack, Segment

ROOT = "TrainingCenterDatabase"
_TAGS = ("{*}Activity", "{*}Lap", "{*}Track", "{*}Trackpoint")
_CHUNK = 16384
_RELEASE_EVERY = 256
_POLL_EVERY = 4096


def _check_root(data: bytes) -> None:
    """Read the prolog and the root start tag only: refuse any DOCTYPE and non-TCX roots."""
    root = read_root(data)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise GPXUnsafeXMLError("DOCTYPE present")  # no TCX exporter writes one
    if _local(root.tag) != ROOT:
        raise UnsupportedFormatError(f"root element is {root.tag!r}")


def _check_element_budget(data: bytes) -> None:
    """GPX's rule, counted on `Trackpoint` (each point's start and end tag name it twice)."""
    markup = data.count(b"<")
    points = data.count(b"Trackpoint") // 2
    if markup > 2 * (ELEMENTS_PER_POINT * points + ELEMENT_SLACK):
        raise GPXUnsafeXMLError(f"{markup} tags for at most {points} trackpoints")


# What each element of a trackpoint is, by local name; cached by the full tag ("{ns}Time"), as
# gpx.py does: a file uses a handful of tags, and a dict lookup is cheaper than splitting one.
_OTHER, _TIME, _POSITION, _LAT, _LON, _ELE, _HR, _CADENCE, _EXTENSIONS, _VALUE = range(10)
_WATTS, _RUN_CADENCE = 10, 11
_KIND_BY_NAME = {
    "Time": _TIME,
    "Position": _POSITION,
    "LatitudeDegrees": _LAT,
    "LongitudeDegrees": _LON,
    "AltitudeMeters": _ELE,
    "HeartRateBpm": _HR,
    "Cadence": _CADENCE,
    "Extensions": _EXTENSIONS,
    "Value": _VALUE,
    "Watts": _WATTS,  # TPX: power
    "RunCadence": _RUN_CADENCE,  # TPX: a running cadence, used when there is no Cadence
}
_KINDS: dict[Any, int] = {}
_CACHE_LIMIT = 4096  # hostile files could invent endless tag names: stop caching, not growing


def _kind(tag: Any) -> int:
    kind = _KINDS.get(tag)
    if kind is None:
        kind = _KIND_BY_NAME.get(_local(tag), _OTHER)
        if len(_KINDS) < _CACHE_LIMIT:
            _KINDS[tag] = kind
    return kind


class _TrackBuilder:
    """The strings of one Track's trackpoints, turned into arrays chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []
        self._reset()

    def _reset(self) -> None:
        self.positioned: list[bool] = []
        self.lat: list[str] = []
        self.lon: list[str] = []
        self.ele: list[str] = []
        self.time: list[str | None] = []
        self.hr: list[str] = []
        self.cadence: list[str] = []
        self.power: list[str] = []

    def add(self, point: etree._Element) -> None:
        """Append one trackpoint. Hot path: one cached lookup per child, no string work."""
        lat = lon = ele = hr = cadence = power = "nan"
        when = None
        positioned = False
        kinds = _KINDS
        for child in point:
            kind = kinds.get(child.tag)
            if kind is None:
                kind = _kind(child.tag)
            if kind == _TIME:
                when = child.text
            elif kind == _POSITION:
                positioned = True
                for coord in child:
                    sub = kinds.get(coord.tag)
                    if sub is None:
                        sub = _kind(coord.tag)
                    if sub == _LAT:
                        lat = coord.text or "nan"
                    elif sub == _LON:
                        lon = coord.text or "nan"
            elif kind == _ELE:
                ele = child.text or "nan"
            elif kind == _CADENCE:
                cadence = child.text or "nan"
            elif kind == _HR:
                for value in child:
                    if _kind(value.tag) == _VALUE:
                        hr = value.text or "nan"
            elif kind == _EXTENSIONS:
                for node in child.iter():
                    sub = kinds.get(node.tag)
                    if sub is None:
                        sub = _kind(node.tag)
                    if sub == _WATTS and node.text:
                        power = node.text
                    elif sub == _RUN_CADENCE and node.text and cadence == "nan":
                        cadence = node.text
        self.positioned.append(positioned)
        self.lat.append(lat)
        self.lon.append(lon)
        self.ele.append(ele)
        self.time.append(when)
        self.hr.append(hr)
        self.cadence.append(cadence)
        self.power.append(power)
        if len(self.positioned) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.positioned:
            return
        chunk: dict[str, np.ndarray] = {
            "lat": _floats(self.lat),
            "lon": _floats(self.lon),
            "ele": _floats(self.ele),
            "hr": _floats(self.hr),
            "cadence": _floats(self.cadence),
            "power": _floats(self.power),
            "time": parse_times(self.time),
        }
        chunk["positioned"] = np.array(self.positioned, dtype=bool)
        self.chunks.append(chunk)
        self._reset()

    def build(self) -> tuple[Segment | None, int]:
        """The segment of the positioned trackpoints (None if there are none), and how many
        trackpoints the Track held."""
        self.flush()
        if not self.chunks:
            return None, 0
        whole = {key: np.concatenate([c[key] for c in self.chunks]) for key in self.chunks[0]}
        keep = whole.pop("positioned")
        total = int(keep.shape[0])
        if not keep.any():
            return None, total
        sensors = {
            key: whole[key][keep]
            for key in ("hr", "cadence", "power")
            if not np.isnan(whole[key][keep]).all()
        }
        segment = Segment(
            lat=whole["lat"][keep],
            lon=whole["lon"][keep],
            ele=whole["ele"][keep],
            time=whole["time"][keep],
            sensors=sensors,
        )
        return segment, total


def _value_text(element: etree._Element) -> str:
    """The text of a `<Value>` child (HeartRateBpm_t), or "nan"."""
    for child in element:
        if _local(child.tag) == "Value":
            return (child.text or "").strip() or "nan"
    return "nan"


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


@dataclass
class _Lap:
    start: str | None
    time_s: float | None = None
    distance_m: float | None = None
    max_speed_ms: float | None = None
    calories: float | None = None
    avg_hr: float | None = None
    max_hr: float | None = None
    avg_cadence: float | None = None
    avg_speed_ms: float | None = None
    avg_power: float | None = None
    max_power: float | None = None


_LAP_FIELDS = {
    "TotalTimeSeconds": "time_s",
    "DistanceMeters": "distance_m",
    "MaximumSpeed": "max_speed_ms",
    "Calories": "calories",
    "Cadence": "avg_cadence",
}
_LAP_HR = {"AverageHeartRateBpm": "avg_hr", "MaximumHeartRateBpm": "max_hr"}
_LAP_EXTENSIONS = {"AvgSpeed": "avg_speed_ms", "AvgWatts": "avg_power", "MaxWatts": "max_power"}


def _read_lap(lap: etree._Element) -> _Lap:
    out = _Lap(start=lap.get("StartTime"))
    for child in lap:
        name = _local(child.tag)
        if name in _LAP_FIELDS:
            setattr(out, _LAP_FIELDS[name], _number(child.text))
        elif name in _LAP_HR:
            setattr(out, _LAP_HR[name], _number(_value_text(child)))
        elif name == "Extensions":
            for node in child.iter():
                key = _LAP_EXTENSIONS.get(_local(node.tag))
                if key is not None:
                    setattr(out, key, _number(node.text))
    return out


def _total(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _highest(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _time_weighted(laps: list[_Lap], attr: str) -> float | None:
    """The mean of a per-lap average over the laps that carry it, weighted by lap time."""
    pairs: list[tuple[float, float | None]] = [
        (value, lap.time_s) for lap in laps if (value := getattr(lap, attr)) is not None
    ]
    if not pairs:
        return None
    weight = sum(t for _v, t in pairs if t)
    if weight <= 0:
        return sum(v for v, _t in pairs) / len(pairs)
    return sum(v * (t or 0.0) for v, t in pairs) / weight


def _kmh(value: float | None) -> float | None:
    return None if value is None else value * 3.6


def _start_time(laps: list[_Lap]) -> datetime | None:
    starts = parse_times([lap.start for lap in laps[:1]])
    if not starts.shape[0] or np.isnat(starts[0]):
        return None
    millis = int(starts[0].astype("datetime64[ms]").astype(np.int64))
    return datetime.fromtimestamp(millis / 1000.0, tz=UTC)


def _session(sport: str | None, laps: list[_Lap]) -> DeviceSession:
    """An activity's laps, summed: distance, timer time and calories; the highest maxima;
    lap averages weighted by lap time."""
    distance_m = _total([lap.distance_m for lap in laps])
    return DeviceSession(
        sport=sport.lower() if sport else None,
        start_time=_start_time(laps),
        distance_km=None if distance_m is None else distance_m / 1000.0,
        timer_time_s=_total([lap.time_s for lap in laps]),
        max_speed_kmh=_kmh(_highest([lap.max_speed_ms for lap in laps])),
        avg_speed_kmh=_kmh(_time_weighted(laps, "avg_speed_ms")),
        avg_hr=_time_weighted(laps, "avg_hr"),
        max_hr=_highest([lap.max_hr for lap in laps]),
        avg_cadence=_time_weighted(laps, "avg_cadence"),
        avg_power=_time_weighted(laps, "avg_power"),
        max_power=_highest([lap.max_power for lap in laps]),
        calories_kcal=_total([lap.calories for lap in laps]),
    )


@dataclass
class _Reading:
    """What the walk over the document has gathered so far."""

    segments: list[Segment] = field(default_factory=list)
    sessions: list[DeviceSession] = field(default_factory=list)
    activities: int = 0
    tracks: int = 0
    trackpoints: int = 0  # inside activities, positioned or not
    creator: str | None = None


def _events(data: bytes) -> Iterator[tuple[str, etree._Element]]:
    context = etree.iterparse(io.BytesIO(data), events=("start", "end"), tag=_TAGS, **_HARDENED)
    try:
        yield from context
    except etree.XMLSyntaxError as exc:
        raise _raise_for_syntax(exc) from exc


def _release(el: etree._Element) -> None:
    """Free a processed element and the siblings already handled before it."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        index = parent.index(el)
        if index:
            del parent[:index]


def _creator_name(activity: etree._Element) -> str | None:
    for child in activity:
        if _local(child.tag) == "Creator":
            for node in child:
                if _local(node.tag) == "Name":
                    return (node.text or "").strip() or None
    return None


_NAMES: dict[Any, str] = {}


def _event_name(tag: Any) -> str:
    name = _local(tag)
    if len(_NAMES) < _CACHE_LIMIT:
        _NAMES[tag] = name
    return name


def _read(data: bytes, max_points: int, should_stop: Callable[[], bool] | None) -> _Reading:
    out = _Reading()
    in_activity = 0
    laps: list[_Lap] = []
    builder: _TrackBuilder | None = None
    seen = 0  # every trackpoint, also those of courses: the bound on work
    unreleased = 0

    def close_track() -> None:
        nonlocal builder
        if builder is None:
            return
        segment, total = builder.build()
        out.trackpoints += total
        if total:
            out.tracks += 1
        if segment is not None:
            out.segments.append(segment)
        builder = None

    for event, el in _events(data):
        name = _NAMES.get(el.tag) or _event_name(el.tag)
        if event == "start":
            if name == "Activity":
                in_activity += 1
                laps = []
            continue
        if name == "Trackpoint":
            seen += 1
            if seen > max_points:
                raise GPXTooManyPointsError(f"more than {max_points} trackpoints")
            if should_stop is not None and seen % _POLL_EVERY == 0 and should_stop():
                raise ProcessingCancelled()
            if in_activity:
                if builder is None:
                    builder = _TrackBuilder()
                builder.add(el)
            unreleased += 1
            if unreleased < _RELEASE_EVERY:
                continue
            unreleased = 0
            _release(el)
        elif name == "Track":
            close_track()
            el.clear()  # not its siblings: the lap's totals come before it
        elif name == "Lap":
            close_track()
            if in_activity:
                laps.append(_read_lap(el))
            _release(el)
        elif name == "Activity":
            close_track()
            in_activity -= 1
            out.activities += 1
            out.sessions.append(_session(el.get("Sport"), laps))
            if out.creator is None:
                out.creator = _creator_name(el)
            laps = []
            _release(el)
    close_track()
    return out


def parse_tcx(
    data: bytes,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    should_stop: Callable[[], bool] | None = None,
) -> ParsedTrack:
    """Parse TCX v2 bytes safely into a ParsedTrack (see the module's docstring).

    No ``Activity`` at all (courses or workouts only): ``TCX_NOT_AN_ACTIVITY``. Activities
    without a single trackpoint: ``TCX_NO_TRACKPOINTS``. Positions out of range are dropped
    and counted, as in GPX; none valid left: ``GPX_INVALID_COORDINATES``.
    """
    if not data or not data.strip():
        raise GPXMalformedError("empty document")
    _check_root(data)
    _check_element_budget(data)
    reading = _read(data, max_points, should_stop)
    if not reading.activities:
        raise TCXNotAnActivityError()
    if not reading.trackpoints:
        raise TCXNoTrackpointsError()
    segments: list[Segment] = []
    invalid = 0
    for raw in reading.segments:
        valid, bad = _valid_points(raw)
        invalid += bad
        if len(valid):
            segments.append(valid)
    if reading.segments and not segments:
        raise GPXInvalidCoordinatesError(f"{invalid} points out of range")
    return ParsedTrack(
        segments=tuple(segments),  # empty for an indoor activity: no trackpoint had a position
        track_count=reading.tracks,
        invalid_point_count=invalid,
        creator=reading.creator,
        device_sessions=tuple(reading.sessions),
    )
