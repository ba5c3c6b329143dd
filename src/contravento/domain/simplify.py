"""Ramer-Douglas-Peucker simplification with a tolerance in metres, per segment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from simplification.cutil import simplify_coords_idx

from .geo import local_xy_m, step_distances_m
from .track import FloatArray, IntArray, ParsedTrack, Segment

DEFAULT_TOLERANCE_M = 5.0  # a cycling route at city zoom: invisible at the map's resolution


@dataclass(frozen=True, eq=False)
class SimplifiedTrack:
    """The kept points of each segment, with elevation, time and sensors carried along."""

    segments: tuple[Segment, ...]
    original_point_count: int
    tolerance_m: float
    # along-route distance (km, from the start of the first segment, gaps excluded) of each
    # kept point, measured on the full track so the profile ends at the route's distance
    distance_km: tuple[FloatArray, ...] = ()

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.segments)


def kept_indices(segment: Segment, tolerance_m: float) -> IntArray:
    """Indices of the points Douglas-Peucker keeps (always the first and the last)."""
    if len(segment) <= 2:
        return np.arange(len(segment), dtype=np.intp)
    xy = local_xy_m(segment.lat, segment.lon)
    index = np.asarray(
        simplify_coords_idx(np.ascontiguousarray(xy), float(tolerance_m)), dtype=np.intp
    )
    if index[0] != 0 or index[-1] != len(segment) - 1:  # keep endpoints whatever happens
        index = np.unique(np.concatenate(([0], index, [len(segment) - 1])))
    return index


def simplify_segment(segment: Segment, tolerance_m: float) -> Segment:
    return segment.take(kept_indices(segment, tolerance_m))


def simplify(track: ParsedTrack, tolerance_m: float = DEFAULT_TOLERANCE_M) -> SimplifiedTrack:
    """Douglas-Peucker per segment, always keeping each segment's first and last points."""
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    kept: list[Segment] = []
    distances: list[FloatArray] = []
    offset_m = 0.0
    for segment in track.segments:
        index = kept_indices(segment, tolerance_m)
        along = np.concatenate(([0.0], np.cumsum(step_distances_m(segment.lat, segment.lon))))
        kept.append(segment.take(index))
        distances.append((offset_m + along[index]) / 1000.0)
        offset_m += float(along[-1])
    return SimplifiedTrack(
        segments=tuple(kept),
        original_point_count=track.point_count,
        tolerance_m=tolerance_m,
        distance_km=tuple(distances),
    )
