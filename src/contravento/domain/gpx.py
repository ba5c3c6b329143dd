"""Safe, streaming GPX parsing: bytes in, a ParsedTrack of numpy arrays out.

The XML parser is hardened: no DTD loading, no entity resolution, no network, libxml2's
default limits on depth and text size (``huge_tree`` stays off). A document that carries a
DOCTYPE is refused outright: no GPX exporter writes one, and it is the door to entity bombs
and external entities. Points are read with ``iterparse`` and cleared as we go, so memory
stays bounded by a chunk of points, not by the size of the file.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from operator import attrgetter, is_, methodcaller
from typing import Any

import numpy as np
from lxml import etree

from .errors import (
    GPXError,
    GPXInvalidCoordinatesError,
    GPXMalformedError,
    GPXNotGPXError,
    GPXNoTrackpointsError,
    GPXTooManyPointsError,
    GPXUnsafeXMLError,
    ProcessingCancelled,
)
from .times import parse_times
from .track import FloatArray, ParsedTrack, Segment

_HARDENED = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": True,
}

# Local names of extension elements (any namespace, any prefix) -> our sensor field.
_SENSOR_NAMES = {
    "hr": "hr",
    "heartrate": "hr",
    "cad": "cadence",
    "cadence": "cadence",
    "power": "power",
    "powerinwatts": "power",
    "watts": "power",
    "atemp": "temperature",
    "temp": "temperature",
    "wtemp": "temperature",
}
_POINT_TAGS = ("{*}trkpt", "{*}rtept")
_CONTAINER_TAGS = ("{*}trkseg", "{*}trk", "{*}rte", "{*}wpt")
_CHUNK = 16384
_RELEASE_EVERY = 256


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag[tag.rfind("}") + 1 :]


# Per-tag classification is cached by the full tag ("{ns}local"): a file uses a handful of
# distinct tags, and a dict lookup is far cheaper than splitting and lowering each tag.
_OTHER, _ELE, _TIME, _EXTENSIONS = 0, 1, 2, 3
_CHILD_KINDS: dict[Any, int] = {}
_SENSOR_KEYS: dict[Any, str | None] = {}
_EVENT_NAMES: dict[Any, str] = {}
_UNKNOWN = "?"
_CACHE_LIMIT = 4096  # hostile files could invent endless tag names: stop caching, not growing


def _child_kind(tag: Any) -> int:
    kind = {"ele": _ELE, "time": _TIME, "extensions": _EXTENSIONS}.get(_local(tag), _OTHER)
    if len(_CHILD_KINDS) < _CACHE_LIMIT:
        _CHILD_KINDS[tag] = kind
    return kind


def _sensor_key(tag: Any) -> str | None:
    key = _SENSOR_NAMES.get(_local(tag).lower())
    if len(_SENSOR_KEYS) < _CACHE_LIMIT:
        _SENSOR_KEYS[tag] = key
    return key


def _event_name(tag: Any) -> str:
    name = _EVENT_NAMES.get(tag)
    if name is None:
        name = _local(tag)
        if len(_EVENT_NAMES) < _CACHE_LIMIT:
            _EVENT_NAMES[tag] = name
    return name


def _raise_for_syntax(exc: etree.XMLSyntaxError) -> GPXError:
    text = str(exc).lower()
    if any(word in text for word in ("depth", "entity", "amplification", "huge")):
        return GPXUnsafeXMLError(str(exc))
    return GPXMalformedError(str(exc))


# Elements that are not points are only freed when the next point or container ends, so a
# flood of them between two points would all sit in memory (11 M <x/> in 44 MB: 1.4 GiB).
# Refuse documents with far more elements than their points can explain: a real export has
# about 3-15 elements per point, and waypoints, metadata and names fit in the fixed slack.
ELEMENTS_PER_POINT = 40
ELEMENT_SLACK = 200_000


def _check_element_budget(data: bytes) -> None:
    """Two byte counts (~1 ms per MB): markup `<` against the `pt` of trkpt/rtept."""
    head = data[:200]
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head
    lt, pt = ("<".encode("utf-16-le"), "pt".encode("utf-16-le")) if utf16 else (b"<", b"pt")
    if utf16 and head.startswith(b"\xfe\xff"):
        lt, pt = "<".encode("utf-16-be"), "pt".encode("utf-16-be")
    markup = data.count(lt)  # start and end tags, comments, PIs
    if markup > 2 * (ELEMENTS_PER_POINT * data.count(pt) + ELEMENT_SLACK):
        raise GPXUnsafeXMLError(f"{markup} tags for at most {data.count(pt)} points")


def read_root(data: bytes) -> Any:
    """The root element's start tag, read with the hardened parser and nothing after it (the
    prolog included: its docinfo tells of a DOCTYPE). GPXMalformedError if there is none.
    The TCX reader shares it."""
    parser = etree.XMLPullParser(events=("start",), **_HARDENED)
    root = None
    try:
        for start in range(0, len(data), 65536):
            parser.feed(data[start : start + 65536])
            for _event, element in parser.read_events():
                root = element
                break
            if root is not None:
                break
        if root is None:
            parser.close()
    except etree.XMLSyntaxError as exc:
        raise _raise_for_syntax(exc) from exc
    if root is None:
        raise GPXMalformedError("no root element")
    return root


def _check_root(data: bytes) -> tuple[str | None, str | None]:
    """Read just the prolog and root start tag; refuse DTDs and non-GPX roots early."""
    root = read_root(data)
    docinfo = root.getroottree().docinfo
    is_gpx = _local(root.tag).lower() == "gpx"
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # An HTML page (``<!DOCTYPE html>``, nothing declared) is simply not GPX; a DOCTYPE
        # on a GPX root, or one that declares entities or elements, is refused as unsafe.
        dtd = docinfo.internalDTD
        declares = dtd is not None and (
            next(dtd.iterentities(), None) is not None or next(dtd.iterelements(), None) is not None
        )
        if is_gpx or declares:
            raise GPXUnsafeXMLError("DOCTYPE present")
    if not is_gpx:
        raise GPXNotGPXError(f"root element is {root.tag!r}")
    return root.get("version"), root.get("creator")


_TAG = attrgetter("tag")
_TEXT = attrgetter("text")
_WALK = methodcaller("iter")
_MIN_BATCH = 8  # below this the per-point path is as fast as checking the shared shape


class _Template:
    """Where one point's fields sit in its preorder walk, read once per batch of points.

    Classification follows ``_SegmentBuilder.add`` exactly: the last ``ele`` and ``time``
    child win; a sensor is read from the ``extensions`` children's subtrees. ``None`` means
    the batch must take the per-point path (a sensor key that occurs twice, where the first
    non-empty text would win).
    """

    __slots__ = ("arity", "ele", "eligible", "sensors", "size", "tags", "time")

    def __init__(self, point: etree._Element) -> None:
        nodes = list(point.iter())
        position = {id(node): i for i, node in enumerate(nodes)}
        self.size = len(nodes)
        self.tags = [node.tag for node in nodes]
        self.arity = [len(node) for node in nodes]
        self.ele: int | None = None
        self.time: int | None = None
        self.sensors: dict[str, int] = {}
        duplicate = False
        for child in point:
            tag = child.tag
            kind = _CHILD_KINDS.get(tag)
            if kind is None:
                kind = _child_kind(tag)
            if kind == _ELE:
                self.ele = position[id(child)]
            elif kind == _TIME:
                self.time = position[id(child)]
            elif kind == _EXTENSIONS:
                for node in child.iter():
                    tag = node.tag
                    key = _SENSOR_KEYS.get(tag, _UNKNOWN)
                    if key is _UNKNOWN:
                        key = _sensor_key(tag)
                    if key is not None:
                        duplicate = duplicate or key in self.sensors
                        self.sensors[key] = position[id(node)]
        self.eligible = not duplicate

    @staticmethod
    def matching(points: list[etree._Element]) -> tuple[_Template, list[Any]] | None:
        """The template of ``points`` and their walked nodes, if every point has its shape.

        Same tags (namespace included, comments and PIs too) and same child counts in the
        same preorder positions means the same tree, so ``add`` would read every point from
        the same positions.
        """
        template = _Template(points[0])
        if not template.eligible:
            return None
        nodes = list(chain.from_iterable(map(_WALK, points)))
        size, count = template.size, len(points)
        if (
            len(nodes) != size * count
            or not all(map(is_, nodes[::size], points))
            or list(map(len, nodes)) != template.arity * count
            or list(map(_TAG, nodes)) != template.tags * count
        ):
            return None
        return template, nodes


class _SegmentBuilder:
    """Collects the strings of one segment in chunks and turns them into arrays.

    Points are queued by ``push`` and read by ``drain`` (before anything frees them): a run
    of points that share one shape is read column by column; any other point goes through
    ``add``. Both give the same strings, so the arrays do not depend on the path taken.
    """

    def __init__(self, with_time: bool) -> None:
        self.with_time = with_time
        self.chunks: list[dict[str, np.ndarray]] = []
        self.pending: list[etree._Element] = []
        self._reset()

    def _reset(self) -> None:
        self.lat: list[str] = []
        self.lon: list[str] = []
        self.ele: list[str] = []
        self.time: list[str | None] = []
        self.sensors: dict[str, list[str]] = {}

    def push(self, el: etree._Element) -> None:
        self.pending.append(el)

    def drain(self) -> None:
        points, self.pending = self.pending, []
        if not points:
            return
        found = _Template.matching(points) if len(points) >= _MIN_BATCH else None
        if found is None:
            for el in points:
                self.add(el)
        else:
            self._add_columns(points, *found)

    def _add_columns(
        self, points: list[etree._Element], template: _Template, nodes: list[Any]
    ) -> None:
        size, count = template.size, len(points)
        lat = [el.get("lat") or "nan" for el in points]
        lon = [el.get("lon") or "nan" for el in points]
        if template.ele is None:
            ele = ["nan"] * count
        else:
            heights = map(_TEXT, nodes[template.ele :: size])
            ele = [(text or "").strip() or "nan" for text in heights]
        when: list[str | None]
        if template.time is None or not self.with_time:
            when = [None] * count
        else:
            when = list(map(_TEXT, nodes[template.time :: size]))
        raw = {key: list(map(_TEXT, nodes[pos::size])) for key, pos in template.sensors.items()}
        start = 0
        while start < count:
            n = len(self.lat)
            stop = min(count, start + _CHUNK - n)
            self.lat += lat[start:stop]
            self.lon += lon[start:stop]
            self.ele += ele[start:stop]
            self.time += when[start:stop]
            sensors = self.sensors
            for key, texts in raw.items():
                part = texts[start:stop]
                column = sensors.get(key)
                if column is None:
                    if not any(part):
                        continue  # ``add`` opens a column at its first non-empty text only
                    column = sensors[key] = ["nan"] * n
                column += [text.strip() if text else "nan" for text in part]
            width = n + stop - start
            for column in sensors.values():
                if len(column) < width:
                    column += ["nan"] * (width - len(column))
            start = stop
            if width >= _CHUNK:
                self.flush()

    def add(self, el: etree._Element) -> None:
        """Append one point. Hot path: one dict lookup per child, no string work per tag."""
        n = len(self.lat)
        get = el.get
        self.lat.append(get("lat") or "nan")
        self.lon.append(get("lon") or "nan")
        ele = "nan"
        when = None
        sensors = self.sensors
        for child in el:
            tag = child.tag
            kind = _CHILD_KINDS.get(tag)
            if kind is None:
                kind = _child_kind(tag)
            if kind == _ELE:
                ele = (child.text or "").strip() or "nan"
            elif kind == _TIME:
                when = child.text
            elif kind == _EXTENSIONS:
                for node in child.iter():
                    tag = node.tag
                    key = _SENSOR_KEYS.get(tag, _UNKNOWN)
                    if key is _UNKNOWN:
                        key = _sensor_key(tag)
                    if key is not None:
                        text = node.text
                        if text:
                            column = sensors.get(key)
                            if column is None:
                                column = sensors[key] = ["nan"] * n
                            if len(column) == n:
                                column.append(text.strip())
        self.ele.append(ele)
        self.time.append(when if self.with_time else None)
        for column in sensors.values():
            if len(column) == n:
                column.append("nan")
        if n + 1 >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.lat:
            return
        chunk: dict[str, np.ndarray] = {
            "lat": _floats(self.lat),
            "lon": _floats(self.lon),
            "ele": _floats(self.ele),
            "time": parse_times(self.time),
        }
        for key, values in self.sensors.items():
            chunk["s:" + key] = _floats(values)
        self.chunks.append(chunk)
        self._reset()

    def build(self) -> Segment | None:
        self.drain()
        self.flush()
        if not self.chunks:
            return None
        sizes = [len(c["lat"]) for c in self.chunks]
        keys = {k for c in self.chunks for k in c if k.startswith("s:")}

        def column(key: str, fill: Any = np.nan) -> np.ndarray:
            parts = [
                c.get(key, np.full(size, fill)) for c, size in zip(self.chunks, sizes, strict=True)
            ]
            return np.concatenate(parts)

        return Segment(
            lat=column("lat"),
            lon=column("lon"),
            ele=column("ele"),
            time=column("time"),
            sensors={k[2:]: column(k) for k in sorted(keys)},
        )


def _floats(values: list[str]) -> FloatArray:
    """Strings to float64; unreadable and non-finite values ("inf", "1e400") become NaN."""
    try:
        out = np.array(values, dtype=np.float64)
    except ValueError:
        out = np.array([_float_or_nan(v) for v in values], dtype=np.float64)
    out[np.isinf(out)] = np.nan
    return out


def _float_or_nan(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _events(data: bytes) -> Iterator[tuple[str, etree._Element]]:
    tags = _POINT_TAGS + _CONTAINER_TAGS
    context = etree.iterparse(io.BytesIO(data), events=("end",), tag=tags, **_HARDENED)
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


def _valid_points(segment: Segment) -> tuple[Segment, int]:
    ok = (
        np.isfinite(segment.lat)
        & np.isfinite(segment.lon)
        & (np.abs(segment.lat) <= 90.0)
        & (np.abs(segment.lon) <= 180.0)
    )
    bad = int(len(segment) - int(ok.sum()))
    return (segment if bad == 0 else segment.take(ok)), bad


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while lxml hands out element proxies.

    A parse creates a proxy for each of the ~10 elements of every point; each is a tracked
    object, so the collector would run hundreds of times over them (about half of their cost)
    for cycles a parse never makes. Reference counting still frees everything as we go. Only
    a collector that was running is started again (another thread may hold it paused too).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


DEFAULT_MAX_POINTS = 1_000_000  # a 50 MB export holds ~150-300k; beyond this it is abuse


def parse_gpx(
    data: bytes,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    should_stop: Callable[[], bool] | None = None,
) -> ParsedTrack:
    """Parse GPX 1.0/1.1 bytes safely into a ParsedTrack.

    Tracks are the line; routes are used only when the file has no track points (then as a
    track without times). Waypoints are counted, never drawn. Points with coordinates out of
    range are dropped and counted in ``invalid_point_count``; if no valid point remains the
    file is rejected with ``GPX_INVALID_COORDINATES``. More than ``max_points`` track/route
    points is ``GPX_TOO_MANY_POINTS`` (bounded work and memory per file).
    """
    if not data or not data.strip():
        raise GPXMalformedError("empty document")
    version, creator = _check_root(data)
    _check_element_budget(data)
    with _collector_paused():
        return _parse_checked(data, version, creator, max_points, should_stop)


def _parse_checked(
    data: bytes,
    version: str | None,
    creator: str | None,
    max_points: int,
    should_stop: Callable[[], bool] | None,
) -> ParsedTrack:

    track_segments: list[Segment] = []
    route_segments: list[Segment] = []
    waypoints = tracks = routes = 0
    name: str | None = None
    current: _SegmentBuilder | None = None
    unreleased = 0
    seen_points = 0
    for _event, el in _events(data):
        local = _event_name(el.tag)
        if local == "trkpt" or local == "rtept":
            if current is None:
                current = _SegmentBuilder(with_time=local == "trkpt")
                owner = el.getparent()
                if owner is not None and local == "trkpt":
                    owner = owner.getparent()
                if owner is not None and name is None:
                    name = _child_text(owner, "name")
            current.push(el)
            seen_points += 1
            if seen_points > max_points:
                raise GPXTooManyPointsError(f"more than {max_points} points")
            if should_stop is not None and seen_points % 4096 == 0 and should_stop():
                raise ProcessingCancelled()
            # Points are freed in batches: releasing each one costs more than parsing it.
            unreleased += 1
            if unreleased < _RELEASE_EVERY:
                continue
            unreleased = 0
        elif local in ("trkseg", "rte", "trk"):
            tracks += local == "trk"
            routes += local == "rte"
            if current is not None:
                segment = current.build()
                if segment is not None:
                    (track_segments if current.with_time else route_segments).append(segment)
                current = None
        elif local == "wpt":
            waypoints += 1
        if current is not None:
            current.drain()  # read queued points before freeing anything around them
        _release(el)
    if current is not None:  # points outside any container: keep them rather than lose them
        segment = current.build()
        if segment is not None:
            (track_segments if current.with_time else route_segments).append(segment)

    raw = track_segments or route_segments
    if not raw:
        raise GPXNoTrackpointsError()
    segments: list[Segment] = []
    invalid = 0
    for seg in raw:
        valid, bad = _valid_points(seg)
        invalid += bad
        if len(valid):
            segments.append(valid)
    if not segments:
        raise GPXInvalidCoordinatesError(f"{invalid} points out of range")
    return ParsedTrack(
        segments=tuple(segments),
        waypoint_count=waypoints,
        track_count=tracks,
        route_count=routes,
        invalid_point_count=invalid,
        gpx_version=version,
        creator=creator,
        name=name,
    )


def _child_text(el: etree._Element, local: str) -> str | None:
    for child in el:
        if _local(child.tag) == local:
            text = (child.text or "").strip()
            return text or None
    return None
