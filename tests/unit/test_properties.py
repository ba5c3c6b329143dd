"""Property tests (hypothesis): simplification, distance additivity, parser robustness."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from gpx_factory import gpx, line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contravento.domain import GPXError, compute_stats, parse_gpx, simplify, summarize
from contravento.domain.geo import local_xy_m, step_distances_m
from contravento.domain.simplify import simplify_segment
from contravento.domain.track import Segment

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SMALL_SAMPLES = sorted(p for p in SAMPLES.glob("*.gpx") if p.stat().st_size < 130_000)
SEEDS = [gpx([line(40, step_m=7.0)])] + [p.read_bytes() for p in SMALL_SAMPLES]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def walks(draw: st.DrawFn, min_size: int = 2, max_size: int = 300) -> Segment:
    """A random ride: steps of 0-60 m in random directions, or a jumpy scribble."""
    n = draw(st.integers(min_size, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lat0 = draw(st.floats(-70, 70))
    lon0 = draw(st.floats(-179, 179))
    scale = draw(st.sampled_from([1.0, 10.0, 60.0, 500.0]))
    turn = draw(st.sampled_from([0.05, 0.5, 3.0]))
    heading = np.cumsum(rng.normal(0, turn, n))
    step = rng.uniform(0, scale, n)
    north, east = np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))
    lat = lat0 + np.degrees(north / 6_371_008.8)
    lon = lon0 + np.degrees(east / (6_371_008.8 * np.cos(np.radians(lat0))))
    times = np.datetime64("2024-05-01T08:00:00", "ms") + np.arange(n).astype("timedelta64[s]")
    return Segment(lat=lat, lon=lon, ele=rng.uniform(0, 500, n), time=times)


def _point_to_polyline_m(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    a, b = poly[:-1], poly[1:]
    ab = b - a
    ap = points[:, None, :] - a[None, :, :]
    denom = np.einsum("ij,ij->i", ab, ab)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(denom > 0, np.einsum("kij,ij->ki", ap, ab) / denom, 0.0)
    t = np.clip(t, 0.0, 1.0)
    nearest = a[None, :, :] + t[:, :, None] * ab[None, :, :]
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1)


@FAST
@given(walks(), st.sampled_from([0.0, 1.0, 5.0, 20.0, 100.0]))
def test_simplification_invariants(seg: Segment, tolerance: float) -> None:
    out = simplify_segment(seg, tolerance)
    n = len(seg)
    assert 2 <= len(out) <= n
    # endpoints kept
    assert (out.lat[0], out.lon[0]) == (seg.lat[0], seg.lon[0])
    assert (out.lat[-1], out.lon[-1]) == (seg.lat[-1], seg.lon[-1])
    # kept points are original points, unmoved, in order (times strictly increase)
    t_in = seg.time.astype(np.int64)
    index = np.searchsorted(t_in, out.time.astype(np.int64))
    assert np.all(np.diff(index) > 0)
    np.testing.assert_array_equal(seg.lat[index], out.lat)
    np.testing.assert_array_equal(seg.lon[index], out.lon)
    np.testing.assert_array_equal(seg.ele[index], out.ele)
    # every original point within tolerance of the simplified line, in the same projection
    xy = local_xy_m(seg.lat, seg.lon)
    dist = _point_to_polyline_m(xy, xy[index])
    assert float(dist.max()) <= tolerance + 1e-6


@FAST
@given(walks(min_size=3), st.data())
def test_distance_is_additive_over_a_split(seg: Segment, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(seg) - 1))
    from contravento.domain.track import ParsedTrack

    whole = compute_stats(ParsedTrack(segments=(seg,))).distance_km
    parts = compute_stats(
        ParsedTrack(segments=(seg.take(np.arange(k)), seg.take(np.arange(k, len(seg)))))
    ).distance_km
    split_step = float(step_distances_m(seg.lat[k - 1 : k + 1], seg.lon[k - 1 : k + 1])[0])
    assert abs(whole - (parts + split_step / 1000)) <= 1e-9 * max(1.0, whole)


@FAST
@given(walks())
def test_simplify_over_a_track_keeps_counts(seg: Segment) -> None:
    from contravento.domain.track import ParsedTrack

    simple = simplify(ParsedTrack(segments=(seg, seg)))
    assert simple.original_point_count == 2 * len(seg)
    assert simple.point_count <= 2 * len(seg)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_domain_errors(data: bytes) -> None:
    with contextlib.suppress(GPXError):
        parse_gpx(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            data = data[:pos]
        elif kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            junk = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=16),
                    st.sampled_from(
                        [
                            b"<",
                            b">",
                            b"&",
                            b"]]>",
                            b"<!--",
                            b"<trkpt>",
                            b'lat="999"',
                            b"<time>now</time>",
                            b"<ele>nan</ele>",
                            b"\x00",
                            b"\xff\xfe",
                            b'<trkpt lat="1" lon="2"><time>0001-01-01T00:00:00+01:00</time>',
                        ]
                    ),
                )
            )
            data[pos:pos] = junk
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        else:
            other = draw(st.sampled_from(SEEDS))
            data[pos:] = other[draw(st.integers(0, len(other) - 1)) :]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_real_gpx_raises_only_domain_errors(data: bytes) -> None:
    try:
        summary = summarize(data)  # parse, glitches, stats, simplify: all of it
    except GPXError:
        return
    assert summary.stats.point_count == summary.track.point_count
    assert np.isfinite(summary.stats.distance_km)
