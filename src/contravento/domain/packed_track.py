"""A simplified track as one blob: little-endian column arrays at the precision the API serves.

One row per file (db table ``gpx_tracks``) instead of one row per kept point. Values are
stored as GET /gpx/{id}/track answers them: each is rounded with Python's ``round`` (7
decimals of a degree, 0.1 m of elevation, 4 decimals of a km along the route), so an integer
carries it exactly and reading it back gives the very floats the response has always had.

Layout of ``data``, columns one after the other (``S`` non-empty segments, ``N`` points)::

    segment starts  int32[S]   offset of each non-empty segment's first point
    lat, lon        int32[N]   x 1e7
    ele             int32[N]   x 10 (0.1 m)                   FORMAT_NARROW
                    float64[N] round(ele, 1)                  FORMAT_WIDE
    distance_km     int32[N]   x 1e4 (0.1 m)                  FORMAT_NARROW
                    float64[N] round(distance_km, 4)          FORMAT_WIDE
    time            int64[N]   microseconds since the epoch, UTC
    hr, cadence, power  float32[N]  as recorded (not served)

In the integer columns ``INT32_MIN`` is a missing value and ``INT32_MIN + 1`` is ``-0.0``
(``round(-0.03, 1)`` is ``-0.0`` and the response has always written it so). A missing time is
``INT64_MIN`` (numpy's NaT), a missing sensor value NaN. A track whose elevations or distances
do not fit 32 bits (a hostile file: ``<ele>1e30</ele>``, jumps round the globe without times)
is stored in FORMAT_WIDE, which keeps the rounded values as doubles. Empty segments are not
stored: the response never had them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .simplify import SimplifiedTrack
from .track import FloatArray, Segment

FORMAT_NARROW = 1
FORMAT_WIDE = 2
FORMATS = (FORMAT_NARROW, FORMAT_WIDE)

SENSORS = ("hr", "cadence", "power")
LAT_LON_DIGITS = 7
ELE_DIGITS = 1
DISTANCE_DIGITS = 4

MISSING_INT32 = int(np.iinfo(np.int32).min)
NEGATIVE_ZERO_INT32 = MISSING_INT32 + 1
_INT32_MAX = int(np.iinfo(np.int32).max)
_I4, _I8, _F4, _F8 = np.dtype("<i4"), np.dtype("<i8"), np.dtype("<f4"), np.dtype("<f8")

Int32Array = npt.NDArray[np.int32]


class PackedTrackError(ValueError):
    """Bytes that are not a packed track of the stated shape (a corrupt or foreign row)."""


@dataclass(frozen=True)
class PackedTrack:
    """What one ``gpx_tracks`` row holds."""

    format: int
    point_count: int
    segment_count: int
    data: bytes


@dataclass(frozen=True, eq=False)
class TrackColumns:
    """An unpacked track, at the served precision. ``starts`` are the first index of each
    segment (all non-empty); missing elevations are NaN, missing times NaT."""

    starts: npt.NDArray[np.int64]
    lat: FloatArray
    lon: FloatArray
    ele: FloatArray
    distance_km: FloatArray
    time: npt.NDArray[np.datetime64]  # datetime64[us]
    sensors: dict[str, FloatArray]

    @property
    def point_count(self) -> int:
        return int(self.lat.shape[0])


def rounded(values: FloatArray, digits: int) -> FloatArray:
    """``[round(v, digits) for v in values]`` as an array, bit for bit (the sign of zero too).

    Python's round is correctly rounded on the exact binary value; ``rint(v * 10**digits)``
    differs from it only where the product lands within a few ulps of a half: those few values
    take Python's round, the rest stay vectorised.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        units = np.rint(scaled)
        out: FloatArray = units / scale
        tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) <= 4 * np.spacing(np.abs(scaled))
        # beyond 2**52 a double has no fraction: round returns the value itself
        exact = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**52) | tie
    exact &= ~np.isnan(values)
    if exact.any():
        out[exact] = [round(v, digits) for v in values[exact].tolist()]
    return out


def _to_int32(served: FloatArray, digits: int) -> Int32Array | None:
    """Served values as exact integers x 10**digits, or None if any does not fit int32."""
    missing = np.isnan(served)
    with np.errstate(over="ignore", invalid="ignore"):
        units = np.rint(served * 10.0**digits)
        fits = missing | ((units > NEGATIVE_ZERO_INT32) & (units <= _INT32_MAX))
    if not fits.all():
        return None
    out = np.where(missing, 0.0, units).astype(_I4)
    out[missing] = MISSING_INT32
    out[(units == 0) & np.signbit(served) & ~missing] = NEGATIVE_ZERO_INT32
    return out


def _from_int32(column: Int32Array, digits: int) -> FloatArray:
    out: FloatArray = column.astype(np.float64) / 10.0**digits
    out[column == MISSING_INT32] = np.nan
    out[column == NEGATIVE_ZERO_INT32] = -0.0
    return out


