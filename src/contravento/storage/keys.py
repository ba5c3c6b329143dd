"""Storage keys: the originals' layout, and the check that a key is one we made."""

from __future__ import annotations

import re

from .base import StorageError

ORIGINALS_PREFIX = "gpx_files/"
_KEY = re.compile(r"^[A-Za-z0-9_\-/.]+$")


def original_key(*, year: int, month: int, trip_id: str, gpx_file_id: str) -> str:
    return f"{ORIGINALS_PREFIX}{year:04d}/{month:02d}/{trip_id}/{gpx_file_id}.gpx"


def checked_key(key: str) -> str:
    """Keys never come from user input; a malformed one is a bug, refused before any I/O."""
    if not _KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise StorageError(f"invalid storage key {key!r}")
    return key
