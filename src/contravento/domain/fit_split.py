"""A valid FIT file cut into small valid FIT files, so that ``fitfast`` decodes it in pieces.

fitfast (domain/fit.py) decodes a whole file at a time and holds about 19 bytes of memory per
byte of file while it does; it has no streaming call, and one call returns one message kind.
``split`` walks the message headers (it does not decode a field) and returns:

- ``chunks``: FIT files of about ``chunk_bytes`` of the original each holding, in order, every
  message of the original, records cut down to RECORD_FIELDS (the fields domain/fit reads:
  fewer fields for fitfast to decode); a chunk opens with the definitions in force where it
  starts and with the developer-field descriptions seen so far. Decoded one by one they give
  the original's records with the memory of one chunk;
- ``others``: one small FIT file with the file_id and session messages only (and the
  developer-field descriptions), so that those kinds cost no pass over the records;
- ``records``: how many record messages the file holds (the columns can be allocated once).

It checks what fitfast would: header sizes, the header CRC (0 is accepted, "not computed"),
the file CRC, messages that end inside the data. Anything it does not handle raises
``Unsplittable`` (then the caller decodes the file whole): damage of any kind, compressed
timestamp headers (their time depends on the message before, which a cut would lose), and
for the same reason records without a timestamp field when the file needs more than a chunk.
The file CRC of each piece is computed anew (CRC-16/ARC, the FIT CRC, by ``anycrc``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anycrc
import numpy as np

_CRC = anycrc.Model("CRC16-ARC")
_RECORD, _FILE_ID, _SESSION = 20, 0, 18
_DEVELOPER = (206, 207)  # field_description, developer_data_id
_OTHERS = (_FILE_ID, _SESSION, *_DEVELOPER)
# the record fields domain/fit reads: timestamp, position_lat/long, altitude, heart_rate,
# cadence, power, temperature, enhanced_altitude; the chunks carry no other
RECORD_FIELDS = frozenset((253, 0, 1, 2, 3, 4, 7, 13, 78))
_RUN_PEEK = 16  # messages looked at one by one before a run is skipped with numpy


class Unsplittable(ValueError):
    """The file is damaged or uses something ``split`` does not cut."""


class _Damage(Unsplittable):
    """Damage ``salvage`` keeps the part before."""


class _Stop(Exception):
    """The walk ends at damage (salvage)."""


CUT = "cut"  # the file ends, or cannot be read, before its data does
CRC = "crc"  # the file CRC does not match


@dataclass
class Split:
    chunks: list[bytes] = field(default_factory=list)
    others: bytes = b""
    records: int = 0
    damage: list[str] = field(default_factory=list)  # CUT, CRC (salvage only)


def _crc(data: bytes | memoryview) -> int:
    return int(_CRC.calc(data))


def _fit(body: bytes) -> bytes:
    """``body`` (messages) as a FIT file: a 14-byte header with its CRC, the file CRC."""
    head = bytes((14, 0x20)) + (2132).to_bytes(2, "little") + len(body).to_bytes(4, "little")
    head += b".FIT"
    head += _crc(head).to_bytes(2, "little")
    out = head + body
    return out + _crc(out).to_bytes(2, "little")


class _Walker:
    def __init__(self, buf: bytes, chunk_bytes: int, salvage: bool) -> None:
        self.buf, self.salvage = buf, salvage
        self.u8 = np.frombuffer(buf, dtype=np.uint8)
        self.chunk_bytes = chunk_bytes
        self.out = Split()
        self.others: list[bytes] = []
        self.relative_times = False

    def file(self, pos: int) -> int:
        """One FIT file of a (possibly chained) file starting at ``pos``; returns its end."""
        buf = self.buf
        if len(buf) - pos < 14 or buf[pos] not in (12, 14) or buf[pos + 8 : pos + 12] != b".FIT":
            if pos and self.salvage:  # a chained file after a good one
                self.damaged(CUT)
            raise Unsplittable("not a FIT header")
        size = buf[pos]
        if size == 14:
            stored = int.from_bytes(buf[pos + 12 : pos + 14], "little")
            if stored and stored != _crc(memoryview(buf)[pos : pos + 12]):
                raise Unsplittable("header CRC")
        end = pos + size + int.from_bytes(buf[pos + 4 : pos + 8], "little")
        cut = end + 2 > len(buf)
        bad_crc = not cut and _crc(memoryview(buf)[pos : end + 2]) != 0
        if (cut or bad_crc) and not self.salvage:
            raise Unsplittable("file cut short or file CRC")
        try:
            self.messages(pos + size, min(end, len(buf)))
        except _Damage:
            if not self.salvage:
                raise
            self.damaged(CUT)  # a file cut short: its CRC says nothing more
        if cut:
            self.damaged(CUT)
        if bad_crc:
            self.out.damage.append(CRC)
        return end + 2

    def damaged(self, kind: str) -> None:
        self.out.damage.append(kind)
        raise _Stop()

    def messages(self, p: int, end: int) -> None:
        buf, u8 = self.buf, self.u8
        defs: dict[int, _Definition] = {}
        developer: list[bytes] = []  # definition + data of each developer-field message
        others_def: dict[int, bytes] = {}  # the definition last written to ``others``
        start = copied = p  # where the current chunk starts; bytes before ``copied`` are in body
        body: list[bytes] = []
        preamble = b""
        try:
            while p < end:
                if p - start >= self.chunk_bytes:
                    body.append(buf[copied:p])
                    self.out.chunks.append(_fit(preamble + b"".join(body)))
                    start = copied = p
                    body = []
                    preamble = b"".join(developer) + b"".join(d.written for d in defs.values())
                h = buf[p]
                if h & 0x80:
                    raise Unsplittable("compressed timestamp header")
                local = h & 0x0F
                if h & 0x40:  # a definition
                    found = _definition(buf, p, end)
                    if found.glob == _RECORD and 253 not in found.fields:
                        self.relative_times = True  # timestamp_16 or none: times need the past
                    defs[local] = found
                    if found.keep is not None:
                        body += (buf[copied:p], found.written)
                        copied = found.end
                    p = found.end
                    continue
                if h & 0x30 or local not in defs:
                    raise _Damage("undefined local message")
                found = defs[local]
                size, glob = found.size, found.glob
                limit = min(end, start + self.chunk_bytes) if glob == _RECORD else end
                k = 1
                while k < _RUN_PEEK and p + k * size < limit and buf[p + k * size] == h:
                    k += 1
                if k == _RUN_PEEK and p + k * size < limit:  # a long run of one kind: skip it
                    heads = u8[p + k * size : limit : size]
                    other = np.flatnonzero(heads != h)
                    k += int(other[0]) if len(other) else len(heads)
                stop = p + k * size
                if stop > end:  # the last of them is cut short
                    k = (end - p) // size
                    if k == 0:
                        raise _Damage("message cut short")
                    stop = p + k * size
                if glob == _RECORD:
                    self.out.records += k
                    if found.keep is not None:  # the fields we read, the others left out
                        body += (
                            buf[copied:p],
                            u8[p:stop].reshape(k, size)[:, found.keep].tobytes(),
                        )
                        copied = stop
                elif glob in _OTHERS:
                    if others_def.get(local) != found.data:
                        self.others.append(found.data)
                        others_def[local] = found.data
                    self.others.append(buf[p:stop])
                    if glob in _DEVELOPER:
                        developer.append(found.data + buf[p:stop])
                p = stop
            if p != end:
                raise _Damage("message past the data")
        except _Damage:
            if self.salvage and p > start:  # what was walked before the damage is kept
                body.append(buf[copied:p])
                self.out.chunks.append(_fit(preamble + b"".join(body)))
            raise
        if p > start:
            body.append(buf[copied:p])
            self.out.chunks.append(_fit(preamble + b"".join(body)))


@dataclass
class _Definition:
    data: bytes  # as in the file
    end: int  # where it ends in the file
    size: int  # of each data message it defines, header byte included
    glob: int
    fields: bytes  # field numbers
    written: bytes  # as the chunks carry it (a record's, with RECORD_FIELDS only)
    keep: np.ndarray | None  # for a record: the data bytes kept (None: all)


def _definition(buf: bytes, p: int, end: int) -> _Definition:
    if p + 6 > end:
        raise _Damage("definition cut short")
    h = buf[p]
    big = buf[p + 2] == 1
    glob = int.from_bytes(buf[p + 3 : p + 5], "big" if big else "little")
    n = buf[p + 5]
    q = p + 6 + 3 * n
    if q > end:
        raise _Damage("definition cut short")
    specs = buf[p + 6 : q]
    width = sum(specs[1::3])
    if h & 0x20:  # developer fields
        if q >= end:
            raise _Damage("definition cut short")
        nd = buf[q]
        width += sum(buf[q + 2 : q + 1 + 3 * nd : 3])
        q += 1 + 3 * nd
        if q > end:
            raise _Damage("definition cut short")
    data = buf[p:q]
    fields = specs[0::3]
    keep: np.ndarray | None = None
    written = data
    if glob == _RECORD and (h & 0x20 or not set(fields) <= RECORD_FIELDS):
        kept, offset, index = [], 1, [0]
        for i in range(n):
            num, size = specs[3 * i], specs[3 * i + 1]
            if num in RECORD_FIELDS:
                kept.append(specs[3 * i : 3 * i + 3])
                index.extend(range(offset, offset + size))
            offset += size
        keep = np.array(index, dtype=np.intp)
        written = bytes((0x40 | (h & 0x0F),)) + data[1:5] + bytes((len(kept),)) + b"".join(kept)
    return _Definition(data, q, 1 + width, glob, fields, written, keep)


def split(data: bytes, chunk_bytes: int, *, salvage: bool = False) -> Split:
    """``data`` as small FIT files (see the module's docstring); raises Unsplittable.
    With ``salvage`` a damaged file is cut up to its damage, named in ``damage``: a file CRC
    that does not match is read on (CRC); a cut, an undefined local message, a corrupt
    chained header end the walk (CUT), as Garmin's SDK stops there too."""
    walker = _Walker(data, chunk_bytes, salvage)
    pos = 0
    try:
        while pos < len(data):
            pos = walker.file(pos)
    except _Stop:
        pass
    if walker.relative_times and len(walker.out.chunks) > 1:
        raise Unsplittable("records without their own timestamp")
    walker.out.others = _fit(b"".join(walker.others))
    return walker.out
