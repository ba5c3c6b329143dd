"""Originals on the local filesystem under STORAGE_DIR (the default, for one host).

A writer fills `tmp/<uuid>.part`; commit fsyncs it, renames it atomically to its key and fsyncs
the directory, so a committed original survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from .base import CHUNK_BYTES, StoredObject
from .keys import checked_key

TEMP_DIR = "tmp"
TEMP_SUFFIX = ".part"


def _fsync_directory(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class LocalWriter:
    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage
        self._temp = storage.root / TEMP_DIR / f"{uuid.uuid4()}{TEMP_SUFFIX}"
        self._out: IO[bytes] | None = self._temp.open("wb")
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        assert self._out is not None, "write after commit or abort"
        self._out.write(data)
        self._size += len(data)

    def commit(self, key: str) -> None:
        assert self._out is not None, "commit after commit or abort"
        target = self._storage.path(key)
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temp, target)
        _fsync_directory(target.parent)  # the rename itself survives a crash

    def abort(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
            self._temp.unlink(missing_ok=True)


class LocalReader:
    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.size = os.fstat(self._file.fileno()).st_size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._file.read(CHUNK_BYTES):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / TEMP_DIR).mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def open_writer(self, key: str) -> LocalWriter:
        checked_key(key)
        return LocalWriter(self)

    def open_reader(self, key: str) -> LocalReader:
        return LocalReader(self.path(key))

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        base = self.path(prefix.rstrip("/"))
        for path in base.rglob("*") if base.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                if path.is_file():
                    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    yield StoredObject(path.relative_to(self.root).as_posix(), modified)

    def remove_stale_uploads(self, older_than: datetime) -> int:
        removed = 0
        for path in (self.root / TEMP_DIR).glob(f"*{TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                    path.unlink()
                    removed += 1
        return removed
