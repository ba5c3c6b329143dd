"""The one-row-per-point track as the code before gpx_tracks wrote and served it, kept here as
the reference the packed track must match byte for byte (and to leave a database with
legacy rows for the backfill's tests).

`legacy_records` is the old db/trackpoints.trackpoint_records; `legacy_feature` is the old
services/gpx_files.track_geojson body over such rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from contravento.domain import SimplifiedTrack


@dataclass(frozen=True)
class LegacyRow:
    """The columns of one gpx_trackpoints row, as the database gives them back."""

    seq: int
    segment: int
    lat: float
    lon: float
    ele: float | None
    time: datetime | None
    distance_km: float
    hr: float | None
    cadence: float | None
    power: float | None


class PointRow(Protocol):
    """A row of gpx_trackpoints as an object: a LegacyRow, or an ORM object (bench/)."""

    @property
    def segment(self) -> int: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def ele(self) -> float | None: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def distance_km(self) -> float: ...


def _nullable(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


def _times(values: np.ndarray) -> list[datetime | None]:
    return [
        v.replace(tzinfo=UTC) if v is not None else None
        for v in values.astype("datetime64[us]").tolist()
    ]


def legacy_records(track: SimplifiedTrack) -> list[LegacyRow]:
    rows: list[LegacyRow] = []
    seq = 0
    for index, (segment, along) in enumerate(zip(track.segments, track.distance_km, strict=True)):
        nan = np.full(len(segment), np.nan)
        columns = zip(
            segment.lat.tolist(),
            segment.lon.tolist(),
            _nullable(segment.ele),
            _times(segment.time),
            along.tolist(),
            *(_nullable(segment.sensors.get(name, nan)) for name in ("hr", "cadence", "power")),
            strict=True,
        )
        for lat, lon, ele, when, dist, hr, cad, pw in columns:
            rows.append(LegacyRow(seq, index, lat, lon, ele, when, dist, hr, cad, pw))
            seq += 1
    return rows


def legacy_feature(
    points: Sequence[PointRow], *, gpx_file_id: str, trip_id: str, name: str, stats: dict[str, Any]
) -> dict[str, Any]:
    lines: list[list[list[float]]] = []
    times: list[list[str | None]] = []
    profile: list[list[float]] = []
    current = -1
    for p in points:
        if p.segment != current:
            lines.append([])
            times.append([])
            current = p.segment
        coord = [round(p.lon, 7), round(p.lat, 7)]
        if p.ele is not None:
            coord.append(round(p.ele, 1))
            profile.append([round(p.distance_km, 4), round(p.ele, 1)])
        lines[-1].append(coord)
        times[-1].append(p.time.isoformat().replace("+00:00", "Z") if p.time else None)
    geometry: dict[str, Any]
    if len(lines) == 1:
        geometry = {"type": "LineString", "coordinates": lines[0]}
        coord_times: list[Any] = times[0]
    else:
        geometry = {"type": "MultiLineString", "coordinates": lines}
        coord_times = times
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "gpx_file_id": gpx_file_id,
            "trip_id": trip_id,
            "name": name,
            "point_count": len(points),
            "coordTimes": coord_times,
            "distance_km": stats.get("distance_km"),
            "bbox": [
                stats.get("min_lon"),
                stats.get("min_lat"),
                stats.get("max_lon"),
                stats.get("max_lat"),
            ],
        },
        "profile": profile,
    }


def row_dicts(gpx_file_id: uuid.UUID, rows: list[LegacyRow]) -> list[dict[str, Any]]:
    """For an INSERT into gpx_trackpoints."""
    return [{"gpx_file_id": gpx_file_id, **vars(r)} for r in rows]
