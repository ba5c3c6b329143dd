"""Zip archives for the tests, built from tests/data/samples: a Strava-export-shaped one,
broken members, zip bombs, zip-slip names, encrypted flags, overlapping members."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
from pathlib import Path

from tests.support import sample, tiny_gpx

# a FIT file header alone (size 14, protocol, profile, data size 0, ".FIT", CRC 0): FIT by
# content; its own job judges it (no records)
FIT_HEAD = bytes([14, 0x20, 0x52, 0x08, 0, 0, 0, 0]) + b".FIT" + b"\x00\x00"
STRAVA_ACTIVITIES = (
    "strava-ride-power-hr-cad.gpx",
    "strava-run-hr-gps-spike.gpx",
    "garmin-handheld-stale-first-last-point-glitch.gpx",
)
STRAVA_GZIPPED = "expertgps-etrex-duathlon-multitrack-waypoints.gpx"
# a 1x1 PNG and the first bytes of a JPEG: what a Strava export keeps beside the activities
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def build_zip(members: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members:
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return out.getvalue()


def strava_export() -> tuple[bytes, dict[str, str]]:
    """A bulk export as Strava sends it: folders, activities/*.gpx and *.gpx.gz, a FIT, CSV
    files and images beside. Returns the zip and, per member, what should become of it
    ("created" or the skip code)."""
    members: list[tuple[str, bytes]] = [("export_4471/", b""), ("export_4471/activities/", b"")]
    expected: dict[str, str] = {}
    for i, name in enumerate(STRAVA_ACTIVITIES):
        path = f"export_4471/activities/{1000 + i}.gpx"
        members.append((path, sample(name)))
        expected[path] = "created"
    gz = f"export_4471/activities/{2000}.gpx.gz"
    members.append((gz, gzip.compress(sample(STRAVA_GZIPPED))))
    expected[gz] = "created"
    fit = "export_4471/activities/3000.fit"
    members.append((fit, FIT_HEAD))
    expected[fit] = "created"
    extras = {
        "export_4471/activities.csv": b"Activity ID,Activity Date,Activity Name\n1000,x,Ride\n",
        "export_4471/profile.csv": b"Athlete ID,Email\n4471,ana@example.com\n",
        "export_4471/media/IMG_0001.jpg": JPEG,
        "export_4471/media/map.png": PNG,
        # an XML that is no activity, and a GPX under a misleading name (content decides)
        "export_4471/routes/route.kml": b'<?xml version="1.0"?><kml xmlns="x"><Document/></kml>',
    }
    for path, data in extras.items():
        members.append((path, data))
        expected[path] = "MEMBER_NOT_ACTIVITY"
    disguised = "export_4471/activities/4000.txt"
    members.append((disguised, tiny_gpx(40, seed="disguised")))
    expected[disguised] = "created"
    return build_zip(members), expected


def corrupt_member(data: bytes, name: str) -> bytes:
    """Flip bytes in the middle of one member's compressed data (its CRC no longer holds)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    raw = bytearray(data)
    for i in range(middle, min(middle + 16, start + info.compress_size)):
        raw[i] ^= 0xFF
    return bytes(raw)


def with_broken_members() -> bytes:
    """Two good activities, one member whose deflate data is damaged, one malformed GPX."""
    good = [("a/ok-1.gpx", sample("strava-ride-power-hr-cad.gpx")),
            ("a/ok-2.gpx", tiny_gpx(60, seed="ok-2"))]  # fmt: skip
    broken = ("a/damaged.gpx", sample("strava-run-hr-gps-spike.gpx"))
    malformed = (
        "a/truncated.gpx",
        sample("garmin-handheld-stale-first-last-point-glitch.gpx")[:5000],
    )
    data = build_zip([good[0], broken, malformed, good[1]])
    return corrupt_member(data, broken[0])


def zip_bomb(inflated_mb: int = 40) -> bytes:
    """One GPX-looking member that inflates to `inflated_mb` MB of spaces (a few dozen KB
    compressed), beside a real activity."""
    head = b'<?xml version="1.0"?>\n<gpx version="1.1" creator="bomb">'
    filler = b" " * (inflated_mb * 1024 * 1024)
    return build_zip([("bomb.gpx", head + filler), ("real.gpx", tiny_gpx(50, seed="beside-bomb"))])


def zip_slip() -> tuple[bytes, list[str]]:
    """Members whose names try to leave any directory they would be written to."""
    names = [
        "../../../../tmp/contravento-zip-slip-evil.gpx",
        "/etc/contravento-zip-slip-abs.gpx",
        "..\\..\\windows\\contravento-zip-slip-win.gpx",
        "ok/../../contravento-zip-slip-dots.gpx",
    ]
    members = [(name, tiny_gpx(30 + i, seed=f"slip-{i}")) for i, name in enumerate(names)]
    return build_zip(members), names


def nested() -> bytes:
    inner_zip = build_zip([("inner.gpx", tiny_gpx(30, seed="inner"))])
    tar_out = io.BytesIO()
    with tarfile.open(fileobj=tar_out, mode="w:gz") as tar:
        data = tiny_gpx(31, seed="in-tar")
        info = tarfile.TarInfo("in-tar.gpx")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return build_zip(
        [
            ("more.zip", inner_zip),
            ("more.tar.gz", tar_out.getvalue()),
            ("outer.gpx", tiny_gpx(32, seed="outer")),
        ]
    )


def set_encrypted(data: bytes, name: str) -> bytes:
    """Mark one member as encrypted (general purpose flag bit 0) in its local header and its
    central directory entry, as an encrypting tool would (the data itself is left as is)."""
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    assert raw[local : local + 4] == b"PK\x03\x04"
    flags = struct.unpack_from("<H", raw, local + 6)[0] | 0x1
    struct.pack_into("<H", raw, local + 6, flags)
    at = 0
    while True:
        central = raw.find(b"PK\x01\x02", at)
        assert central >= 0
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46 : central + 46 + name_len] == name.encode():
            break
        at = central + 4
    flags = struct.unpack_from("<H", raw, central + 8)[0] | 0x1
    struct.pack_into("<H", raw, central + 8, flags)
    return bytes(raw)


def overlapping(copies: int = 50) -> bytes:
    """An overlap bomb: one compressed member listed `copies` times in the central directory,
    every entry pointing at the same local data."""
    data = build_zip([("x.gpx", tiny_gpx(40, seed="overlap"))])
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, eocd + 12)
    entry = data[cd_offset : cd_offset + cd_size]
    body = data[:cd_offset]
    central = entry * copies
    end = bytearray(data[eocd : eocd + 22])
    struct.pack_into("<HHII", end, 8, copies, copies, len(central), len(body))
    return body + central + bytes(end)


FIT_DATA = Path(__file__).resolve().parent / "data" / "fit"
TCX_DATA = Path(__file__).resolve().parent / "data" / "tcx"


def device_export() -> tuple[bytes, dict[str, tuple[str, str | None] | str]]:
    """A bulk export of real device files in every format: activities/*.fit, *.fit.gz, *.tcx,
    *.gpx.gz; a settings FIT and a gzipped monitoring FIT (FIT by their content, but no
    activity: skipped on their file_id), a CSV, an image and a nested zip. Returns the zip
    and, per member, (format, compression) for a member that becomes a file, or the skip
    code."""
    members: list[tuple[str, bytes]] = [("export_9/", b""), ("export_9/activities/", b"")]
    expected: dict[str, tuple[str, str | None] | str] = {}
    files = {
        "export_9/activities/101.fit": ((FIT_DATA / "Edge810-Vector-2013-08-16-15-35-10.fit")
                                        .read_bytes(), ("fit", None)),
        "export_9/activities/102.fit.gz": (gzip.compress((FIT_DATA / "garmin-fenix-5-bike.fit")
                                           .read_bytes()), ("fit", "gzip")),
        "export_9/activities/103.tcx": ((TCX_DATA / "garmin-connect-edge520-ride-watts.tcx")
                                        .read_bytes(), ("tcx", None)),
        "export_9/activities/104.gpx.gz": (gzip.compress(sample("strava-ride-power-hr-cad.gpx")),
                                           ("gpx", "gzip")),
    }  # fmt: skip
    for path, (data, want) in files.items():
        members.append((path, data))
        expected[path] = want
    skipped = {
        "export_9/activities.csv": (
            b"Activity ID,Activity Type\n101,Ride\n",
            "MEMBER_NOT_ACTIVITY",
        ),
        "export_9/media/foto.png": (PNG, "MEMBER_NOT_ACTIVITY"),
        "export_9/activities/105.fit": (
            (FIT_DATA / "Settings.fit").read_bytes(),
            "MEMBER_NOT_ACTIVITY",
        ),
        "export_9/monitor/106.fit.gz": (
            gzip.compress((FIT_DATA / "MonitoringFile.fit").read_bytes()),
            "MEMBER_NOT_ACTIVITY",
        ),
        "export_9/activities/older.zip": (
            build_zip([("old.gpx", tiny_gpx(30, seed="nested-old"))]),
            "MEMBER_NESTED_ARCHIVE",
        ),
    }
    for path, (data, code) in skipped.items():
        members.append((path, data))
        expected[path] = code
    return build_zip(members), expected
