"""Value objects for a parsed track: numpy arrays per segment, never one object per point."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]  # datetime64[ms], UTC, NaT where missing
IntArray = npt.NDArray[np.intp]

SENSOR_FIELDS = ("hr", "cadence", "power", "temperature")


@dataclass(frozen=True, eq=False)
class Segment:
    """One continuous recording. Arrays share one length; missing values are NaN / NaT."""

    lat: FloatArray
    lon: FloatArray
    ele: FloatArray
    time: TimeArray
    sensors: dict[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.lat.shape[0])

    @property
    def has_time(self) -> bool:
        return bool(len(self)) and bool((~np.isnat(self.time)).any())

    def seconds(self) -> FloatArray:
        """Times as float seconds since the epoch; NaN where the point has no time."""
        out: FloatArray = self.time.astype("datetime64[ms]").astype(np.int64) / 1000.0
        out[np.isnat(self.time)] = np.nan
        return out

    def timed_index(self) -> IntArray:
        """Indices of the points that carry a time."""
        index: IntArray = np.flatnonzero(~np.isnat(self.time))
        return index

    @property
    def has_elevation(self) -> bool:
        return bool(len(self)) and bool((~np.isnan(self.ele)).any())

    def take(self, index: IntArray | npt.NDArray[np.bool_]) -> Segment:
        """A new segment holding only the selected points (by index or mask)."""
        return Segment(
            lat=self.lat[index],
            lon=self.lon[index],
            ele=self.ele[index],
            time=self.time[index],
            sensors={k: v[index] for k, v in self.sensors.items()},
        )


@dataclass(frozen=True)
class DeviceSession:
    """What the recording device itself reported for one session (a FIT `session` message,
    the sum of a TCX activity's laps): reported beside our computed figures, never mixed in.
    None where the file does not say."""

    sport: str | None = None  # lower-case, as the file names it ("cycling", "transition")
    start_time: datetime | None = None
    distance_km: float | None = None
    timer_time_s: float | None = None  # the device's moving time (auto-pause excluded)
    elapsed_time_s: float | None = None
    ascent_m: float | None = None
    descent_m: float | None = None
    max_speed_kmh: float | None = None
    avg_speed_kmh: float | None = None
    avg_hr: float | None = None
    max_hr: float | None = None
    avg_cadence: float | None = None
    avg_power: float | None = None
    max_power: float | None = None
    calories_kcal: float | None = None


@dataclass(frozen=True, eq=False)
class ParsedTrack:
    segments: tuple[Segment, ...]
    waypoint_count: int = 0
    track_count: int = 0
    route_count: int = 0
    invalid_point_count: int = 0
    gpx_version: str | None = None
    creator: str | None = None
    name: str | None = None
    # the device's own totals, one per session (empty for GPX, which carries none)
    device_sessions: tuple[DeviceSession, ...] = ()
    # stable codes of what the parser had to forgive ("FIT_TRUNCATED", "FIT_CRC_MISMATCH"):
    # the status shows them so a partly read file is never passed off as whole
    parse_warnings: tuple[str, ...] = ()

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def has_time(self) -> bool:
        return any(s.has_time for s in self.segments)

    @property
    def has_elevation(self) -> bool:
        return any(s.has_elevation for s in self.segments)
