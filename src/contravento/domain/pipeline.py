"""The whole domain pass that the API, worker, CLI and benchmarks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .compression import DEFAULT_MAX_INFLATED_BYTES
from .device_totals import DeviceReport, device_report, stats_document
from .formats import parse_track
from .glitches import DEFAULT_MAX_SPEED_KMH, remove_glitches
from .gpx import DEFAULT_MAX_POINTS
from .profile import Profile, track_profile
from .simplify import DEFAULT_TOLERANCE_M, SimplifiedTrack, simplify
from .stats import DEFAULT_STOP_SPEED_KMH, RouteStats, compute_stats
from .track import ParsedTrack


@dataclass(frozen=True, eq=False)
class TrackSummary:
    track: ParsedTrack  # after glitch removal
    stats: RouteStats
    simplified: SimplifiedTrack
    profile: Profile  # drawn from the full points, before simplification
    device: DeviceReport  # the device's own totals (FIT/TCX), the headline rule, warnings

    def stats_document(self) -> dict[str, Any]:
        """The statistics as stored and served (headline values, device block)."""
        return stats_document(self.stats, self.device)


def summarize(
    data: bytes,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    stop_speed_kmh: float = DEFAULT_STOP_SPEED_KMH,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    max_points: int = DEFAULT_MAX_POINTS,
    should_stop: Callable[[], bool] | None = None,
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
) -> TrackSummary:
    """parse (any format: domain/formats) -> remove glitches -> statistics, drawing profile
    -> Douglas-Peucker.

    Raises only GPXError, or ProcessingCancelled once ``should_stop()`` turns true (checked
    while parsing, the only step whose time grows past milliseconds).
    """
    parsed = parse_track(
        data, max_points=max_points, should_stop=should_stop, max_inflated_bytes=max_inflated_bytes
    )
    clean, removed = remove_glitches(parsed, max_speed_kmh=max_speed_kmh)
    if clean is not parsed:  # what the file said beyond its points is kept
        clean = replace(
            clean, device_sessions=parsed.device_sessions, parse_warnings=parsed.parse_warnings
        )
    stats = compute_stats(
        clean,
        stop_speed_kmh=stop_speed_kmh,
        max_plausible_kmh=max_speed_kmh,
        glitch_point_count=removed,
    )
    return TrackSummary(
        track=clean,
        stats=stats,
        simplified=simplify(clean, tolerance_m),
        profile=track_profile(clean),
        device=device_report(clean, stats),
    )
