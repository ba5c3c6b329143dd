"""The whole domain pass that the API, worker, CLI and benchmarks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .compression import DEFAULT_MAX_INFLATED_BYTES
from .device_totals import DeviceReport, device_report, ride_key, stats_document
from .formats import parse_track
from .glitches import DEFAULT_MAX_SPEED_KMH, remove_glitches
from .gpx import DEFAULT_MAX_POINTS
from .profile import Profile, track_profile
from .same_ride import RideKey
from .simplify import DEFAULT_TOLERANCE_M, SimplifiedTrack, simplify
from .stats import DEFAULT_STOP_SPEED_KMH, RouteStats, compute_stats
from .time_quality import judge_times
from .track import ParsedTrack


@dataclass(frozen=True, eq=False)
class TrackSummary:
    track: ParsedTrack  # after glitch removal; untimed when its times were unusable
    stats: RouteStats
    simplified: SimplifiedTrack
    profile: Profile  # drawn from the full points, before simplification
    device: DeviceReport  # the device's own totals (FIT/TCX), the headline rule, warnings

    def stats_document(self) -> dict[str, Any]:
        """The statistics as stored and served (headline values, device block)."""
        return stats_document(self.stats, self.device)

    def ride_key(self) -> RideKey:
        """Which ride this is, for same-ride duplicates (device_totals.ride_key)."""
        return ride_key(self.stats, self.device)


def summarize(
    data: bytes,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    stop_speed_kmh: float = DEFAULT_STOP_SPEED_KMH,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_points: int = DEFAULT_MAX_POINTS,
    should_stop: Callable[[], bool] | None = None,
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
    received_at: datetime | None = None,
) -> TrackSummary:
    """parse (any format: domain/formats) -> judge the times -> remove glitches -> statistics,
    drawing profile -> Douglas-Peucker.

    Times judged unusable (domain/time_quality) are dropped before any speed-based rule, so
    they never cost a point; ``received_at`` (when the file arrived) lets a GPS week rollover
    be recognised.

    Raises only GPXError, or ProcessingCancelled once ``should_stop()`` turns true (checked
    while parsing, the only step whose time grows past milliseconds).
    """
    parsed = parse_track(
        data, max_points=max_points, should_stop=should_stop, max_inflated_bytes=max_inflated_bytes
    )
    times = judge_times(parsed, received_at=received_at)
    clean, removed = remove_glitches(times.track, max_speed_kmh=max_speed_kmh)
    stats = compute_stats(
        clean,
        stop_speed_kmh=stop_speed_kmh,
        max_plausible_kmh=max_speed_kmh,
        glitch_point_count=removed,
        time_quality=times.quality,
        dated_start=times.start_time,
    )
    return TrackSummary(
        track=clean,
        stats=stats,
        simplified=simplify(clean, tolerance_m),
        profile=track_profile(clean),
        device=device_report(clean, stats, received_at=received_at),
    )
