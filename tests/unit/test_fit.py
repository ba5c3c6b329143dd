"""Every real FIT file in tests/data/fit, with the answers tests/data/fit/SOURCES.md gives.

Point counts are the records that carry a position ("with GPS" in SOURCES.md), except where
the rule takes some away (a multisport file's transitions) or the file is damaged; distances
are the device's own session distance.
"""

from __future__ import annotations

import json
from pathlib import Path

import fitfast
import numpy as np
import pytest

from contravento.domain import fit, summarize
from contravento.domain.errors import FITCorruptError, FITNotAnActivityError, GPXError
from contravento.domain.fit import (
    FIT_CRC_MISMATCH,
    FIT_TRUNCATED,
    _decode_fast,
    _decode_pieces,
    _decode_sdk,
    build_track,
    parse_fit,
)
from contravento.domain.fit_split import Unsplittable, split
from contravento.domain.formats import parse_track
from contravento.domain.track import ParsedTrack

FIT_DIR = Path(__file__).resolve().parents[1] / "data" / "fit"
MAX = 1_000_000

# file -> (positioned points we keep, riding sessions' device distance km or None)
ACTIVITIES: dict[str, tuple[int, float | None]] = {
    "2013-02-06-12-11-14.fit": (583, 4.84),
    "2015-10-13-08-43-15.fit": (221, 11.54),
    "2019-02-17-062644-ELEMNT-297E-195-0.fit": (13_348, 78.94),
    "Edge810-Vector-2013-08-16-15-35-10.fit": (4_700, 41.34),
    "garmin-edge-500-activity.fit": (10_677, 92.62),
    "garmin-edge-820-bike.fit": (15, 0.46),
    "garmin-fenix-5-bike.fit": (19, 0.46),
    "garmin-fenix-5-run.fit": (21, 0.16),
    "garmin-fenix-5-walk.fit": (17, 0.07),
    "coros-pace-2-cycling-misaligned-fields.fit": (10_305, 32.15),
    "elemnt-bolt-no-application-id-inside-developer-data-id.fit": (131, 0.96),
    "null_compressed_speed_dist.fit": (1_808, 13.40),
    "sample-activity.fit": (2_965, 88.80),
    "activity-small-fenix2-run.fit": (2_809, 9.01),
    "developer-types-sample.fit": (3_424, 6.75),
    "Activity.fit": (14, 0.006),
    "activity-settings.fit": (14, 0.006),
}
# no position at all: indoor rides, a treadmill run, a pool swim (device totals only)
NO_GPS: dict[str, float | None] = {
    "sample-activity-indoor-trainer.fit": 0.0,
    "20170518-191602-1740899583.fit": 0.0,
    "event_timestamp.fit": 2.61,
}
# compressed-timestamp records (garmin-fit-sdk cannot read them, fitfast can), no GPS
COMPRESSED_TIMES = {"compressed-speed-distance.fit": 10.25, "antfs-dump.63.fit": None}
NOT_ACTIVITIES = (
    "Settings.fit",
    "Settings2.fit",
    "WorkoutCustomTargetValues.fit",
    "WorkoutIndividualSteps.fit",
    "WorkoutRepeatGreaterThanStep.fit",
    "WorkoutRepeatSteps.fit",
    "WeightScaleMultiUser.fit",
    "WeightScaleSingleUser.fit",
    "MonitoringFile.fit",
    "DeveloperData.fit",
)
# damaged: what was read before the damage is kept, with the warning
DAMAGED: dict[str, tuple[int, str]] = {
    "activity-filecrc.fit": (14, FIT_CRC_MISMATCH),
    "activity-activity-filecrc.fit": (28, FIT_CRC_MISMATCH),
    "activity-unexpected-eof.fit": (14, FIT_TRUNCATED),
    "activity-settings-nodata.fit": (14, FIT_TRUNCATED),
    "activity-settings-corruptheader.fit": (14, FIT_TRUNCATED),
    "nick.fit": (14_391, FIT_TRUNCATED),
    "strava-android-app-201.10-b1218918.fit": (237, FIT_TRUNCATED),
}
MULTISPORT = ("activity-large-fenxi2-multisport.fit", "sample_mulitple_header.fit")


