"""The format of an upload is decided by its content: sniffing and the gzip cap."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

from contravento.domain.compression import gunzip_capped
from contravento.domain.errors import GzipCorruptError, GzipTooLargeError
from contravento.domain.formats import Archive, Compression, Sniffed, TrackFormat, sniff

SAMPLES = Path(__file__).parents[1] / "data" / "samples"
GPX = (SAMPLES / "strava-ride-power-hr-cad.gpx").read_bytes()
TCX_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- exported -->\n'
    b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
)
# a FIT file header: size 14, protocol, profile, data size, ".FIT", CRC
FIT_HEAD = bytes([14, 0x20, 0x52, 0x08, 0x10, 0, 0, 0]) + b".FIT" + b"\x00\x00"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (GPX[:512], Sniffed(format=TrackFormat.GPX)),
        (b"\xef\xbb\xbf  <gpx/>", Sniffed(format=TrackFormat.GPX)),
        (TCX_HEAD, Sniffed(format=TrackFormat.TCX)),
        (b"<tcx:TrainingCenterDatabase xmlns:tcx='x'>", Sniffed(format=TrackFormat.TCX)),
        (FIT_HEAD, Sniffed(format=TrackFormat.FIT)),
        (FIT_HEAD[:12], Sniffed(format=TrackFormat.FIT)),  # the 12-byte header of old files
        (gzip.compress(GPX)[:512], Sniffed(format=TrackFormat.GPX, compression=Compression.GZIP)),
        (gzip.compress(TCX_HEAD), Sniffed(format=TrackFormat.TCX, compression=Compression.GZIP)),
        (gzip.compress(FIT_HEAD), Sniffed(format=TrackFormat.FIT, compression=Compression.GZIP)),
        (gzip.compress(b"hello"), Sniffed(compression=Compression.GZIP)),
        (b"PK\x03\x04rest", Sniffed(archive=Archive.ZIP)),
        (b"%PDF-1.7", Sniffed()),
        (b"\x89PNG\r\n\x1a\n", Sniffed()),
        (b"", Sniffed()),
    ],
)
def test_sniff_by_content(head: bytes, expected: Sniffed) -> None:
    assert sniff(head) == expected


def test_gunzip_round_trip_and_concatenated_members() -> None:
    assert gunzip_capped(gzip.compress(GPX)) == GPX
    assert gunzip_capped(gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"


def test_a_gzip_bomb_is_refused_at_the_cap() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\x00" * (1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < 1_100_000  # about 1 MB of gzip for 1 GiB of zeros
    with pytest.raises(GzipTooLargeError):
        gunzip_capped(bomb, 8 << 20)


@pytest.mark.parametrize("cut", [20, 200, -4])
def test_a_damaged_or_truncated_gzip_is_refused(cut: int) -> None:
    data = gzip.compress(GPX)
    with pytest.raises(GzipCorruptError):
        gunzip_capped(data[:cut])
    with pytest.raises(GzipCorruptError):
        gunzip_capped(data[:10] + b"\xff" * 40 + data[50:])
