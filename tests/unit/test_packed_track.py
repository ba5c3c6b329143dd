"""domain/packed_track: one blob per track, read back at the served precision, and the body
of GET /gpx/{id}/track built from it byte for byte as the per-point rows gave it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydantic import TypeAdapter

from contravento.db.trackpoints import pack_rows
from contravento.domain import SimplifiedTrack, summarize
from contravento.domain.packed_track import (
    FORMAT_NARROW,
    FORMAT_WIDE,
    PackedTrack,
    PackedTrackError,
    pack,
    rounded,
    unpack,
)
from contravento.domain.track import Segment
from contravento.schemas.gpx import TrackOut
from contravento.services.track_body import feature
from tests.legacy_track import LegacyRow, legacy_feature, legacy_records

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data" / "samples").glob("*.gpx"))
META: dict[str, Any] = {
    "gpx_file_id": "f",
    "trip_id": "t",
    "name": "ruta.gpx",
    "stats": {"distance_km": 1.5, "min_lon": -3.7, "min_lat": 40.0, "max_lon": -3.6},
}
_TRACK = TypeAdapter(TrackOut)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _as_rows(records: list[LegacyRow]) -> list[tuple[object, ...]]:
    """What db/trackpoints.load_legacy_track selects from each row."""
    return [
        (r.segment, r.lat, r.lon, r.ele, r.time, r.distance_km, r.hr, r.cadence, r.power)
        for r in records
    ]


def _bodies(track: SimplifiedTrack) -> tuple[bytes, bytes, bytes]:
    """Today's rows, the packed row, the legacy rows read through the packed path: as the API
    encodes each (response model, then JSON) and as json.dumps writes each."""
    records = legacy_records(track)
    reference = legacy_feature(records, **META)
    packed = feature(unpack(pack(track)), **META)
    from_rows = feature(unpack(pack_rows(_as_rows(records))), **META)
    encoded = [_TRACK.dump_json(_TRACK.validate_python(b)) for b in (reference, packed, from_rows)]
    dumped = {json.dumps(b) for b in (reference, packed, from_rows)}
    assert len(dumped) == 1, "json.dumps differs"
    return encoded[0], encoded[1], encoded[2]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_serves_the_same_bytes(path: Path) -> None:
    track = summarize(path.read_bytes()).simplified
    today, packed, legacy = _bodies(track)
    assert packed == today
    assert legacy == today
    stored = pack(track)
    assert stored.format == FORMAT_NARROW
    assert stored.point_count == track.point_count
    assert len(stored.data) < 36 * track.point_count + 4 * len(track.segments) + 1


# -- random tracks: segments of 0..n points, missing elevations, times, sensors --------------

_COORD_NEAR_ZERO = st.floats(-1e-7, 1e-7)  # round(-3e-8, 7) is -0.0, and JSON says so
_ELE = st.one_of(
    st.just(float("nan")),
    st.floats(-450, 8900),
    st.floats(-0.2, 0.2),  # sea level: -0.0 after rounding
    st.floats(allow_nan=False, allow_infinity=False),  # hostile: 1e300 fits no int32
    st.sampled_from([0.25, -0.25, 0.05, 1 / 256, 2.675]),  # ties and near-ties
)
_TIME_US = st.one_of(
    st.just(np.iinfo(np.int64).min),  # NaT
    st.integers(-2_208_988_800_000_000, 7_258_118_400_000_000),  # 1900 .. 2200
    st.integers(-2_208_988_800_000, 7_258_118_400_000).map(lambda ms: ms * 1000),
)


@st.composite
def segments(draw: st.DrawFn) -> tuple[Segment, np.ndarray]:
    n = draw(st.sampled_from([0, 1, 1, 2, 3, 17]))
    lat = draw(hnp.arrays(np.float64, n, elements=st.one_of(st.floats(-90, 90), _COORD_NEAR_ZERO)))
    lon = draw(
        hnp.arrays(np.float64, n, elements=st.one_of(st.floats(-180, 180), _COORD_NEAR_ZERO))
    )
    ele = draw(hnp.arrays(np.float64, n, elements=_ELE))
    time = draw(hnp.arrays(np.int64, n, elements=_TIME_US)).view("datetime64[us]")
    sensors = {}
    for name in draw(st.sets(st.sampled_from(["hr", "cadence", "power", "temperature"]))):
        values = st.one_of(st.just(float("nan")), st.floats(0, 2000))
        sensors[name] = draw(hnp.arrays(np.float64, n, elements=values))
    along = np.cumsum(draw(hnp.arrays(np.float64, n, elements=st.floats(0, 50))))
    if draw(st.booleans()) and n:
        along = along + draw(st.floats(0, 3e5))  # beyond 214,748 km: no int32 of 0.1 m
    return Segment(lat=lat, lon=lon, ele=ele, time=time, sensors=sensors), along


@st.composite
def tracks(draw: st.DrawFn) -> SimplifiedTrack:
    parts = draw(st.lists(segments(), max_size=12))
    return SimplifiedTrack(
        segments=tuple(s for s, _ in parts),
        original_point_count=sum(len(s) for s, _ in parts),
        tolerance_m=5.0,
        distance_km=tuple(d for _, d in parts),
    )


@PROPS
@given(tracks())
def test_random_tracks_serve_the_same_bytes(track: SimplifiedTrack) -> None:
    today, packed, legacy = _bodies(track)
    assert packed == today
    assert legacy == today


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit, so -0.0 differs from 0.0 and NaN equals NaN."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _served(values: list[np.ndarray], digits: int) -> np.ndarray:
    flat = np.concatenate([np.asarray(v, dtype=np.float64) for v in values]) if values else []
    return np.array([round(v, digits) for v in np.asarray(flat).tolist()], dtype=np.float64)


@PROPS
@given(tracks())
def test_round_trip_at_the_served_precision(track: SimplifiedTrack) -> None:
    stored = pack(track)
    back = unpack(stored)
    kept = [(s, d) for s, d in zip(track.segments, track.distance_km, strict=True) if len(s)]
    assert stored.point_count == back.point_count == track.point_count
    assert stored.segment_count == len(kept) == len(back.starts)
    lengths = [len(s) for s, _ in kept]
    assert back.starts.tolist() == [sum(lengths[:i]) for i in range(len(lengths))]
    assert _same(back.lat, _served([s.lat for s, _ in kept], 7))
    assert _same(back.lon, _served([s.lon for s, _ in kept], 7))
    assert _same(back.ele, _served([s.ele for s, _ in kept], 1))
    assert _same(back.distance_km, _served([d for _, d in kept], 4))
    times = [s.time.astype("datetime64[us]") for s, _ in kept]
    expected_times = np.concatenate(times) if times else np.zeros(0, "datetime64[us]")
    assert _same(back.time.view(np.int64), expected_times.view(np.int64))
    for name in ("hr", "cadence", "power"):
        values = [s.sensors.get(name, np.full(len(s), np.nan)) for s, _ in kept]
        flat = np.concatenate(values) if values else np.zeros(0)
        assert _same(back.sensors[name], flat.astype(np.float32).astype(np.float64))
    assert "temperature" not in back.sensors  # never stored, as before
    with np.errstate(over="ignore"):
        wide = not (
            np.all(np.isnan(back.ele) | (np.abs(back.ele) * 10 < 2**31 - 2))
            and np.all(back.distance_km * 1e4 < 2**31 - 2)
        )
    assert stored.format == (FORMAT_WIDE if wide else FORMAT_NARROW)


@PROPS
@given(
    hnp.arrays(np.float64, st.integers(0, 40), elements=st.floats(allow_infinity=False)),
    st.sampled_from([1, 4, 7]),
)
@example(np.array([0.00390625, 2.675, -2.675, 0.125, -0.0, 1e300, 5e-8, -5e-8]), 7)
@example(np.array([0.05, 0.15, 0.25, 0.35, -0.05, 1e16, 2.5e-5]), 1)
def test_vectorised_rounding_is_pythons_round(values: np.ndarray, digits: int) -> None:
    expected = np.array([round(v, digits) for v in values.tolist()], dtype=np.float64)
    assert _same(rounded(values, digits), expected)


def test_hostile_values_are_stored_wide_and_served_as_before() -> None:
    segment = Segment(
        lat=np.array([40.0, -40.0, 40.0]),
        lon=np.array([-3.7, 176.3, -3.7]),
        ele=np.array([1e30, -0.04, np.nan]),
        time=np.array(["NaT"] * 3, dtype="datetime64[ms]"),
    )
    track = SimplifiedTrack((segment,), 3, 5.0, (np.array([0.0, 20_000.0, 400_000.0]),))
    stored = pack(track)
    assert stored.format == FORMAT_WIDE
    today, packed, legacy = _bodies(track)
    assert packed == today == legacy
    assert b"1e+30" in packed or b"1e30" in packed
    assert b"-0.0" in packed  # the sea-level elevation keeps its sign, as it always had


def test_empty_track_packs_to_nothing() -> None:
    track = SimplifiedTrack((), 0, 5.0, ())
    stored = pack(track)
    assert (stored.point_count, stored.segment_count, stored.data) == (0, 0, b"")
    body = feature(unpack(stored), **META)
    assert body["geometry"] == {"type": "MultiLineString", "coordinates": []}


@pytest.mark.parametrize(
    "packed",
    [
        PackedTrack(FORMAT_NARROW, 2, 1, b"\0" * 10),  # too short
        PackedTrack(9, 0, 0, b""),  # unknown format
        PackedTrack(FORMAT_NARROW, 1, 0, b"\0" * 36),  # points without a segment
        PackedTrack(FORMAT_NARROW, 1, 2, b"\0" * 44),  # more segments than points
        PackedTrack(FORMAT_NARROW, 2, 1, b"\1\0\0\0" + b"\0" * 72),  # a start that is not 0
    ],
)
def test_corrupt_rows_are_refused(packed: PackedTrack) -> None:
    with pytest.raises(PackedTrackError):
        unpack(packed)


def test_layout_is_little_endian_columns() -> None:
    """The documented layout, read back with nothing but struct-like slicing."""
    segment = Segment(
        lat=np.array([40.1234567, 40.2]),
        lon=np.array([-3.7, -3.6]),
        ele=np.array([667.25, np.nan]),
        time=np.array(["2024-05-01T08:00:00.123", "NaT"], dtype="datetime64[ms]"),
        sensors={"hr": np.array([120.0, np.nan])},
    )
    stored = pack(SimplifiedTrack((segment,), 2, 5.0, (np.array([0.0, 1.23456]),)))
    raw = stored.data
    starts = np.frombuffer(raw[0:4], "<i4")
    lat, lon, ele, dist = (np.frombuffer(raw[4 + 8 * i : 12 + 8 * i], "<i4") for i in range(4))
    time = np.frombuffer(raw[36:52], "<i8")
    hr = np.frombuffer(raw[52:60], "<f4")
    assert starts.tolist() == [0]
    assert lat.tolist() == [401234567, 402000000]
    assert lon.tolist() == [-37000000, -36000000]
    assert ele.tolist() == [6672, -(2**31)]  # round(667.25, 1) == 667.2; missing
    assert dist.tolist() == [0, 12346]
    assert time.tolist() == [1714550400123000, -(2**63)]
    assert hr[0] == 120.0 and np.isnan(hr[1])
    assert len(raw) == 4 + 2 * 36
