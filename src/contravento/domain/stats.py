"""Route statistics from a ParsedTrack: vectorised, honest about noise and glitches.

Rules (also in docs/domain.md):
- distance: haversine per step inside each segment; the gap between segments is not distance.
  3D distance adds the median-filtered elevation change of each step where both ends have one.
- elevation gain/loss, min/max: see ``elevation.py`` (median of 5, then 5 m hysteresis).
- moving time: a step counts as moving when the straight-line displacement across a window of
  ``window_s`` seconds around it (default 10 s) is at least ``stop_speed_kmh``. The window
  cancels GPS jitter at a standstill, which per-step speeds mistake for movement.
- average speed: moving distance / moving time.
- max speed: per-step speeds above ``max_plausible_kmh`` are discarded as glitches, then the
  maximum of a running median over 5 steps is taken, so a single spike never becomes the max.
  Steps that climb faster than 1 m/s (3,600 m/h, beyond any human) are drifting fixes and are
  left out of the max speed too (they are what gives a runner a 50 km/h maximum).
- sensors: mean and max over the points that carry a value; cadence means leave out zeros
  (coasting), power means keep them.
- times: ``time_quality`` is the verdict of ``time_quality.judge_times``; when the times are
  unusable the track arrives untimed, so every time figure is None except ``start_time``, the
  earliest believable instant (the ride's date), when there is one.
- ``timezone``: the IANA zone at the track's first point; ``start_time_local``: the start on
  that zone's clock (``local_time.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .elevation import gain_loss, median_filter
from .geo import haversine_m, step_distances_m
from .local_time import local_iso, zone_at
from .time_quality import ABSENT, OK
from .track import FloatArray, ParsedTrack, Segment

DEFAULT_STOP_SPEED_KMH = 2.5
DEFAULT_WINDOW_S = 10.0
DEFAULT_MAX_PLAUSIBLE_KMH = 150.0
_SPEED_MEDIAN = 5
MAX_CLIMB_RATE_MS = 1.0  # 3,600 m/h: no rider or runner climbs that fast; a drifting fix does


@dataclass(frozen=True)
class RouteStats:
    distance_km: float
    distance_3d_km: float
    elevation_gain_m: float | None
    elevation_loss_m: float | None
    min_elevation_m: float | None
    max_elevation_m: float | None
    start_time: datetime | None
    end_time: datetime | None
    duration_s: float | None
    moving_time_s: float | None
    avg_speed_kmh: float | None
    max_speed_kmh: float | None
    avg_hr: float | None
    max_hr: float | None
    avg_cadence: float | None
    max_cadence: float | None
    avg_power: float | None
    max_power: float | None
    avg_temperature_c: float | None
    min_lat: float | None  # None without a positioned point (an indoor FIT)
    min_lon: float | None  # None without a positioned point (an indoor FIT)
    max_lat: float | None  # None without a positioned point (an indoor FIT)
    max_lon: float | None  # None without a positioned point (an indoor FIT)
    point_count: int
    segment_count: int
    waypoint_count: int
    invalid_point_count: int
    glitch_point_count: int
    time_quality: str  # time_quality.py: "ok", "absent", or why the times were not used
    timezone: str | None  # IANA name at the start position
    start_time_local: str | None  # ISO 8601 with the offset in force there that day

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values with sensible rounding; the API and the CLI share it."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, datetime):
                out[key] = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, float):
                digits = 3 if key.endswith("_km") else 6 if key.endswith(("lat", "lon")) else 1
                out[key] = round(value, digits)
            else:
                out[key] = value
        return out


@dataclass
class _SegmentFigures:
    distance_m: float = 0.0
    distance_3d_m: float = 0.0
    moving_time_s: float = 0.0
    moving_distance_m: float = 0.0
    max_speed_ms: float | None = None


def _moving_mask(segment: Segment, t: FloatArray, window_s: float, stop_ms: float) -> np.ndarray:
    half = window_s / 2.0
    start = np.searchsorted(t, t[:-1] - half, side="left")
    end = np.searchsorted(t, t[1:] + half, side="right") - 1
    span = t[end] - t[start]
    moved = haversine_m(segment.lat[start], segment.lon[start], segment.lat[end], segment.lon[end])
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(span > 0, moved / span, 0.0)
    return speed >= stop_ms


def _max_speed(d: FloatArray, dz: FloatArray, dt: FloatArray, plausible_ms: float) -> float | None:
    ok = dt > 0
    if not ok.any():
        return None
    v = d[ok] / dt[ok]
    climb = np.nan_to_num(dz[ok]) / dt[ok]
    v = v[(v <= plausible_ms) & (climb <= MAX_CLIMB_RATE_MS)]
    if len(v) == 0:
        return None
    if len(v) >= _SPEED_MEDIAN:
        v = np.median(sliding_window_view(v, _SPEED_MEDIAN), axis=1)
    return float(v.max())


def _segment_figures(
    segment: Segment, ele: FloatArray, stop_ms: float, window_s: float, plausible_ms: float
) -> _SegmentFigures:
    figures = _SegmentFigures()
    if len(segment) < 2:
        return figures
    d = step_distances_m(segment.lat, segment.lon)
    figures.distance_m = float(d.sum())
    dz = np.diff(ele)
    d3 = np.where(np.isnan(dz), d, np.sqrt(d * d + np.nan_to_num(dz) ** 2))
    figures.distance_3d_m = float(d3.sum())
    index = segment.timed_index()
    if len(index) < 2:
        return figures
    if len(index) < len(segment):  # some points lack a time: time figures on the timed ones
        segment, ele = segment.take(index), ele[index]
        d, dz = step_distances_m(segment.lat, segment.lon), np.diff(ele)
    t = segment.seconds()
    dt = np.diff(t)
    moving = _moving_mask(segment, t, window_s, stop_ms) & (dt > 0)
    figures.moving_time_s = float(dt[moving].sum())
    figures.moving_distance_m = float(d[moving].sum())
    figures.max_speed_ms = _max_speed(d, dz, dt, plausible_ms)
    return figures


def _filtered_elevation(segment: Segment) -> FloatArray:
    """Median-filtered elevation on the points that have one; NaN elsewhere."""
    out = np.full(len(segment), np.nan)
    known = ~np.isnan(segment.ele)
    if known.any():
        out[known] = median_filter(segment.ele[known])
    return out


def _sensor(
    track: ParsedTrack, key: str, drop_zero: bool = False
) -> tuple[float | None, float | None]:
    parts = [s.sensors[key] for s in track.segments if key in s.sensors]
    if not parts:
        return None, None
    values = np.concatenate(parts)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None, None
    peak = float(values.max())
    if drop_zero:
        values = values[values > 0]
    return (float(values.mean()) if len(values) else None), peak


def _to_datetime(value: np.datetime64) -> datetime:
    ms = int(value.astype("datetime64[ms]").astype(np.int64))
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


def _without_points(track: ParsedTrack, glitch_point_count: int, time_quality: str) -> RouteStats:
    """A track with no positioned point (an indoor FIT): nothing to measure; the device's own
    totals (domain/device_totals.py) are the figures then."""
    empty: dict[str, Any] = dict.fromkeys(f.name for f in fields(RouteStats))
    empty.update(distance_km=0.0, distance_3d_km=0.0, point_count=0, segment_count=0)
    empty.update(waypoint_count=track.waypoint_count, glitch_point_count=glitch_point_count)
    empty.update(invalid_point_count=track.invalid_point_count, time_quality=time_quality)
    return RouteStats(**empty)


def compute_stats(
    track: ParsedTrack,
    *,
    stop_speed_kmh: float = DEFAULT_STOP_SPEED_KMH,
    window_s: float = DEFAULT_WINDOW_S,
    max_plausible_kmh: float = DEFAULT_MAX_PLAUSIBLE_KMH,
    glitch_point_count: int = 0,
    time_quality: str | None = None,
    dated_start: datetime | None = None,
) -> RouteStats:
    """Statistics of a track. Time fields are None without times; elevation ones without ele.

    ``time_quality`` is the verdict on the file's times (default: "ok" if the track has times,
    else "absent"); for an unusable one the track comes untimed and ``dated_start`` is the
    ride's date to report."""
    if track.point_count == 0:
        return _without_points(track, glitch_point_count, time_quality or ABSENT)
    stop_ms, plausible_ms = stop_speed_kmh / 3.6, max_plausible_kmh / 3.6
    distance = distance_3d = moving_time = moving_distance = 0.0
    max_speed: float | None = None
    gain = loss = 0.0
    elevations: list[FloatArray] = []
    timed = False
    for segment in track.segments:
        ele = _filtered_elevation(segment)
        known = ele[~np.isnan(ele)]
        if len(known):
            elevations.append(known)
            g, lo = gain_loss(known)
            gain, loss = gain + g, loss + lo
        fig = _segment_figures(segment, ele, stop_ms, window_s, plausible_ms)
        distance += fig.distance_m
        distance_3d += fig.distance_3d_m
        moving_time += fig.moving_time_s
        moving_distance += fig.moving_distance_m
        if len(segment.timed_index()) >= 2:
            timed = True
        if fig.max_speed_ms is not None:
            max_speed = max(max_speed or 0.0, fig.max_speed_ms)

    all_times = np.concatenate([s.time for s in track.segments])
    all_times = all_times[~np.isnat(all_times)]
    start = _to_datetime(all_times.min()) if len(all_times) else None
    end = _to_datetime(all_times.max()) if len(all_times) else None
    quality = time_quality or (OK if timed else ABSENT)
    if quality not in (OK, ABSENT):
        start, end = dated_start, None
    first = next((s for s in track.segments if len(s)), None)
    zone = zone_at(float(first.lat[0]), float(first.lon[0])) if first is not None else None
    has_ele = bool(elevations)
    ele_all = np.concatenate(elevations) if has_ele else np.empty(0)
    lat = np.concatenate([s.lat for s in track.segments])
    lon = np.concatenate([s.lon for s in track.segments])
    avg_hr, max_hr = _sensor(track, "hr")
    avg_cad, max_cad = _sensor(track, "cadence", drop_zero=True)
    avg_pow, max_pow = _sensor(track, "power")
    avg_temp, _ = _sensor(track, "temperature")
    return RouteStats(
        distance_km=distance / 1000.0,
        distance_3d_km=distance_3d / 1000.0,
        elevation_gain_m=gain if has_ele else None,
        elevation_loss_m=loss if has_ele else None,
        min_elevation_m=float(ele_all.min()) if has_ele else None,
        max_elevation_m=float(ele_all.max()) if has_ele else None,
        start_time=start,
        end_time=end,
        duration_s=(end - start).total_seconds() if start and end else None,
        moving_time_s=moving_time if timed else None,
        avg_speed_kmh=(moving_distance / moving_time * 3.6) if timed and moving_time > 0 else None,
        max_speed_kmh=max_speed * 3.6 if max_speed is not None else None,
        avg_hr=avg_hr,
        max_hr=max_hr,
        avg_cadence=avg_cad,
        max_cadence=max_cad,
        avg_power=avg_pow,
        max_power=max_pow,
        avg_temperature_c=avg_temp,
        min_lat=float(lat.min()),
        min_lon=float(lon.min()),
        max_lat=float(lat.max()),
        max_lon=float(lon.max()),
        point_count=track.point_count,
        segment_count=len(track.segments),
        waypoint_count=track.waypoint_count,
        invalid_point_count=track.invalid_point_count,
        glitch_point_count=glitch_point_count,
        time_quality=quality,
        timezone=zone,
        start_time_local=local_iso(start, zone) if start and zone else None,
    )
