"""The two ways parse_gpx reads points give the same arrays.

Runs of points that share one shape are read column by column (domain/gpx.py, _Template);
every other point is read one by one (_SegmentBuilder.add). Each document here is parsed both
ways, the second time with the column path switched off, and the tracks must be identical,
NaNs, NaTs and the set of sensor columns included. A spy checks that the column path really
ran where the document allows it, so a dead fast path fails the test instead of passing it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contravento.domain import gpx as gpx_module
from contravento.domain.times import parse_times
from contravento.domain.track import ParsedTrack

SAMPLES = sorted((Path(__file__).parents[1] / "data" / "samples").glob("*.gpx"))

HEAD = (
    '<?xml version="1.0"?><gpx version="1.1" creator="t" '
    'xmlns="http://www.topografix.com/GPX/1/1" xmlns:x="urn:x" xmlns:y="urn:y"><trk><trkseg>'
)
TAIL = "</trkseg></trk></gpx>"

# One point each, {i} the index; texts vary (empty, blank, "nan", CDATA) but not the shape.
SHAPES = {
    "garmin": (
        '<trkpt lat="40.{i:05d}" lon="-3.{i:05d}"><ele>{e}</ele><time>{t}</time><extensions>'
        "<power>{s}</power><x:TrackPointExtension><x:atemp>15</x:atemp><x:hr>{s}</x:hr>"
        "<x:cad>8{d}</x:cad></x:TrackPointExtension></extensions></trkpt>"
    ),
    "two_ele_time_first": (
        '<trkpt lat="1.{i:05d}" lon="2"><time>{t}</time><ele>5</ele><ele>{e}</ele></trkpt>'
    ),
    "no_ele_upper_case_sensor": (
        '<trkpt lon="{d}" lat="3"><time>{t}</time><extensions><HR>{s}</HR></extensions></trkpt>'
    ),
    "duplicate_sensor_key": (
        '<trkpt lat="3" lon="{d}"><extensions><hr>{s}</hr><y:heartrate>7</y:heartrate>'
        "</extensions></trkpt>"
    ),
    "comment_and_cdata": (
        '<trkpt lat="{d}" lon="2"><!-- c --><ele><![CDATA[4]]>{d}</ele><time>{t}</time>'
        "<extensions><temp>{s}</temp><watts>{s}<q/></watts></extensions></trkpt>"
    ),
    "sensor_outside_extensions": (
        '<trkpt lat="1" lon="{d}"><cad>5</cad><extensions><cad>{s}</cad></extensions></trkpt>'
    ),
    "bad_coordinates": '<trkpt lat="{bad}" lon="2"><ele>{e}</ele><time>{t}</time></trkpt>',
}
ELE = ["100.5", " 12 ", "", "nan", "x", "1e400"]
SENSOR = ["90", "", " 91 ", "nan"]
TIMES = ["2024-05-12T07:{m:02d}:{s:02d}Z", "2024-05-12T07:{m:02d}:{s:02d}+02:00", "now", " "]


def _point(shape: str, i: int, variant: int, time_form: str) -> str:
    when = time_form.format(m=(i // 60) % 60, s=i % 60)
    return SHAPES[shape].format(
        i=i,
        d=i % 10,
        e=ELE[(i + variant) % len(ELE)],
        s=SENSOR[(i * 7 + variant) % len(SENSOR)],
        t=when,
        bad=["1", "", "x", "95"][(i + variant) % 4],
    )


def _document(runs: list[tuple[str, int, int]], time_form: str = TIMES[0]) -> bytes:
    points: list[str] = []
    for shape, count, variant in runs:
        first = len(points)
        points += [_point(shape, first + i, variant, time_form) for i in range(count)]
    return (HEAD + "\n".join(points) + TAIL).encode()


def _parse_both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, int]:
    column_reads = 0
    matching = gpx_module._Template.matching

    def spy(points: list[object]) -> object:
        nonlocal column_reads
        found = matching(points)  # type: ignore[arg-type]
        column_reads += found is not None
        return found

    with monkeypatch.context() as patch:
        patch.setattr(gpx_module._Template, "matching", staticmethod(spy))
        fast = _parse_or_error(data)
    with monkeypatch.context() as patch:
        patch.setattr(gpx_module, "_MIN_BATCH", 10**9)
        slow = _parse_or_error(data)
    return fast, slow, column_reads


def _parse_or_error(data: bytes) -> object:
    try:
        return gpx_module.parse_gpx(data)
    except Exception as exc:  # the same refusal both ways is also agreement
        return (type(exc).__name__, str(exc))


def _assert_same(fast: object, slow: object) -> None:
    if not isinstance(fast, ParsedTrack) or not isinstance(slow, ParsedTrack):
        assert fast == slow
        return
    assert (fast.waypoint_count, fast.invalid_point_count, fast.name) == (
        slow.waypoint_count,
        slow.invalid_point_count,
        slow.name,
    )
    assert len(fast.segments) == len(slow.segments)
    for a, b in zip(fast.segments, slow.segments, strict=True):
        for field in ("lat", "lon", "ele"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert a.time.dtype == b.time.dtype
        np.testing.assert_array_equal(a.time.view("i8"), b.time.view("i8"))
        assert list(a.sensors) == list(b.sensors)
        for key in a.sensors:
            np.testing.assert_array_equal(a.sensors[key], b.sensors[key])


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("time_form", TIMES)
def test_a_long_run_of_one_shape_reads_the_same_both_ways(
    shape: str, time_form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow, column_reads = _parse_both(_document([(shape, 700, 1)], time_form), monkeypatch)
    _assert_same(fast, slow)
    if shape != "duplicate_sensor_key":  # the first non-empty of two would win: per point
        assert column_reads > 0
    else:
        assert column_reads == 0


def test_runs_across_the_array_chunk_and_a_sensor_that_starts_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 17,000 points cross the 16,384-point chunk; the Garmin sensors appear only after 16,000
    runs = [("two_ele_time_first", 16_000, 0), ("garmin", 900, 2), ("bad_coordinates", 100, 0)]
    fast, slow, column_reads = _parse_both(_document(runs), monkeypatch)
    _assert_same(fast, slow)
    assert column_reads > 60
    assert isinstance(fast, ParsedTrack)
    assert set(fast.segments[0].sensors) == {"cadence", "hr", "power", "temperature"}


@settings(max_examples=25, deadline=None)
@given(
    runs=st.lists(
        st.tuples(st.sampled_from(sorted(SHAPES)), st.integers(1, 300), st.integers(0, 11)),
        min_size=1,
        max_size=6,
    ),
    time_form=st.sampled_from(TIMES),
)
def test_any_mix_of_runs_reads_the_same_both_ways(
    runs: list[tuple[str, int, int]], time_form: str
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow, _ = _parse_both(_document(runs, time_form), monkeypatch)
    _assert_same(fast, slow)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_real_samples_read_the_same_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow, _ = _parse_both(path.read_bytes(), monkeypatch)
    _assert_same(fast, slow)


def _one_by_one(value: str) -> np.datetime64:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return np.datetime64("NaT", "ms")
    if not 1900 <= parsed.year <= 2200:
        return np.datetime64("NaT", "ms")
    return np.datetime64(parsed.replace(tzinfo=None), "ms")


@pytest.mark.parametrize(
    "odd",
    [
        None,
        "1899-12-31T23:59:59Z",  # outside the plausible years: NaT
        "2201-01-01T00:00:00z",
        "2024-13-01T00:00:00Z",  # the same shape, not a date
        "2024-05-12T07:30:0aZ",
        "2024-05-12 07:30:00Z",
        "\u0662\u0660\u0662\u0664-05-12T07:30:00Z",  # Arabic-Indic digits
    ],
)
def test_a_column_of_utc_seconds_parses_like_each_value_alone(odd: str | None) -> None:
    values = [f"2024-05-12T07:{i // 60:02d}:{i % 60:02d}Z" for i in range(500)]
    column: list[str | None] = [*values, odd] if odd is not None else values
    parsed = parse_times(column)
    expected = [_one_by_one(v) if v is not None else np.datetime64("NaT", "ms") for v in column]
    np.testing.assert_array_equal(parsed.view("i8"), np.array(expected).view("i8"))
