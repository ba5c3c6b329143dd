"""The same ride in another file: one recording exported twice (FIT from the device, GPX from
an app, a gzip of either), whose bytes differ but whose ride does not.

Two rides are the same when they start within START_TOLERANCE_S of each other and their
distances differ by at most DISTANCE_TOLERANCE_FRACTION of the longer one or
DISTANCE_TOLERANCE_KM, whichever is larger (exporters resample and trim differently; a short
ride's 2 % is less than GPS noise). A ride without a start time (an untimed track, or times
that were not usable) is never the same as another: without the time, two laps of one route
would be taken for one ride.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

START_TOLERANCE_S = 60.0
DISTANCE_TOLERANCE_FRACTION = 0.02
DISTANCE_TOLERANCE_KM = 0.1
START_TOLERANCE = timedelta(seconds=START_TOLERANCE_S)
_ROUNDING_KM = 1e-9  # 2.1 - 2.0 is 0.10000000000000009 in floating point


@dataclass(frozen=True)
class RideKey:
    """What identifies a ride across formats: when it started, and how far it went."""

    start_time: datetime | None
    distance_km: float


def distance_tolerance_km(a_km: float, b_km: float) -> float:
    return max(DISTANCE_TOLERANCE_FRACTION * max(a_km, b_km), DISTANCE_TOLERANCE_KM)


def same_ride(a: RideKey, b: RideKey) -> bool:
    if a.start_time is None or b.start_time is None:
        return False
    if abs((a.start_time - b.start_time).total_seconds()) > START_TOLERANCE_S:
        return False
    gap = abs(a.distance_km - b.distance_km)
    return gap <= distance_tolerance_km(a.distance_km, b.distance_km) + _ROUNDING_KM
