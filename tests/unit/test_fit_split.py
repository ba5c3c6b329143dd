"""fit_split: real FIT files cut into small valid ones, the same messages in the same order."""

from __future__ import annotations

from pathlib import Path

import fitfast
import numpy as np
import pytest

from contravento.domain.fit_split import Unsplittable, split

FIT_DIR = Path(__file__).resolve().parents[1] / "data" / "fit"
COLUMNS = ("timestamp", "position_lat", "position_long", "enhanced_altitude", "heart_rate")


def read(name: str) -> bytes:
    return (FIT_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "garmin-edge-500-activity.fit",
        "activity-large-fenxi2-multisport.fit",  # multisport, many message kinds
        "developer-types-sample.fit",  # developer fields
        "sample_mulitple_header.fit",  # chained FIT files
        "coros-pace-2-cycling-misaligned-fields.fit",
    ],
)
def test_chunks_hold_the_records_of_the_whole(name: str) -> None:
    data = read(name)
    whole = fitfast.records(data)
    parts = split(data, 10_000)
    assert len(parts.chunks) > 1
    decoded = [fitfast.records(chunk) for chunk in parts.chunks]
    assert parts.records == sum(len(d.get("timestamp", ())) for d in decoded)
    assert parts.records == len(whole["timestamp"])
    for column in COLUMNS:
        if column in whole:
            joined = np.concatenate(
                [d.get(column, np.full(len(d.get("timestamp", ())), np.nan)) for d in decoded]
            )
            np.testing.assert_array_equal(joined, whole[column])


def test_others_hold_file_id_and_sessions_only() -> None:
    data = read("activity-large-fenxi2-multisport.fit")
    parts = split(data, 100_000)
    counts = fitfast.message_counts(parts.others)
    assert set(counts) == {"file_id", "session"}
    assert counts["session"] == fitfast.message_counts(data)["session"]
    for kind in ("file_id", "session"):
        a, b = fitfast.records(data, message=kind), fitfast.records(parts.others, message=kind)
        assert set(a) == set(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_header_crc_of_zero_is_accepted_and_written_anew() -> None:
    data = read("sample-activity-indoor-trainer.fit")
    assert data[12:14] == b"\x00\x00"
    with pytest.raises(fitfast.FitDecodeError):
        fitfast.records(data)
    (chunk,) = split(data, len(data)).chunks
    assert len(fitfast.records(chunk)["timestamp"]) == 2_263


@pytest.mark.parametrize(
    "name",
    [
        "activity-filecrc.fit",  # file CRC does not match
        "activity-unexpected-eof.fit",
        "nick.fit",  # cut short
        "activity-settings-corruptheader.fit",  # a second chained header that is not one
        "strava-android-app-201.10-b1218918.fit",  # undefined local message
        "compressed-speed-distance.fit",  # compressed timestamp headers
    ],
)
def test_damaged_or_uncut_files_are_refused(name: str) -> None:
    with pytest.raises(Unsplittable):
        split(read(name), 10_000)


def test_a_flipped_byte_is_caught_by_the_file_crc() -> None:
    data = bytearray(read("sample-activity.fit"))
    data[5_000] ^= 0x01
    with pytest.raises(Unsplittable):
        split(bytes(data), 10_000)


def test_chunks_carry_only_the_record_fields_read() -> None:
    data = read("garmin-edge-500-activity.fit")
    whole = fitfast.records(data)
    decoded = [fitfast.records(chunk) for chunk in split(data, 50_000).chunks]
    kept = set().union(*decoded)
    assert {"distance", "speed"} <= set(whole) - kept  # decoded for nothing before
    assert {"timestamp", "position_lat", "position_long", "heart_rate", "cadence"} <= kept
    assert kept <= set(whole)


@pytest.mark.parametrize("cut", [20_000, 50_001, 77_777, 104_000])
def test_a_file_cut_anywhere_is_salvaged_up_to_the_cut(cut: int) -> None:
    """What the SDK reads of a cut file, the salvaged pieces hold, and the damage is named."""
    from garmin_fit_sdk import Decoder, Stream

    data = read("sample-activity.fit")[:cut]
    with pytest.raises(Unsplittable):
        split(data, 4096)
    parts = split(data, 4096, salvage=True)
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors and parts.damage == ["cut"]
    decoded = sum(len(fitfast.records(c).get("timestamp", ())) for c in parts.chunks)
    assert decoded == parts.records == len(messages["record_mesgs"])
