"""domain/archive.py: the rules of a bulk import, on real archives built from the samples."""

from __future__ import annotations

import io
import zipfile

import pytest

from contravento.domain.archive import (
    CORRUPT,
    EMPTY,
    ENCRYPTED,
    NESTED_ARCHIVE,
    NOT_ACTIVITY,
    ArchiveCorruptError,
    ArchiveLimits,
    ArchiveOverlapError,
    ArchiveTooLargeError,
    ArchiveTooManyMembersError,
    Entry,
    MemberSkipped,
    Meter,
    Skip,
    base_name,
    check_no_overlap,
    classify,
    display_name,
    entry_skip,
    list_members,
    open_archive,
    read_member,
)
from contravento.domain.formats import Compression, Sniffed, TrackFormat
from tests import archives
from tests.support import sample, tiny_gpx

MIB = 1024 * 1024


def _read_all(data: bytes, limits: ArchiveLimits) -> dict[str, bytes | Skip]:
    """Every member read as the import reads it: its bytes, or why it was skipped."""
    out: dict[str, bytes | Skip] = {}
    with open_archive(io.BytesIO(data)) as archive:
        meter = Meter(limits)
        for entry in list_members(archive, limits):
            skip = entry_skip(entry, limits)
            if skip is not None:
                out[entry.name] = skip
                continue
            try:
                body = b"".join(read_member(archive, entry, meter, chunk_bytes=64 * 1024))
            except MemberSkipped as exc:
                out[entry.name] = exc.skip
                continue
            kind = classify(body[:1024])
            out[entry.name] = kind if isinstance(kind, Skip) else body
    return out


def test_strava_export_members_are_sorted_by_content() -> None:
    data, expected = archives.strava_export()
    read = _read_all(data, ArchiveLimits())
    assert set(read) == set(expected)  # directories are not members
    for name, want in expected.items():
        got = read[name]
        if want == "created":
            assert isinstance(got, bytes), (name, got)
        else:
            assert isinstance(got, Skip) and got.code == want, (name, got)
    gz = read["export_4471/activities/2000.gpx.gz"]
    assert isinstance(gz, bytes) and gz[:2] == b"\x1f\x8b"  # kept as uploaded: gzip
    assert classify(gz) == Sniffed(format=TrackFormat.GPX, compression=Compression.GZIP)
    assert classify(archives.FIT_HEAD) == Sniffed(format=TrackFormat.FIT)


def test_a_damaged_member_is_skipped_and_the_others_are_read() -> None:
    read = _read_all(archives.with_broken_members(), ArchiveLimits())
    assert read["a/damaged.gpx"] == CORRUPT
    assert read["a/ok-1.gpx"] == sample("strava-ride-power-hr-cad.gpx")
    assert isinstance(read["a/ok-2.gpx"], bytes)
    # a truncated GPX is still an activity by its first bytes: its own job fails it
    assert isinstance(read["a/truncated.gpx"], bytes)


def test_zip_bomb_stops_at_the_ratio_without_inflating_it_all() -> None:
    data = archives.zip_bomb(40)
    assert len(data) < 200 * 1024  # 40 MB in well under 200 KB
    limits = ArchiveLimits()  # 50 MB per member, ratio 100
    meter = Meter(limits)
    with open_archive(io.BytesIO(data)) as archive:
        entry = next(e for e in list_members(archive, limits) if e.name == "bomb.gpx")
        assert entry_skip(entry, limits) is None  # its claimed size is within the limits
        with pytest.raises(MemberSkipped) as caught:
            for _ in read_member(archive, entry, meter, chunk_bytes=MIB):
                pass
    assert caught.value.skip.code == "MEMBER_SUSPICIOUS_RATIO"
    assert "bomba zip" in caught.value.skip.reason
    # counted as it came: stopped within a chunk of the first point past ratio x compressed
    assert meter.total <= limits.max_ratio * entry.info.compress_size + 2 * MIB


def test_member_size_cap_holds_when_the_header_lies() -> None:
    """A member whose directory claims 100 bytes: its real size is what is counted."""
    data = archives.build_zip([("big.gpx", b"<gpx>" + b"x" * (3 * MIB))], method=zipfile.ZIP_STORED)
    limits = ArchiveLimits(max_member_bytes=MIB, max_ratio=1000)
    with open_archive(io.BytesIO(data)) as archive:
        entry = list_members(archive, limits)[0]
        object.__setattr__(entry.info, "file_size", 100)  # the claim: tiny
        assert entry_skip(entry, limits) is None
        meter = Meter(limits)
        with pytest.raises(MemberSkipped) as caught:
            for _ in read_member(archive, entry, meter, chunk_bytes=256 * 1024):
                pass
    # zipfile stops at the claimed size and then finds the CRC wrong: damaged, not read whole
    assert caught.value.skip.code in ("MEMBER_CORRUPT", "MEMBER_TOO_LARGE")
    assert meter.total <= MIB + 256 * 1024


def test_a_member_claiming_more_than_the_cap_is_skipped_unread() -> None:
    limits = ArchiveLimits()
    with open_archive(io.BytesIO(archives.zip_bomb(60))) as archive:
        entry = next(e for e in list_members(archive, limits) if e.name == "bomb.gpx")
    skip = entry_skip(entry, limits)
    assert skip is not None and skip.code == "MEMBER_TOO_LARGE"


