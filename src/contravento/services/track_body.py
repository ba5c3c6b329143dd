"""The body of GET /gpx/{id}/track: a GeoJSON Feature of the route and an elevation profile,
built from a track's columns (domain/packed_track.TrackColumns), whether the file's points
live in gpx_tracks or, processed before it existed, in the legacy gpx_trackpoints rows.

The values are already at the served precision, so this only arranges them: a LineString for
one segment, a MultiLineString otherwise; ``[lon, lat]`` or ``[lon, lat, ele]`` per point; a
``[distance_km, ele]`` profile entry for each point with an elevation; the times as ISO 8601
with ``Z`` (microseconds only when the time has them).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain.packed_track import TrackColumns


def _iso(times: npt.NDArray[np.datetime64]) -> list[str | None]:
    """As ``datetime.isoformat()`` with ``+00:00`` written ``Z``."""
    text = np.datetime_as_string(times.astype("datetime64[us]"), unit="us").tolist()
    micros = times.astype("datetime64[us]").view(np.int64) % 1_000_000
    missing = np.isnat(times).tolist()
    out: list[str | None] = []
    for stamp, fraction, none in zip(text, micros.tolist(), missing, strict=True):
        if none:
            out.append(None)
        else:
            out.append((stamp if fraction else stamp[:-7]) + "Z")
    return out


def feature(
    columns: TrackColumns,
    *,
    gpx_file_id: str,
    trip_id: str,
    name: str,
    stats: dict[str, Any],
) -> dict[str, Any]:
    n = columns.point_count
    lon, lat = columns.lon.tolist(), columns.lat.tolist()
    ele, dist = columns.ele.tolist(), columns.distance_km.tolist()
    has_ele = (~np.isnan(columns.ele)).tolist()
    stamps = _iso(columns.time)
    lines: list[list[list[float]]] = []
    times: list[list[str | None]] = []
    profile: list[list[float]] = []
    for begin, end in itertools.pairwise([*columns.starts.tolist(), n]):
        line: list[list[float]] = []
        for i in range(begin, end):
            if has_ele[i]:
                line.append([lon[i], lat[i], ele[i]])
                profile.append([dist[i], ele[i]])
            else:
                line.append([lon[i], lat[i]])
        lines.append(line)
        times.append(stamps[begin:end])
    geometry: dict[str, Any]
    coord_times: list[Any]
    if len(lines) == 1:
        geometry, coord_times = {"type": "LineString", "coordinates": lines[0]}, times[0]
    else:
        geometry, coord_times = {"type": "MultiLineString", "coordinates": lines}, times
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "gpx_file_id": gpx_file_id,
            "trip_id": trip_id,
            "name": name,
            "point_count": n,
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
