"""Which kind of recording a file is, decided by its content (never by its name or type).

`sniff(head)` reads the first bytes of an upload: FIT by its header signature, gzip and zip
by their magic numbers, XML by its root element (GPX or TCX). `parse_track` turns the bytes
of any supported recording (gzip-wrapped or not) into the one track model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .compression import DEFAULT_MAX_INFLATED_BYTES, gunzip_capped, gunzip_head
from .errors import UnsupportedFormatError
from .fit import parse_fit
from .gpx import parse_gpx
from .tcx import parse_tcx
from .track import ParsedTrack

SNIFF_BYTES = 512


class TrackFormat(StrEnum):
    GPX = "gpx"
    FIT = "fit"
    TCX = "tcx"


class Compression(StrEnum):
    GZIP = "gzip"


class Archive(StrEnum):
    ZIP = "zip"


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: a track format (maybe gzip-wrapped), an archive, or nothing."""

    format: TrackFormat | None = None
    compression: Compression | None = None
    archive: Archive | None = None


_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# the root element's local name, after the XML declaration, comments and processing instructions
_ROOT = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def _is_fit(head: bytes) -> bool:
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"


def _xml_format(head: bytes) -> TrackFormat | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(_UTF16_BOMS):  # UTF-16 with a BOM: the GPX parser decides
        return TrackFormat.GPX
    if not text.startswith(b"<"):
        return None
    root = _ROOT.search(text)
    if root is not None and root.group(1) == b"TrainingCenterDatabase":
        return TrackFormat.TCX
    return TrackFormat.GPX  # any other XML: the GPX parser names what is wrong with it


def xml_root(head: bytes) -> bytes | None:
    """The local name of the root element in the first bytes of an XML document (None if
    they are no XML, or the root is beyond them)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None
    root = _ROOT.search(text)
    return root.group(1) if root is not None else None


def sniff_plain(head: bytes) -> TrackFormat | None:
    """The format of uncompressed bytes, or None if they are none we read."""
    if _is_fit(head):
        return TrackFormat.FIT
    return _xml_format(head)


def is_gzip(head: bytes) -> bool:
    return head.startswith(_GZIP_MAGIC)


def sniff(head: bytes) -> Sniffed:
    """Classify an upload by its first bytes (SNIFF_BYTES are enough)."""
    if head.startswith(_ZIP_MAGICS):
        return Sniffed(archive=Archive.ZIP)
    if is_gzip(head):
        return Sniffed(
            format=sniff_plain(gunzip_head(head, SNIFF_BYTES)), compression=Compression.GZIP
        )
    return Sniffed(format=sniff_plain(head))


Parser = Callable[..., ParsedTrack]
# Each parser: (data, *, max_points, should_stop) -> ParsedTrack; raises GPXError subclasses.
_PARSERS: dict[TrackFormat, Parser] = {
    TrackFormat.GPX: parse_gpx,
    TrackFormat.FIT: parse_fit,
    TrackFormat.TCX: parse_tcx,
}


def parse_track(
    data: bytes,
    *,
    max_points: int,
    should_stop: Callable[[], bool] | None = None,
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
) -> ParsedTrack:
    """Any supported recording, gzip-wrapped or not, as a ParsedTrack."""
    found = sniff(data[:SNIFF_BYTES])
    if found.compression is Compression.GZIP:
        data = gunzip_capped(data, max_inflated_bytes)
        found = Sniffed(format=sniff_plain(data[:SNIFF_BYTES]))
    if found.archive is not None:
        raise UnsupportedFormatError(found.archive)
    # bytes of no known kind go to the GPX parser, which names what is wrong with them
    parser = _PARSERS.get(found.format or TrackFormat.GPX)
    if parser is None:
        raise UnsupportedFormatError(found.format)
    return parser(data, max_points=max_points, should_stop=should_stop)