def read(name: str) -> bytes:
    return (FIT_DIR / name).read_bytes()


def test_every_sample_is_classified() -> None:
    named = {*ACTIVITIES, *NO_GPS, *COMPRESSED_TIMES, *NOT_ACTIVITIES, *DAMAGED, *MULTISPORT}
    on_disk = {p.name for p in FIT_DIR.glob("*.fit")}
    assert on_disk == named
    assert len(on_disk) == 41  # and SOURCES.md: the 42 files of the set
    assert "MIT" in (FIT_DIR / "SOURCES.md").read_text()


@pytest.mark.parametrize("name", sorted(ACTIVITIES))
def test_activity_points_and_device_distance(name: str) -> None:
    points, distance = ACTIVITIES[name]
    track = parse_fit(read(name), max_points=MAX)
    assert track.point_count == points
    assert track.parse_warnings == ()
    assert len(track.device_sessions) == 1
    assert track.device_sessions[0].distance_km == pytest.approx(distance, abs=0.006)
    for segment in track.segments:
        assert np.all(np.abs(segment.lat) <= 90) and np.all(np.abs(segment.lon) <= 180)
        assert segment.time.dtype == np.dtype("datetime64[ms]")
        assert set(segment.sensors) <= {"hr", "cadence", "power", "temperature"}


@pytest.mark.parametrize("name", sorted(ACTIVITIES))
def test_activity_summary_distance_is_near_the_devices(name: str) -> None:
    summary = summarize(read(name))
    doc = summary.stats_document()
    json.dumps(doc, allow_nan=False)  # what PostgreSQL's JSON and the API need
    device = doc["device"]
    assert doc["indoor"] is False
    assert doc["headline"]["distance_km"] == "computed"
    assert device["distance_km"] == pytest.approx(ACTIVITIES[name][1], abs=0.006)
    if device["distance_km"] > 1:  # GPS distance within a few percent of the device's
        assert doc["distance_km"] == pytest.approx(device["distance_km"], rel=0.06)


def test_known_start_positions_and_sensors() -> None:
    track = parse_fit(read("Edge810-Vector-2013-08-16-15-35-10.fit"), max_points=MAX)
    seg = track.segments[0]
    assert "power" in seg.sensors and np.nanmax(seg.sensors["power"]) > 300
    assert str(seg.time[0]).startswith("2013-08-16")
    assert track.device_sessions[0].sport == "cycling"
    assert track.device_sessions[0].avg_power is not None


@pytest.mark.parametrize("name", sorted(NO_GPS))
def test_no_gps_files_complete_with_the_devices_totals(name: str) -> None:
    summary = summarize(read(name))
    doc = summary.stats_document()
    assert summary.stats.point_count == 0
    assert doc["indoor"] is True
    assert doc["min_lat"] is None
    assert doc["headline"]["distance_km"] == "device"
    assert doc["headline"]["moving_time_s"] == "device"
    assert doc["distance_km"] == pytest.approx(NO_GPS[name], abs=0.006)
    assert doc["moving_time_s"] == doc["device"]["timer_time_s"] > 0
    assert summary.simplified.point_count == 0


def test_indoor_trainer_power_and_time_come_from_the_device() -> None:
    doc = summarize(read("sample-activity-indoor-trainer.fit")).stats_document()
    assert doc["avg_power"] == 201.0 and doc["headline"]["avg_power"] == "device"
    assert doc["max_power"] == 331.0
    assert doc["moving_time_s"] == pytest.approx(2261.8)
    assert doc["start_time"] == "2011-11-02T12:54:19Z"