def test_member_too_large_is_skipped_by_its_real_size() -> None:
    data = archives.build_zip([("big.gpx", b"<gpx>" + bytes(range(256)) * (12 * 4096))])
    limits = ArchiveLimits(max_member_bytes=2 * MIB, max_ratio=1000)
    read = _read_all(data, limits)
    skip = read["big.gpx"]
    assert isinstance(skip, Skip) and skip.code == "MEMBER_TOO_LARGE"
    assert "2 MB" in skip.reason


def test_archive_total_cap_fails_the_archive() -> None:
    members = [(f"m{i}.gpx", b"<gpx>" + bytes([i]) * MIB) for i in range(5)]
    data = archives.build_zip(members)
    with pytest.raises(ArchiveTooLargeError) as caught:
        _read_all(data, ArchiveLimits(max_total_bytes=3 * MIB, max_ratio=10_000))
    assert caught.value.code == "ARCHIVE_TOO_LARGE" and "3 MB" in caught.value.message


def test_too_many_members_fails_the_archive() -> None:
    data = archives.build_zip([(f"{i}.csv", b"x") for i in range(11)])
    with open_archive(io.BytesIO(data)) as archive, pytest.raises(ArchiveTooManyMembersError) as e:
        list_members(archive, ArchiveLimits(max_members=10))
    assert e.value.code == "ARCHIVE_TOO_MANY_MEMBERS"
    assert "11 archivos" in e.value.message and "10" in e.value.message


def test_overlapping_members_are_an_archive_bomb() -> None:
    archive = open_archive(io.BytesIO(archives.overlapping(50)))
    with archive, pytest.raises(ArchiveOverlapError) as caught:
        list_members(archive, ArchiveLimits())
    assert caught.value.code == "ARCHIVE_OVERLAPPING_MEMBERS"
    check_no_overlap([(0, 10), (40, 5), (100, 3)])  # apart: fine
    with pytest.raises(ArchiveOverlapError):
        check_no_overlap([(0, 100), (50, 10)])


@pytest.mark.parametrize("data", [b"PK\x03\x04" + b"\x00" * 100, b"not a zip at all", b""])
def test_unreadable_archive_is_corrupt(data: bytes) -> None:
    with pytest.raises(ArchiveCorruptError) as caught:
        open_archive(io.BytesIO(data))
    assert caught.value.code == "ARCHIVE_CORRUPT"


def test_nested_archives_are_refused_by_content() -> None:
    read = _read_all(archives.nested(), ArchiveLimits())
    assert read["more.zip"] == NESTED_ARCHIVE
    assert read["more.tar.gz"] == NESTED_ARCHIVE
    assert isinstance(read["outer.gpx"], bytes)
    for head in (b"Rar!\x1a\x07\x00", b"7z\xbc\xaf\x27\x1c\x00\x04", b"PK\x05\x06" + bytes(18)):
        assert classify(head) == NESTED_ARCHIVE


def test_encrypted_member_is_skipped() -> None:
    data = archives.build_zip([("secret.gpx", tiny_gpx(30, seed="s")), ("open.gpx", tiny_gpx(31))])
    read = _read_all(archives.set_encrypted(data, "secret.gpx"), ArchiveLimits())
    assert read["secret.gpx"] == ENCRYPTED
    assert isinstance(read["open.gpx"], bytes)


def test_zip_slip_names_are_only_text() -> None:
    data, names = archives.zip_slip()
    with open_archive(io.BytesIO(data)) as archive:
        entries = list_members(archive, ArchiveLimits())
    shown = [e.name for e in entries]
    # shown as sent (backslashes as slashes), never resolved
    assert shown[0] == "../../../../tmp/contravento-zip-slip-evil.gpx"
    assert shown[2] == "../../windows/contravento-zip-slip-win.gpx"
    assert [base_name(n) for n in names] == [
        "contravento-zip-slip-evil.gpx", "contravento-zip-slip-abs.gpx",
        "contravento-zip-slip-win.gpx", "contravento-zip-slip-dots.gpx",
    ]  # fmt: skip
    assert display_name("a\x00b\x1b[31m.gpx") == "a?b?[31m.gpx"
    assert len(display_name("x/" * 400)) == 255
    assert display_name("") == "(sin nombre)"


def test_not_activities_by_content() -> None:
    assert classify(b"") == EMPTY
    assert classify(b"Activity ID,Date\n1,2\n") == NOT_ACTIVITY
    assert classify(archives.PNG) == NOT_ACTIVITY
    assert classify(b'<?xml version="1.0"?><svg xmlns="x"/>') == NOT_ACTIVITY
    assert classify(b"<!DOCTYPE html><html><body>") == NOT_ACTIVITY
    assert classify(sample("strava-ride-power-hr-cad.gpx")[:1024]) == Sniffed(
        format=TrackFormat.GPX
    )


def test_symlink_members_are_not_followed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("link.gpx")
        info.external_attr = 0o120777 << 16  # a symlink to /etc/passwd
        archive.writestr(info, "/etc/passwd")
    with open_archive(io.BytesIO(out.getvalue())) as archive:
        entry = list_members(archive, ArchiveLimits())[0]
    assert isinstance(entry, Entry) and entry.is_symlink
    assert entry_skip(entry, ArchiveLimits()) == NOT_ACTIVITY
