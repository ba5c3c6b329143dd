"""GPS glitch removal: points that imply an impossible speed, and time running backwards.

Rule (documented in docs/domain.md): within a segment that has times,
1. a point whose time is earlier than the previous kept point's is dropped;
2. a point is a *spike* when the speed needed to reach it from its neighbour exceeds
   ``max_speed_kmh`` (default 150 km/h, beyond any cyclist) on **both** sides (an
   out-and-back jump), or on its only side for the first and last point;
3. step 2 repeats (at most 5 passes) because removing a spike changes its neighbours.
A jump followed by plausible movement (a real teleport after a tunnel, a long pause) is not a
spike and stays. Segments without times cannot be judged by speed and are left alone.
"""

from __future__ import annotations

import numpy as np

from .geo import step_distances_m
from .track import ParsedTrack, Segment

DEFAULT_MAX_SPEED_KMH = 150.0
_PASSES = 5


def _seconds(segment: Segment) -> np.ndarray:
    return segment.time.astype("datetime64[ms]").astype(np.int64) / 1000.0


def _monotonic_mask(segment: Segment) -> np.ndarray:
    keep = np.ones(len(segment), dtype=bool)
    known = ~np.isnat(segment.time)
    if known.sum() < 2:
        return keep
    t = np.where(known, _seconds(segment), -np.inf)
    running = np.maximum.accumulate(t)
    # drop a timed point that is earlier than some timed point before it
    previous_max = np.concatenate(([-np.inf], running[:-1]))
    keep[known & (t < previous_max)] = False
    return keep


def _spike_mask(segment: Segment, max_speed_ms: float) -> np.ndarray:
    n = len(segment)
    keep = np.ones(n, dtype=bool)
    if n < 3 or np.isnat(segment.time).any():
        return keep
    t = _seconds(segment)
    d = step_distances_m(segment.lat, segment.lon)
    dt = np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(dt > 0, d / dt, np.where(d > 0.5, np.inf, 0.0))
    fast = v > max_speed_ms
    keep[1:-1] = ~(fast[:-1] & fast[1:])
    keep[0] = not (fast[0] and not fast[1])
    keep[-1] = not (fast[-1] and not fast[-2])
    return keep


def remove_glitches(
    track: ParsedTrack, *, max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH
) -> tuple[ParsedTrack, int]:
    """Return a new track without glitch points, and how many points were removed."""
    max_speed_ms = max_speed_kmh / 3.6
    cleaned: list[Segment] = []
    removed = 0
    for segment in track.segments:
        current = segment.take(_monotonic_mask(segment))
        for _ in range(_PASSES):
            mask = _spike_mask(current, max_speed_ms)
            if mask.all() or not mask.any():
                break
            current = current.take(mask)
        removed += len(segment) - len(current)
        if len(current):
            cleaned.append(current)
    if removed == 0:
        return track, 0
    return (
        ParsedTrack(
            segments=tuple(cleaned),
            waypoint_count=track.waypoint_count,
            track_count=track.track_count,
            route_count=track.route_count,
            invalid_point_count=track.invalid_point_count,
            gpx_version=track.gpx_version,
            creator=track.creator,
            name=track.name,
        ),
        removed,
    )
