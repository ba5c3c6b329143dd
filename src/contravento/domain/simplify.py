"""Ramer-Douglas-Peucker simplification with a tolerance in metres, per segment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from simplification.cutil import simplify_coords_idx

from .geo import local_xy_m
from .track import ParsedTrack, Segment

DEFAULT_TOLERANCE_M = 5.0  # a cycling route at city zoom: invisible at the map's resolution


@dataclass(frozen=True, eq=False)
class SimplifiedTrack:
    """The kept points of each segment, with elevation, time and sensors carried along."""

    segments: tuple[Segment, ...]
    original_point_count: int
    tolerance_m: float

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.segments)


def simplify_segment(segment: Segment, tolerance_m: float) -> Segment:
    if len(segment) <= 2:
        return segment
    xy = local_xy_m(segment.lat, segment.lon)
    index = np.asarray(
        simplify_coords_idx(np.ascontiguousarray(xy), float(tolerance_m)), dtype=np.intp
    )
    if index[0] != 0 or index[-1] != len(segment) - 1:  # keep endpoints whatever happens
        index = np.unique(np.concatenate(([0], index, [len(segment) - 1])))
    return segment.take(index)


def simplify(track: ParsedTrack, tolerance_m: float = DEFAULT_TOLERANCE_M) -> SimplifiedTrack:
    """Douglas-Peucker per segment, always keeping each segment's first and last points."""
    if tolerance_m < 0:
        raise ValueError("tolerance_m must be >= 0")
    return SimplifiedTrack(
        segments=tuple(simplify_segment(s, tolerance_m) for s in track.segments),
        original_point_count=track.point_count,
        tolerance_m=tolerance_m,
    )
