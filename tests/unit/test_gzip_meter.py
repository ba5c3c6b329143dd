"""GzipMeter: what a gzip stream inflates to, counted as its bytes arrive, kept nowhere."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contravento.domain.compression import STEP_BYTES, GzipMeter, gunzip_capped
from contravento.domain.errors import GzipCorruptError, GzipTooLargeError
from tests.support import sample

RIDE = sample("strava-ride-power-hr-cad.gpx")


def _bomb(gib: float = 1.0) -> bytes:
    """About 1 MB of gzip that inflates to `gib` GiB of zeros, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(int(gib * 1024))]
    return b"".join([*parts, packer.flush()])


def _fed(meter: GzipMeter, data: bytes, chunk: int) -> GzipMeter:
    for i in range(0, len(data), chunk):
        meter.feed(data[i : i + chunk])
    return meter


@pytest.mark.parametrize("chunk", [1, 7, 4096, 65536, 1 << 30])
def test_the_meter_counts_the_inflated_size_whatever_the_chunks(chunk: int) -> None:
    data = gzip.compress(RIDE) if chunk > 1 else gzip.compress(RIDE[:20_000])
    expected = len(RIDE) if chunk > 1 else 20_000
    assert _fed(GzipMeter(), data, chunk).finish() == expected


def test_concatenated_members_and_zero_padding_are_counted_as_gzip_reads_them() -> None:
    data = gzip.compress(b"ab" * 1000) + b"\x00" * 3 + gzip.compress(b"cd" * 500) + b"\x00" * 9
    assert _fed(GzipMeter(), data, 5).finish() == 3000
    assert gunzip_capped(data) == b"ab" * 1000 + b"cd" * 500


def test_a_bomb_is_refused_just_past_the_cap_holding_no_more_than_a_step() -> None:
    bomb = _bomb(1.0)
    assert len(bomb) < 1_100_000
    cap = 64 << 20
    meter = GzipMeter(cap)
    tracemalloc.start()
    try:
        with pytest.raises(GzipTooLargeError):
            _fed(meter, bomb, 65536)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert cap < meter.inflated <= cap + STEP_BYTES  # stopped at the first step past the cap
    assert peak < 4 * STEP_BYTES, peak  # output dropped step by step, never gathered


def test_gunzip_capped_refuses_a_bomb_before_holding_its_output() -> None:
    bomb = _bomb(0.25)
    tracemalloc.start()
    try:
        with pytest.raises(GzipTooLargeError):
            gunzip_capped(bomb, 32 << 20)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * STEP_BYTES + len(bomb), peak


def test_exactly_the_cap_is_allowed() -> None:
    data = gzip.compress(bytes(5000))
    assert _fed(GzipMeter(5000), data, 100).finish() == 5000
    with pytest.raises(GzipTooLargeError):
        _fed(GzipMeter(4999), data, 100)


@pytest.mark.parametrize("cut", [5, 30, -8, -1])
def test_a_truncated_stream_is_corrupt_at_finish(cut: int) -> None:
    data = gzip.compress(RIDE)[:cut]
    meter = _fed(GzipMeter(), data, 1000)
    with pytest.raises(GzipCorruptError):
        meter.finish()


def test_damaged_bytes_are_corrupt_as_they_arrive() -> None:
    data = gzip.compress(RIDE)
    damaged = data[:10] + b"\xff" * 40 + data[50:]
    with pytest.raises(GzipCorruptError):
        _fed(GzipMeter(), damaged, 4096).finish()
    crc = bytearray(data)
    crc[-6] ^= 0xFF  # the trailer's CRC-32
    with pytest.raises(GzipCorruptError):
        _fed(GzipMeter(), bytes(crc), 4096).finish()


def test_garbage_after_a_member_is_corrupt() -> None:
    with pytest.raises(GzipCorruptError):
        _fed(GzipMeter(), gzip.compress(b"x" * 100) + b"trailing junk", 10).finish()


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=20_000), chunk=st.integers(1, 5000), level=st.integers(0, 9))
def test_the_meter_agrees_with_gzip_and_with_gunzip_capped(
    payload: bytes, chunk: int, level: int
) -> None:
    data = gzip.compress(payload, compresslevel=level)
    assert _fed(GzipMeter(), data, chunk).finish() == len(payload)
    assert gunzip_capped(data) == payload
