"""An archive's members, read one by one: into storage writers, committed or dropped.

Blocking work (zipfile, hashing, the store): the import (imports.py) runs each call in a
thread.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass
from typing import IO

import structlog

from ...domain import ProcessingCancelled
from ...domain.archive import Entry, MemberSkipped, Meter, Skip, classify, entry_skip, read_member
from ...domain.formats import SNIFF_BYTES, Sniffed
from ...storage import ObjectWriter, Storage
from ..errors import StorageMissingError

log = structlog.get_logger("contravento.imports")

HEAD_BYTES = SNIFF_BYTES + 512  # enough to see a tar header inside a member


@dataclass
class Staged:
    """A member read whole into a storage writer (not committed yet)."""

    writer: ObjectWriter
    found: Sniffed
    size: int
    sha256: str


@dataclass
class Pending:
    """An activity member read into its writer, waiting for its batch's transaction."""

    entry: Entry
    staged: Staged
    file_id: uuid.UUID
    key: str


def commit_all(fresh: list[Pending], batch: list[Pending]) -> None:
    """Commit the new members' objects, abort the others' (in a thread)."""
    keep = {id(p) for p in fresh}
    for p in batch:
        if id(p) in keep:
            p.staged.writer.commit(p.key)
        else:
            p.staged.writer.abort()


def abort_all(batch: list[Pending]) -> None:
    for p in batch:
        p.staged.writer.abort()  # a no-op once committed


def delete_all(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except OSError as exc:  # the orphan sweep removes it later
            log.warning("orphan_left_for_sweep", storage_key=key, error=str(exc))


def spool_archive(storage: Storage, key: str) -> IO[bytes]:
    """The archive copied from the store into a temporary file (zipfile needs to seek; the
    store may be S3): memory stays bounded by a chunk whatever the archive's size."""
    spool = tempfile.TemporaryFile(prefix="contravento-import-")  # noqa: SIM115 (returned)
    try:
        try:
            reader = storage.open_reader(key)
        except FileNotFoundError as exc:
            raise StorageMissingError(key) from exc
        try:
            for chunk in reader:
                spool.write(chunk)
        finally:
            reader.close()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def stage_member(
    storage: Storage,
    archive: zipfile.ZipFile,
    entry: Entry,
    meter: Meter,
    key: str,
    cancel: threading.Event,
) -> Staged | Skip:
    """Read one member (in a thread): a Skip, or its bytes in a writer for `key`. An
    archive-level limit (ArchiveTooLargeError) or a storage error propagates."""
    skip = entry_skip(entry, meter.limits)
    if skip is not None:
        return skip
    writer: ObjectWriter | None = None
    digest, size, head = hashlib.sha256(), 0, b""
    found: Sniffed | None = None
    try:
        for chunk in read_member(archive, entry, meter):
            if cancel.is_set():
                raise ProcessingCancelled()
            if found is None:
                head += chunk
                if len(head) < HEAD_BYTES:
                    continue
                kind = classify(head)
                if isinstance(kind, Skip):
                    return kind
                found, chunk, head = kind, head, b""
                writer = storage.open_writer(key)
            assert writer is not None
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        if found is None:  # the whole member is shorter than the sniffing window
            kind = classify(head)
            if isinstance(kind, Skip):
                return kind
            found, writer = kind, storage.open_writer(key)
            digest.update(head)
            writer.write(head)
            size = len(head)
        assert writer is not None
        staged = Staged(writer, found, size, digest.hexdigest())
        writer = None  # handed over
        return staged
    except MemberSkipped as exc:
        return exc.skip
    finally:
        if writer is not None:
            writer.abort()
