"""Gzip-wrapped recordings (`.fit.gz`, `.tcx.gz`, `.gpx.gz`): inflated with a hard cap.

Inflation runs step by step with zlib's `max_length`, so a bomb (a 1 MB gzip of 1 GiB of
zeros) is refused as soon as the cap is passed, never on what the stream claims about itself.
The inflater is zlib-ng's (the `zlib-ng` package, zlib's API and format): a bomb's long runs
inflate about 20x faster than with zlib, so reaching a 200 MiB cap costs tens of ms of CPU,
and ordinary recordings inflate faster too (bench/gzip_bomb.py).
Concatenated gzip members are read one after the other, as gzip(1) does; zero bytes between
or after members (padding some tools write) are skipped.

- `GzipMeter`: fed the compressed bytes as they arrive (an upload streaming in), it inflates
  them and counts the output, keeping none of it: memory stays at one step (STEP_BYTES),
  whatever the stream inflates to.
- `gunzip_capped`: the inflated bytes of a whole stream, measured first with a meter, so a
  bomb is refused before any of its output is held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from zlib_ng import zlib_ng as zlib

from .errors import GzipCorruptError, GzipTooLargeError

DEFAULT_MAX_INFLATED_BYTES = 200 * 1024 * 1024
STEP_BYTES = 1024 * 1024  # the most one inflate step produces (and a meter holds)
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_ERROR = cast(type[Exception], zlib.error)  # the stubs type it as a value


class _Inflater:
    """Incremental inflation of a gzip stream of one or more members, in bounded steps."""

    def __init__(self) -> None:
        self._member: Any = None  # a zlib-ng decompress object; None: between members

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated output of `data`, STEP_BYTES at most per piece."""
        pending = data
        try:
            while pending:
                if self._member is None:
                    pending = pending.lstrip(b"\x00")
                    if not pending:
                        return
                    self._member = zlib.decompressobj(_GZIP_WBITS)
                member = self._member
                out = member.decompress(pending, STEP_BYTES)
                if out:
                    yield out
                pending = member.unconsumed_tail
                if member.eof:
                    pending = member.unused_data
                    self._member = None
                elif not pending:  # input consumed; output may still wait inside zlib
                    while not member.eof:
                        out = member.decompress(b"", STEP_BYTES)
                        if not out:
                            break
                        yield out
                    if member.eof:
                        pending = member.unused_data
                        self._member = None
        except _ZLIB_ERROR as exc:
            raise GzipCorruptError(str(exc)) from exc

    def close(self) -> None:
        """The stream ended: GzipCorruptError if a member was cut off."""
        if self._member is not None:
            raise GzipCorruptError("truncated gzip stream")


class GzipMeter:
    """Counts what a gzip stream inflates to as its bytes arrive, keeping none of it.

    `feed` raises GzipTooLargeError as soon as the output passes `max_bytes` and
    GzipCorruptError on damage; `finish` raises GzipCorruptError if the stream was cut off
    and returns the inflated size."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> None:
        self.max_bytes = max_bytes
        self.inflated = 0
        self._inflater = _Inflater()

    def feed(self, data: bytes) -> None:
        for out in self._inflater.feed(data):
            self.inflated += len(out)
            if self.inflated > self.max_bytes:
                raise GzipTooLargeError(f"inflates past {self.max_bytes} bytes")

    def finish(self) -> int:
        self._inflater.close()
        return self.inflated


def gunzip_capped(data: bytes, max_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> bytes:
    """The inflated bytes; GzipTooLargeError past `max_bytes`, GzipCorruptError if damaged.

    Measured first (GzipMeter), then inflated into a buffer of the size found: a bomb costs
    CPU up to the cap and no memory; a good file is inflated twice (cheap beside parsing)."""
    meter = GzipMeter(max_bytes)
    meter.feed(data)
    size = meter.finish()
    out = bytearray()
    inflater = _Inflater()
    for piece in inflater.feed(data):
        out += piece
    inflater.close()
    assert len(out) == size
    return bytes(out)


def gunzip_head(head: bytes, size: int) -> bytes:
    """At most `size` inflated bytes from the start of a gzip stream (for sniffing); b"" if
    the start is not inflatable."""
    try:
        return zlib.decompressobj(_GZIP_WBITS).decompress(head, size)
    except _ZLIB_ERROR:
        return b""
