"""What the recording device said, beside what we computed, and which one is the headline.

Rules (docs/domain.md, "Device totals"):
- the device block sums the sessions that are riding: every session but a multisport file's
  ``transition`` sessions. Distances, times, ascent/descent and calories add up; maxima are
  the maximum; averages are weighted by each session's timer time (avg speed is the summed
  distance over the summed timer time);
- headline, per field: **computed** whenever we could compute it (it follows one rule for
  every format, so FIT, TCX and GPX of the same ride compare, and it matches the map and the
  profile drawn from the same points); **device** where we have no figure of our own (an
  indoor ride: no position, hence no distance, speed or climb of ours) and the device gave
  one. The top-level statistics carry the headline value, so a page, the trip totals and
  the listing show it without knowing where it came from;
- ``indoor`` is true when the file has device totals but not one positioned point;
- the device's start time is believed on the epoch rules of time_quality.py (never 1901,
  1970, the unset clock's 2000-01-01, a GPS week rollover): an unbelievable one stays in the
  device block, as what the device said, but is never the headline start nor the ride's;
- the ride's identity across formats (same_ride.RideKey) is its headline start and distance:
  ours for a ride with positions (so two exports of one ride compare whatever their devices'
  totals say), the device's for an indoor ride, which has none of ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from .same_ride import RideKey
from .stats import RouteStats
from .time_quality import believable_instant
from .track import DeviceSession, ParsedTrack

Source = Literal["computed", "device"]
TRANSITION = "transition"

_SUMMED = ("distance_km", "timer_time_s", "elapsed_time_s", "ascent_m", "descent_m")
_SUMMED_EXTRA = ("calories_kcal",)
_MAXED = ("max_speed_kmh", "max_hr", "max_power")
_WEIGHTED = ("avg_hr", "avg_cadence", "avg_power")

# top-level statistic -> the device's figure for it
HEADLINE_FIELDS: dict[str, str] = {
    "start_time": "start_time",
    "distance_km": "distance_km",
    "moving_time_s": "timer_time_s",
    "duration_s": "elapsed_time_s",
    "elevation_gain_m": "ascent_m",
    "elevation_loss_m": "descent_m",
    "avg_speed_kmh": "avg_speed_kmh",
    "max_speed_kmh": "max_speed_kmh",
    "avg_hr": "avg_hr",
    "max_hr": "max_hr",
    "avg_cadence": "avg_cadence",
    "avg_power": "avg_power",
    "max_power": "max_power",
}


@dataclass(frozen=True)
class DeviceReport:
    device: dict[str, Any] | None  # the riding sessions' totals, None for a GPX
    headline: dict[str, Source]
    indoor: bool
    parse_warnings: tuple[str, ...]
    start_time: datetime | None  # the riding sessions' first start, when believable


def first_start(sessions: Sequence[DeviceSession]) -> datetime | None:
    return min((s.start_time for s in riding(sessions) if s.start_time), default=None)


def riding(sessions: Sequence[DeviceSession]) -> list[DeviceSession]:
    return [s for s in sessions if s.sport != TRANSITION]


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def device_block(sessions: Sequence[DeviceSession]) -> dict[str, Any] | None:
    """The riding sessions' totals, or None when the file carries no session."""
    rides = riding(sessions)
    if not rides:
        return None
    out: dict[str, Any] = {}
    for key in (*_SUMMED, *_SUMMED_EXTRA):
        out[key] = _sum([getattr(s, key) for s in rides])
    for key in _MAXED:
        out[key] = max((v for s in rides if (v := getattr(s, key)) is not None), default=None)
    for key in _WEIGHTED:
        pairs = [(v, s.timer_time_s or 0.0) for s in rides if (v := getattr(s, key)) is not None]
        weight = sum(w for _, w in pairs)
        if pairs and weight > 0:
            out[key] = sum(v * w for v, w in pairs) / weight
        else:
            out[key] = pairs[0][0] if len(pairs) == 1 else None
    timer, distance = out["timer_time_s"], out["distance_km"]
    if timer and distance is not None:
        out["avg_speed_kmh"] = distance / (timer / 3600.0)
    else:
        out["avg_speed_kmh"] = rides[0].avg_speed_kmh if len(rides) == 1 else None
    start = first_start(rides)
    out["start_time"] = start.isoformat().replace("+00:00", "Z") if start else None
    out["sports"] = sorted({s.sport for s in rides if s.sport})
    out["session_count"] = len(rides)
    out["transition_count"] = len(sessions) - len(rides)
    return {k: _rounded(k, v) for k, v in out.items()}


def _rounded(key: str, value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3 if key.endswith("_km") else 1)
    return value


def device_report(
    track: ParsedTrack, stats: RouteStats, *, received_at: datetime | None = None
) -> DeviceReport:
    device = device_block(track.device_sessions)
    ours = {f.name: getattr(stats, f.name) for f in fields(stats)}
    positioned = track.point_count > 0
    start = first_start(track.device_sessions)
    if start is not None and not believable_instant(start, received_at=received_at):
        start = None
    headline: dict[str, Source] = {}
    for key, device_key in HEADLINE_FIELDS.items():
        mine = ours[key]
        has_ours = mine is not None and (positioned or key not in _NEEDS_POSITIONS)
        theirs = device.get(device_key) if device else None
        if key == "start_time" and start is None:
            theirs = None
        headline[key] = "device" if not has_ours and theirs is not None else "computed"
    return DeviceReport(
        device=device,
        headline=headline,
        indoor=device is not None and not positioned,
        parse_warnings=track.parse_warnings,
        start_time=start,
    )


def ride_key(stats: RouteStats, report: DeviceReport) -> RideKey:
    """The ride's identity for same-ride duplicates: its headline start and distance."""
    distance = stats.distance_km
    if report.headline["distance_km"] == "device" and report.device is not None:
        distance = float(report.device["distance_km"])
    return RideKey(stats.start_time or report.start_time, distance)


# our figures that exist only with positions (without one, distance_km is a bare 0.0)
_NEEDS_POSITIONS = frozenset({"distance_km", "avg_speed_kmh", "max_speed_kmh"})


def stats_document(stats: RouteStats, report: DeviceReport) -> dict[str, Any]:
    """The JSON the API serves: our statistics with each headline value in place, plus the
    device block, the headline map, ``indoor`` and ``parse_warnings``."""
    out = stats.to_dict()
    if report.device is not None:
        for key, source in report.headline.items():
            if source == "device":
                out[key] = report.device[HEADLINE_FIELDS[key]]
    out["device"] = report.device
    out["headline"] = report.headline
    out["indoor"] = report.indoor
    out["parse_warnings"] = list(report.parse_warnings)
    return out
