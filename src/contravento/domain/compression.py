"""Gzip-wrapped recordings (`.fit.gz`, `.tcx.gz`, `.gpx.gz`): inflated with a hard cap.

Inflation runs step by step with zlib's `max_length`, so a bomb (a 1 MB gzip of 1 GiB of
zeros) is refused as soon as the cap is passed, with memory bounded by the cap, never by what
the stream claims. Concatenated gzip members are read one after the other, as gzip(1) does.
"""

from __future__ import annotations

import zlib

from .errors import GzipCorruptError, GzipTooLargeError

DEFAULT_MAX_INFLATED_BYTES = 200 * 1024 * 1024
_STEP = 1024 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def gunzip_capped(data: bytes, max_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> bytes:
    """The inflated bytes; GzipTooLargeError past `max_bytes`, GzipCorruptError if damaged."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        pending = rest
        try:
            while pending and not inflater.eof:
                out += inflater.decompress(pending, _STEP)
                if len(out) > max_bytes:
                    raise GzipTooLargeError(f"inflates past {max_bytes} bytes")
                pending = inflater.unconsumed_tail
            while not inflater.eof:  # input consumed, output still buffered inside zlib
                chunk = inflater.decompress(b"", _STEP)
                if not chunk:
                    break
                out += chunk
                if len(out) > max_bytes:
                    raise GzipTooLargeError(f"inflates past {max_bytes} bytes")
        except zlib.error as exc:
            raise GzipCorruptError(str(exc)) from exc
        if not inflater.eof:
            raise GzipCorruptError("truncated gzip stream")
        rest = inflater.unused_data.lstrip(b"\x00")  # trailing padding some tools write
    return bytes(out)


def gunzip_head(head: bytes, size: int) -> bytes:
    """At most `size` inflated bytes from the start of a gzip stream (for sniffing); b"" if
    the start is not inflatable."""
    try:
        return zlib.decompressobj(_GZIP_WBITS).decompress(head, size)
    except zlib.error:
        return b""