def _concat(parts: list[npt.NDArray[np.float64]]) -> FloatArray:
    out: FloatArray = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    return out


def pack(track: SimplifiedTrack) -> PackedTrack:
    """The kept points of every non-empty segment, column after column."""
    return pack_segments(track.segments, track.distance_km)


def pack_segments(segments: Sequence[Segment], distance_km: Sequence[FloatArray]) -> PackedTrack:
    """As `pack`, from segments and each one's along-route distances (km)."""
    kept = [
        (segment, along)
        for segment, along in zip(segments, distance_km, strict=True)
        if len(segment)
    ]
    lengths = [len(segment) for segment, _ in kept]
    starts = np.cumsum([0, *lengths[:-1]]).astype(_I4) if kept else np.zeros(0, _I4)
    if not kept:
        return PackedTrack(FORMAT_NARROW, 0, 0, starts.tobytes())
    lat = _to_int32(rounded(_concat([s.lat for s, _ in kept]), LAT_LON_DIGITS), LAT_LON_DIGITS)
    lon = _to_int32(rounded(_concat([s.lon for s, _ in kept]), LAT_LON_DIGITS), LAT_LON_DIGITS)
    if lat is None or lon is None:
        raise PackedTrackError("latitude or longitude out of range")
    ele = rounded(_concat([s.ele for s, _ in kept]), ELE_DIGITS)
    dist = rounded(_concat([d for _, d in kept]), DISTANCE_DIGITS)
    ele_i4, dist_i4 = _to_int32(ele, ELE_DIGITS), _to_int32(dist, DISTANCE_DIGITS)
    columns: list[npt.NDArray[Any]] = [starts, lat, lon]
    if ele_i4 is not None and dist_i4 is not None:
        fmt = FORMAT_NARROW
        columns += [ele_i4, dist_i4]
    else:
        fmt = FORMAT_WIDE
        columns += [ele.astype(_F8), dist.astype(_F8)]
    times = np.concatenate([s.time.astype("datetime64[us]") for s, _ in kept])
    columns.append(times.view(np.int64).astype(_I8))  # NaT is INT64_MIN
    with np.errstate(over="ignore", invalid="ignore"):
        for name in SENSORS:
            values = [s.sensors.get(name, np.full(len(s), np.nan)) for s, _ in kept]
            columns.append(_concat(values).astype(_F4))
    data = b"".join(c.tobytes() for c in columns)
    return PackedTrack(fmt, sum(lengths), len(kept), data)


def packed_size(fmt: int, point_count: int, segment_count: int) -> int:
    """The byte length of ``data`` for that shape."""
    if fmt not in FORMATS:
        raise PackedTrackError(f"unknown packed track format {fmt}")
    wide = _F8.itemsize if fmt == FORMAT_WIDE else _I4.itemsize
    per_point = 2 * _I4.itemsize + 2 * wide + _I8.itemsize + len(SENSORS) * _F4.itemsize
    return segment_count * _I4.itemsize + point_count * per_point


def unpack(packed: PackedTrack) -> TrackColumns:
    """The columns of a packed track; PackedTrackError if the bytes do not fit its shape."""
    n, s = packed.point_count, packed.segment_count
    if n < 0 or s < 0 or (s == 0) != (n == 0) or s > n:
        raise PackedTrackError(f"impossible shape: {n} points in {s} segments")
    if len(packed.data) != packed_size(packed.format, n, s):
        raise PackedTrackError(f"{len(packed.data)} bytes for {n} points in {s} segments")
    raw, offset = memoryview(packed.data), 0

    def take(dtype: np.dtype[Any], count: int) -> npt.NDArray[Any]:
        nonlocal offset
        width = dtype.itemsize * count
        column = np.frombuffer(raw[offset : offset + width], dtype=dtype)
        offset += width
        return column

    starts = take(_I4, s).astype(np.int64)
    if s and (starts[0] != 0 or (np.diff(starts) <= 0).any() or starts[-1] >= n):
        raise PackedTrackError("segment starts out of order")
    lat = _from_int32(take(_I4, n), LAT_LON_DIGITS)
    lon = _from_int32(take(_I4, n), LAT_LON_DIGITS)
    if packed.format == FORMAT_NARROW:
        ele = _from_int32(take(_I4, n), ELE_DIGITS)
        dist = _from_int32(take(_I4, n), DISTANCE_DIGITS)
    else:
        ele = take(_F8, n).astype(np.float64)
        dist = take(_F8, n).astype(np.float64)
    time = take(_I8, n).astype(np.int64).view("datetime64[us]")
    sensors = {name: take(_F4, n).astype(np.float64) for name in SENSORS}
    return TrackColumns(starts, lat, lon, ele, dist, time, sensors)
