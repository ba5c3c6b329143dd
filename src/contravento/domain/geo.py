"""Distance kernels on the sphere (vectorised) and a local metric projection."""

from __future__ import annotations

import numpy as np

from .track import FloatArray

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


def haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in metres between paired points (arrays of degrees)."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    distance: FloatArray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def step_distances_m(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Distances between consecutive points: length n-1."""
    return haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])


def local_xy_m(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Project to a local equirectangular plane in metres (n x 2), centred on the track.

    Accurate to well under 1% across the extent of a ride, which is what a map tolerance needs.
    """
    lat0 = np.radians(float(np.mean(lat))) if len(lat) else 0.0
    lon0 = float(lon[0]) if len(lon) else 0.0
    dlon = (lon - lon0 + 180.0) % 360.0 - 180.0  # safe across the antimeridian
    x = EARTH_RADIUS_M * np.radians(dlon) * np.cos(lat0)
    y = EARTH_RADIUS_M * np.radians(lat)
    return np.column_stack((x, y))
