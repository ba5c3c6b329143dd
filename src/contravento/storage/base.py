"""Where originals live: a streaming protocol that local disk and object stores implement.

A writer receives the bytes as they arrive and stores them under a key at `commit`; a reader
yields an object's bytes in chunks. No caller ever sees a path. Every call blocks (disk or
network): async callers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CHUNK_BYTES = 256 * 1024  # what a reader yields at a time


class StorageError(OSError):
    """Storage I/O failed: a transient error (retry, or 503), unless the object is missing
    (that is FileNotFoundError)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified: datetime  # timezone-aware UTC


class ObjectWriter(Protocol):
    """One upload being written. Nothing is visible under any key before `commit` returns."""

    @property
    def size(self) -> int: ...

    def write(self, data: bytes) -> None: ...

    def commit(self, key: str) -> None:
        """Store everything written under `key`, durably, before returning."""

    def abort(self) -> None:
        """Drop what was written (idempotent; nothing after a commit). Never raises."""


class ObjectReader(Protocol):
    size: int

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class Storage(Protocol):
    def open_writer(self, key: str) -> ObjectWriter:
        """A writer for an object that will most likely be committed under `key`."""

    def open_reader(self, key: str) -> ObjectReader:
        """Raises FileNotFoundError if there is no such object."""

    def read(self, key: str) -> bytes:
        """The whole object; FileNotFoundError if missing, StorageError on I/O trouble."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    def list_objects(self, prefix: str) -> Iterator[StoredObject]: ...

    def remove_stale_uploads(self, older_than: datetime) -> int:
        """Drop unfinished writers' leftovers (temp files, multipart uploads) started before
        `older_than`, as a crashed process leaves them; returns how many."""
