"""Hand-made GPX documents with known answers, for the domain tests.

Geometry is generated with the spherical *destination* formula (not haversine), so a distance
computed by the domain can be checked against a length that was built, not re-measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EARTH_RADIUS_M = 6_371_008.8
NS10 = "http://www.topografix.com/GPX/1/0"
NS11 = "http://www.topografix.com/GPX/1/1"
TPX1 = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
# The statistics' field names the API, the CLI's --json and RouteStats.to_dict() share.
API_STAT_FIELDS = (
    "distance_km",
    "distance_3d_km",
    "elevation_gain_m",
    "elevation_loss_m",
    "min_elevation_m",
    "max_elevation_m",
    "start_time",
    "end_time",
    "duration_s",
    "moving_time_s",
    "avg_speed_kmh",
    "max_speed_kmh",
    "point_count",
    "waypoint_count",
    "glitch_point_count",
)


@dataclass
class Pt:
    lat: float
    lon: float
    ele: float | None = None
    time: datetime | None = None
    ext: dict[str, float] = field(default_factory=dict)


def destination(
    lat: float, lon: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """The point ``distance_m`` away along a great circle from (lat, lon)."""
    d = distance_m / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Plain-Python haversine, independent of numpy and of contravento.domain.geo."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def line(
    n: int,
    *,
    lat: float = 43.0,
    lon: float = -2.0,
    bearing: float = 45.0,
    step_m: float = 5.0,
    dt_s: float | None = 1.0,
    t0: datetime = T0,
    ele0: float | None = 100.0,
    dele: float = 0.0,
) -> list[Pt]:
    """``n`` points along one great circle, ``step_m`` apart, one every ``dt_s`` seconds."""
    pts: list[Pt] = []
    cur = (lat, lon)
    for i in range(n):
        when = t0 + timedelta(seconds=i * dt_s) if dt_s is not None else None
        ele = ele0 + i * dele if ele0 is not None else None
        pts.append(Pt(cur[0], cur[1], ele, when))
        cur = destination(cur[0], cur[1], bearing, step_m)
    return pts


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def point_xml(p: Pt, tag: str = "trkpt", prefix: str = "", tpx_prefix: str = "gpxtpx") -> str:
    pre = f"{prefix}:" if prefix else ""
    parts = [f'<{pre}{tag} lat="{p.lat:.9f}" lon="{p.lon:.9f}">']
    if p.ele is not None:
        parts.append(f"<{pre}ele>{p.ele:.2f}</{pre}ele>")
    if p.time is not None:
        parts.append(f"<{pre}time>{_iso(p.time)}</{pre}time>")
    if p.ext:
        inner = "".join(f"<{tpx_prefix}:{k}>{v:g}</{tpx_prefix}:{k}>" for k, v in p.ext.items())
        parts.append(
            f"<{pre}extensions><{tpx_prefix}:TrackPointExtension>{inner}"
            f"</{tpx_prefix}:TrackPointExtension></{pre}extensions>"
        )
    parts.append(f"</{pre}{tag}>")
    return "".join(parts)


def gpx(
    segments: Sequence[Sequence[Pt]] = (),
    *,
    tracks: Sequence[Sequence[Sequence[Pt]]] | None = None,
    routes: Sequence[Sequence[Pt]] = (),
    waypoints: Sequence[Pt] = (),
    version: str = "1.1",
    namespace: bool = True,
    prefix: str = "",
    tpx_prefix: str = "gpxtpx",
    name: str | None = None,
    newline: str = "\n",
) -> bytes:
    """A GPX document. ``segments`` become one track; ``tracks`` gives several."""
    pre = f"{prefix}:" if prefix else ""
    ns_uri = NS10 if version == "1.0" else NS11
    attrs = f'version="{version}" creator="contravento-tests"'
    if namespace:
        attrs += f' xmlns{":" + prefix if prefix else ""}="{ns_uri}"'
    attrs += f' xmlns:{tpx_prefix}="{TPX1}"'
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{pre}gpx {attrs}>"]
    for w in waypoints:
        out.append(point_xml(w, "wpt", prefix))
    for r in routes:
        out.append(f"<{pre}rte>")
        out.extend(point_xml(p, "rtept", prefix) for p in r)
        out.append(f"</{pre}rte>")
    all_tracks = list(tracks) if tracks is not None else ([segments] if segments else [])
    for i, trk in enumerate(all_tracks):
        out.append(f"<{pre}trk>")
        if name is not None and i == 0:
            out.append(f"<{pre}name>{name}</{pre}name>")
        for seg in trk:
            out.append(f"<{pre}trkseg>")
            out.extend(point_xml(p, "trkpt", prefix, tpx_prefix) for p in seg)
            out.append(f"</{pre}trkseg>")
        out.append(f"</{pre}trk>")
    out.append(f"</{pre}gpx>")
    return (newline.join(out) + newline).encode("utf-8")
