"""Writes the files of tests/data/time: real samples (tests/data/samples) whose times were
rewritten into each way a file's times lie. Positions, elevations, sensors and every other
byte stay as the device wrote them; only `<time>` inside `<trkpt>` changes (or the order of the
points, for the ones that run backwards).

    python tests/data/time/make_time_samples.py        # rewrite the files
    python tests/data/time/make_time_samples.py --check  # exit 1 if any differs

tests/unit/test_time_quality.py checks that this script reproduces the committed files byte
for byte. What each file is: README.md beside this script.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"

_TRKPT = re.compile(r"<trkpt\b.*?</trkpt>", re.S)
_TIME = re.compile(r"<time>([^<]*)</time>")
_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z")
_SEGMENT = re.compile(r"(<trkseg>)(.*?)(</trkseg>)", re.S)

GPSBABEL_BOGUS = "1901-12-13T20:45:52Z"  # -2**31 s from 1970: a 32-bit time_t of "unknown"


def _read(name: str) -> str:
    # latin-1 maps every byte to one character and back: untouched bytes stay identical
    return (SAMPLES / name).read_bytes().decode("latin-1")


def _parse(stamp: str) -> tuple[datetime, str]:
    match = _STAMP.fullmatch(stamp.strip())
    if match is None:
        raise ValueError(f"unexpected time {stamp!r}")
    when = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    return when, match.group(2) or ""


def _format(when: datetime, fraction: str) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _first_time(text: str) -> datetime:
    for block in _TRKPT.findall(text):
        found = _TIME.search(block)
        if found:
            return _parse(found.group(1))[0]
    raise ValueError("no trkpt time")


def _earliest_time(text: str) -> datetime:
    return min(_parse(found)[0] for block in _TRKPT.findall(text) for found in _TIME.findall(block))


def _retime(text: str, change: Callable[[datetime], datetime]) -> str:
    """Every trkpt `<time>` rewritten by ``change``, in the same notation."""

    def one_time(found: re.Match[str]) -> str:
        when, fraction = _parse(found.group(1))
        return f"<time>{_format(change(when), fraction)}</time>"

    return _TRKPT.sub(lambda block: _TIME.sub(one_time, block.group(0)), text)


def _reverse_points(text: str) -> str:
    """Each segment's points in reverse order, the whitespace between them where it was (an
    editor's "reverse track" that kept every point's time)."""

    def one_segment(found: re.Match[str]) -> str:
        body = found.group(2)
        blocks = _TRKPT.findall(body)
        gaps = _TRKPT.split(body)
        out = [gaps[0]]
        for block, gap in zip(reversed(blocks), gaps[1:], strict=True):
            out += [block, gap]
        return found.group(1) + "".join(out) + found.group(3)

    return _SEGMENT.sub(one_segment, text)


def _days_out_of_order(text: str) -> str:
    """The three days' tracks merged into one segment as day 2, day 1, day 3."""
    segments = [found.group(2) for found in _SEGMENT.finditer(text)]
    merged = segments[1].rstrip() + segments[0].rstrip() + segments[2]
    first = _SEGMENT.search(text)
    assert first is not None
    head = text[: first.start()]
    tail = text[text.rindex("</trkseg>") + len("</trkseg>") :]
    tail = tail[tail.index("</trk>") :]
    return head + "<trkseg>" + merged + "</trkseg>\n  " + tail


def _gpsbabel_1901() -> str:
    """184 points of day 1 of the MapSource tour (points 100 to 283, about 2.7 km) as GPSBabel
    writes GPX 1.0, with its bogus 1901 time on every point."""
    blocks = _TRKPT.findall(_read("garmin-mapsource-three-day-multitrack.gpx"))[100:284]
    points = []
    for block in blocks:
        lat = float(re.search(r'lat="([^"]+)"', block).group(1))  # type: ignore[union-attr]
        lon = float(re.search(r'lon="([^"]+)"', block).group(1))  # type: ignore[union-attr]
        ele = float(re.search(r"<ele>([^<]+)</ele>", block).group(1))  # type: ignore[union-attr]
        points.append((lat, lon, ele))
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.0" creator="GPSBabel - http://www.gpsbabel.org"'
        ' xmlns="http://www.topografix.com/GPX/1/0">',
        f"<time>{GPSBABEL_BOGUS}</time>",
        f'<bounds minlat="{min(lats):.9f}" minlon="{min(lons):.9f}"'
        f' maxlat="{max(lats):.9f}" maxlon="{max(lons):.9f}"/>',
        "<trk>",
        "  <name>Tag 1</name>",
        "<trkseg>",
    ]
    for lat, lon, ele in points:
        lines += [
            f'<trkpt lat="{lat:.9f}" lon="{lon:.9f}">',
            f"  <ele>{ele:.3f}</ele>",
            f"  <time>{GPSBABEL_BOGUS}</time>",
            "</trkpt>",
        ]
    lines += ["</trkseg>", "</trk>", "</gpx>", ""]
    return "\n".join(lines)


def _one_time(name: str) -> str:
    text = _read(name)
    first = _first_time(text)
    return _retime(text, lambda _: first)


def _from(name: str, epoch: datetime) -> str:
    """The clock started at ``epoch`` when the recording did: intervals kept, dates lost."""
    text = _read(name)
    first = _earliest_time(text)
    return _retime(text, lambda when: epoch + (when - first))


def _shifted(name: str, by: timedelta) -> str:
    return _retime(_read(name), lambda when: when + by)


def _to_the_minute(name: str) -> str:
    return _retime(_read(name), lambda when: when.replace(second=0))


FILES: dict[str, Callable[[], str]] = {
    "gpsbabel-1901-every-point-184pts.gpx": _gpsbabel_1901,
    "strava-ride-one-time-on-every-point.gpx": lambda: _one_time("strava-ride-power-hr-cad.gpx"),
    "mytourbook-ride-clock-from-1970.gpx": lambda: _from(
        "mytourbook-ride-98km-cadence.gpx", datetime(1970, 1, 1, tzinfo=UTC)
    ),
    "expertgps-etrex-clock-unset-2000.gpx": lambda: _from(
        "expertgps-etrex-duathlon-multitrack-waypoints.gpx", datetime(2000, 1, 1, tzinfo=UTC)
    ),
    "gpsmap64s-week-rollover-1024-weeks-back.gpx": lambda: _shifted(
        "garmin-gpsmap64s-hike-two-segments.gpx", -timedelta(weeks=1024)
    ),
    "garmin-connect-run-reversed.gpx": lambda: _reverse_points(
        _read("garmin-connect-run-hr-cad-ns3-prefix.gpx")
    ),
    "mapsource-days-merged-out-of-order.gpx": lambda: _days_out_of_order(
        _read("garmin-mapsource-three-day-multitrack.gpx")
    ),
    "strava-run-times-to-the-minute.gpx": lambda: _to_the_minute("strava-run-hr-gps-spike.gpx"),
}


def generate() -> dict[str, bytes]:
    return {name: make().encode("latin-1") for name, make in FILES.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    differs = []
    for name, data in generate().items():
        path = HERE / name
        if check:
            if not path.exists() or path.read_bytes() != data:
                differs.append(name)
        else:
            path.write_bytes(data)
    for name in differs:
        print(f"differs: {name}", file=sys.stderr)
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
