"""The body of GET /gpx/{id}/profile: the drawing profile's columns as JSON arrays.

``resolution`` says where it comes from: ``full``, computed from every point while the job ran
(gpx_profiles); ``simplified``, for a file processed before that table existed, from its
stored (simplified) track, downsampled the same way but not smoothed again (a running median
over the kept points would flatten real climbs). Values are rounded to what a chart can show:
0.1 m along the route, 0.1 m of height, 0.1 of a sensor unit; NaN (and a
hostile value beyond float32) becomes null.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..domain.packed_track import TrackColumns, rounded
from ..domain.profile import PROFILE_SENSORS, Profile, series_profile

Resolution = Literal["full", "simplified"]


def _column(values: np.ndarray, digits: int) -> list[float | None]:
    served = rounded(values, digits)
    ok = np.isfinite(served).tolist()  # NaN, or a hostile 1e39 m beyond float32: null
    return [v if fine else None for v, fine in zip(served.tolist(), ok, strict=True)]


def profile_body(profile: Profile, resolution: Resolution) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resolution": resolution,
        "source_point_count": profile.source_point_count,
        "sample_count": profile.sample_count,
        "distance_km": _column(profile.distance_km, 4),
        "elevation_m": _column(profile.elevation_m, 1),
    }
    for name in PROFILE_SENSORS:
        values = profile.sensors.get(name)
        body[name] = _column(values, 1) if values is not None else None
    return body


def simplified_profile(columns: TrackColumns) -> Profile:
    """The fallback profile of a file without a stored one, from its simplified track."""
    return series_profile(columns.distance_km, columns.ele, dict(columns.sensors))
