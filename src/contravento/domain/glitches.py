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

from dataclasses import replace

import numpy as np

from .geo import step_distances_m
from .track import ParsedTrack, Segment

DEFAULT_MAX_SPEED_KMH = 150.0
MOVED_M = 0.5  # a step longer than this in zero time is infinitely fast
_PASSES = 5


def _inversion_drops(t: np.ndarray) -> np.ndarray:
    """For each pair that runs backwards in time, which side is the odd one out.

    A point later than its successor but consistent with its predecessor is a spike into the
    future (drop it); otherwise the successor is a dip into the past (drop that); when neither
    reading holds, both go.
    """
    drop = np.zeros(len(t), dtype=bool)
    inv = np.flatnonzero(np.diff(t) < 0)
    if inv.size == 0:
        return drop
    prev = np.concatenate(([-np.inf], t[:-1]))
    after_next = np.concatenate((t[2:], [np.inf, np.inf]))
    spike = t[inv + 1] >= prev[inv]
    drop[inv[spike]] = True
    rest = inv[~spike]
    dip = t[rest] <= after_next[rest]
    drop[rest[dip] + 1] = True
    drop[rest[~dip]] = True
    drop[rest[~dip] + 1] = True
    return drop


def time_order_mask(segment: Segment) -> np.ndarray:
    """Drop the timed points that break the order of time; untimed points are left alone."""
    keep = np.ones(len(segment), dtype=bool)
    index = segment.timed_index()
    if len(index) < 2:
        return keep
    t = segment.seconds()[index]
    alive = np.ones(len(index), dtype=bool)
    for _ in range(_PASSES):
        position = np.flatnonzero(alive)
        drop = _inversion_drops(t[position])
        if not drop.any():
            break
        alive[position[drop]] = False
    position = np.flatnonzero(alive)  # what is still out of order after the passes
    running = np.maximum.accumulate(t[position])
    late = t[position] < np.concatenate(([-np.inf], running[:-1]))
    alive[position[late]] = False
    keep[index[~alive]] = False
    return keep


def _spike_mask(segment: Segment, max_speed_ms: float) -> np.ndarray:
    """Spikes among the timed points (a point without time cannot be judged by speed)."""
    keep = np.ones(len(segment), dtype=bool)
    index = segment.timed_index()
    if len(index) < len(segment):
        if len(index) >= 3:
            keep[index] = _spike_mask(segment.take(index), max_speed_ms)
        return keep
    n = len(segment)
    if n < 3:
        return keep
    t = segment.seconds()
    d = step_distances_m(segment.lat, segment.lon)
    dt = np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(dt > 0, d / dt, np.where(d > MOVED_M, np.inf, 0.0))
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
        current = segment.take(time_order_mask(segment))
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
    # every other field (device sessions, parse warnings, counts) is kept as parsed
    return replace(track, segments=tuple(cleaned)), removed
