"""The elevation profile drawn for a ride: distance, smoothed elevation and sensors, at most
``MAX_SAMPLES`` samples chosen from the full-resolution points (after glitch removal).

- distance along the route as the statistics measure it (haversine per step, the gap between
  segments is not distance), in km from the start of the first segment;
- elevation median-filtered per segment exactly as the gain is (``elevation.median_filter`` on
  the points that have one), so the chart climbs what the number says;
- a ride of ``MAX_SAMPLES`` points or fewer keeps every point; a longer one is downsampled with
  Largest-Triangle-Three-Buckets on (distance, elevation), which keeps the summits, the valleys
  and the first and last points (``tsdownsample``, chosen over the alternatives in
  docs/benchmarks.md);
- heart rate, cadence and power at each kept sample are the mean over the points it stands for
  (from halfway to the previous kept point to halfway to the next), so a single noisy power
  reading never becomes the line; NaN where none of those points has a value. A sensor the
  file never recorded is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from tsdownsample import LTTBDownsampler

from .elevation import median_filter
from .geo import step_distances_m
from .track import FloatArray, IntArray, ParsedTrack

MAX_SAMPLES = 1000
PROFILE_SENSORS = ("hr", "cadence", "power")


@dataclass(frozen=True, eq=False)
class Profile:
    """Equal-length columns; NaN where a sample has no value."""

    source_point_count: int
    distance_km: FloatArray
    elevation_m: FloatArray
    sensors: dict[str, FloatArray] = field(default_factory=dict)  # only those recorded

    @property
    def sample_count(self) -> int:
        return int(self.distance_km.shape[0])


def _smoothed(ele: FloatArray) -> FloatArray:
    out = np.full(len(ele), np.nan)
    known = ~np.isnan(ele)
    if known.any():
        out[known] = median_filter(ele[known])
    return out


def track_profile(track: ParsedTrack, max_samples: int = MAX_SAMPLES) -> Profile:
    """The profile of a parsed (glitch-free) track."""
    distances: list[FloatArray] = []
    offset_m = 0.0
    for segment in track.segments:
        along = np.concatenate(([0.0], np.cumsum(step_distances_m(segment.lat, segment.lon))))
        distances.append((offset_m + along) / 1000.0)
        offset_m += float(along[-1]) if len(segment) else 0.0
    sensors: dict[str, FloatArray] = {}
    for name in PROFILE_SENSORS:
        if any(name in s.sensors for s in track.segments):
            sensors[name] = _concat(
                [s.sensors.get(name, np.full(len(s), np.nan)) for s in track.segments]
            )
    return series_profile(
        _concat(distances),
        _concat([_smoothed(s.ele) for s in track.segments]),
        sensors,
        max_samples=max_samples,
    )


def series_profile(
    distance_km: FloatArray,
    elevation_m: FloatArray,
    sensors: dict[str, FloatArray],
    *,
    max_samples: int = MAX_SAMPLES,
) -> Profile:
    """Downsample already-measured columns (distance non-decreasing) to ``max_samples``."""
    n = len(distance_km)
    if max_samples < 3:
        raise ValueError("max_samples must be >= 3")
    index = lttb_indices(distance_km, elevation_m, max_samples)
    kept_sensors = {
        name: _window_means(values, index)
        for name, values in sensors.items()
        if (~np.isnan(values)).any()
    }
    return Profile(n, distance_km[index], elevation_m[index], kept_sensors)


def lttb_indices(x: FloatArray, y: FloatArray, max_samples: int) -> IntArray:
    """Indices LTTB keeps of (x, y); every index when there are no more than ``max_samples``.
    Missing y values are bridged linearly for the choice (their samples stay NaN)."""
    n = len(x)
    if n <= max_samples:
        return np.arange(n, dtype=np.intp)
    known = ~np.isnan(y)
    if not known.any():
        filled = np.zeros(n)
    elif known.all():
        filled = y
    else:
        filled = np.interp(x, x[known], y[known])
    chosen = LTTBDownsampler().downsample(  # type: ignore[no-untyped-call]
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(filled, dtype=np.float64),
        n_out=max_samples,
    )
    index: IntArray = np.asarray(chosen, dtype=np.intp)
    return index


def _window_means(values: FloatArray, index: IntArray) -> FloatArray:
    """Mean of ``values`` over each kept sample's share of the points (NaN-aware)."""
    if len(index) == len(values):
        return values.copy()
    bounds = np.concatenate(([0], (index[:-1] + index[1:] + 1) // 2))
    present = ~np.isnan(values)
    sums = np.add.reduceat(np.where(present, values, 0.0), bounds)
    counts = np.add.reduceat(present.astype(np.int64), bounds)
    with np.errstate(invalid="ignore", divide="ignore"):
        means: FloatArray = np.where(counts > 0, sums / counts, np.nan)
    return means


def _concat(parts: list[npt.NDArray[np.float64]]) -> FloatArray:
    if not parts:
        return np.zeros(0)
    out: FloatArray = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    return out
