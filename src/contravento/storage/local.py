"""Originals on the local filesystem under STORAGE_DIR. Keys never come from user input."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .base import StorageError

_KEY = re.compile(r"^[A-Za-z0-9_\-/.]+$")


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root / key

    def temp_path(self, name: str) -> Path:
        return self.root / "tmp" / f"{name}.part"

    def commit_temp(self, temp: Path, key: str) -> None:
        """Atomically move a fully written temp file to its key."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash (the data was fsynced)
        finally:
            os.close(directory)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def original_key(*, year: int, month: int, trip_id: str, gpx_file_id: str) -> str:
    return f"gpx_files/{year:04d}/{month:02d}/{trip_id}/{gpx_file_id}.gpx"