@pytest.mark.parametrize("name", sorted(COMPRESSED_TIMES))
def test_compressed_timestamps_are_read_whole(name: str) -> None:
    track = parse_fit(read(name), max_points=MAX)
    assert track.point_count == 0
    assert track.parse_warnings == ()
    assert track.device_sessions[0].distance_km == (
        pytest.approx(COMPRESSED_TIMES[name], abs=0.006) if COMPRESSED_TIMES[name] else None
    )
    # the recovery decoder cannot read those records, and says so rather than pass it off
    assert _decode_sdk(read(name), MAX, None).warnings == (FIT_TRUNCATED,)


def _same_track(fast: ParsedTrack, slow: ParsedTrack) -> None:
    assert fast.point_count == slow.point_count
    assert fast.device_sessions == slow.device_sessions
    assert fast.creator == slow.creator
    for a, b in zip(fast.segments, slow.segments, strict=True):
        np.testing.assert_allclose(a.lat, b.lat, atol=1e-9)
        np.testing.assert_allclose(a.lon, b.lon, atol=1e-9)
        np.testing.assert_allclose(a.ele, b.ele, atol=1e-6)
        np.testing.assert_array_equal(a.time, b.time)
        assert set(a.sensors) == set(b.sensors)
        for key in a.sensors:
            np.testing.assert_allclose(a.sensors[key], b.sensors[key], atol=1e-6)


@pytest.mark.parametrize("name", sorted({*ACTIVITIES, *NO_GPS, *MULTISPORT}))
def test_both_decoders_give_the_same_track(name: str) -> None:
    """The fast decoder, whole or in pieces (small ones here: several per sample), and the
    recovery one agree exactly."""
    data = read(name)
    slow = build_track(_decode_sdk(data, MAX, None))
    _same_track(build_track(_decode_pieces(split(data, 4096), MAX, None)), slow)
    _same_track(parse_fit(data, max_points=MAX), slow)
    try:
        whole = build_track(_decode_fast(data, MAX))
    except fitfast.FitDecodeError:  # fitfast refuses a header CRC of 0 ("not computed")
        assert data[0] == 14 and data[12:14] == b"\x00\x00"
        return  # the pieces carry a computed header CRC: fitfast reads those
    _same_track(whole, slow)


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_files_are_salvaged_as_the_sdk_reads_them(name: str) -> None:
    """fitfast on the pieces before the damage keeps what the SDK keeps, and says the same."""
    data = read(name)
    sdk = _decode_sdk(data, MAX, None)
    parts = split(data, 4096, salvage=True)
    salvaged = _decode_pieces(parts, MAX, None)
    assert fit.decode(data, max_points=MAX).warnings == sdk.warnings
    assert [fit._DAMAGE[d] for d in parts.damage] == list(sdk.warnings)
    _same_track(build_track(salvaged), build_track(sdk))


@pytest.mark.parametrize("name", NOT_ACTIVITIES)
def test_non_activities_fail_at_once(name: str) -> None:
    with pytest.raises(FITNotAnActivityError) as caught:
        parse_track(read(name), max_points=MAX)
    assert caught.value.code == "FIT_NOT_AN_ACTIVITY"
    assert "no es una actividad" in caught.value.message


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_files_keep_what_was_read(name: str) -> None:
    points, warning = DAMAGED[name]
    track = parse_fit(read(name), max_points=MAX)
    assert track.point_count == points
    assert track.parse_warnings == (warning,)
    assert summarize(read(name)).stats_document()["parse_warnings"] == [warning]


def test_multisport_transitions_are_not_riding() -> None:
    name = "activity-large-fenxi2-multisport.fit"
    track = parse_fit(read(name), max_points=MAX)
    sports = [s.sport for s in track.device_sessions]
    assert sports.count("transition") == 3 and "cycling" in sports
    assert len(track.segments) == 4 - 1  # four riding sessions; one has no positioned record
    assert track.point_count < 24_235  # the transitions' records are gone
    doc = summarize(read(name)).stats_document()
    device = doc["device"]
    assert device["transition_count"] == 3 and device["session_count"] == 4
    riding = sum(s.distance_km or 0 for s in track.device_sessions if s.sport != "transition")
    assert device["distance_km"] == pytest.approx(riding, abs=0.001)
    assert device["distance_km"] == pytest.approx(25.07 + 2.25 + 12.74 + 28.93, abs=0.02)


def test_chained_swim_bike_run_leaves_out_its_transitions() -> None:
    track = parse_fit(read("sample_mulitple_header.fit"), max_points=MAX)
    sports = [s.sport for s in track.device_sessions]
    assert sports == ["swimming", "transition", "cycling", "transition", "running"]
    assert track.point_count < 1_462
    assert len(track.segments) == 3


@pytest.mark.parametrize(
    "data",
    [
        b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT\x00\x00",  # a header and nothing else
        read("sample-activity.fit")[:14] + b"\xff" * 64,  # a header, then noise
        b"\x0e\x10\x00\x00\x10\x00\x00\x00.FIX" + b"\x00" * 30,  # no FIT signature
    ],
)
def test_unreadable_fit_fails_as_corrupt(data: bytes) -> None:
    with pytest.raises(GPXError) as caught:
        parse_fit(data, max_points=MAX)
    assert isinstance(caught.value, FITCorruptError | FITNotAnActivityError)
    assert caught.value.message.startswith("El archivo FIT")


def test_too_many_points_is_refused() -> None:
    with pytest.raises(GPXError) as caught:
        parse_fit(read("sample-activity.fit"), max_points=100)
    assert caught.value.code == "GPX_TOO_MANY_POINTS"


def test_gpx_has_no_device_block() -> None:
    gpx = (Path(__file__).resolve().parents[1] / "data" / "samples").glob("*.gpx")
    doc = summarize(next(iter(sorted(gpx))).read_bytes()).stats_document()
    assert doc["device"] is None and doc["indoor"] is False and doc["parse_warnings"] == []
    assert set(doc["headline"].values()) == {"computed"}


def test_large_files_are_decoded_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over CHUNK_BYTES goes through fitfast piece by piece, never whole."""
    data = read("garmin-edge-500-activity.fit")
    whole = build_track(_decode_fast(data, MAX))
    monkeypatch.setattr(fit, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(fit, "_decode_fast", None)  # never called now
    calls: list[int] = []
    records = fitfast.records

    def counted(source: bytes, message: str = "record") -> dict[str, np.ndarray]:
        calls.append(len(source))
        return records(source, message)

    monkeypatch.setattr(fitfast, "records", counted)
    chunked = parse_fit(data, max_points=MAX)
    assert len(calls) > 10 and max(calls) < len(data) // 5
    _same_track(chunked, whole)


def test_too_many_points_in_chunks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fit, "CHUNK_BYTES", 20_000)
    with pytest.raises(GPXError) as err:
        parse_fit(read("garmin-edge-500-activity.fit"), max_points=5_000)
    assert err.value.code == "GPX_TOO_MANY_POINTS"


def test_files_the_splitter_refuses_stream_through_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past FAST_MAX_BYTES, a file fit_split does not cut goes to the SDK path (bounded
    memory), with the same answer."""
    data = read("garmin-edge-500-activity.fit")
    fast = parse_fit(data, max_points=MAX)

    def refuse(data: bytes, chunk_bytes: int, *, salvage: bool = False) -> None:
        raise Unsplittable("test")

    monkeypatch.setattr(fit, "split", refuse)
    monkeypatch.setattr(fit, "FAST_MAX_BYTES", len(data) - 1)
    monkeypatch.setattr(fit, "_decode_fast", None)  # never called now
    slow = parse_fit(data, max_points=MAX)
    assert slow.point_count == fast.point_count == 10_677
    assert slow.device_sessions == fast.device_sessions
    np.testing.assert_array_equal(slow.segments[0].time, fast.segments[0].time)


def test_gzipped_fit_is_read_by_content() -> None:
    import gzip

    track = parse_track(gzip.compress(read("sample-activity.fit")), max_points=MAX)
    assert track.point_count == 2_965 and track.device_sessions[0].sport == "cycling"
