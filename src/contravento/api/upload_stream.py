"""Stream a multipart upload straight into a storage writer, enforcing the size limit.

The body is never held in memory: the limit is checked against Content-Length up front and
against the bytes actually received as each chunk arrives; chunks are gathered into blocks of
FLUSH_BYTES that are hashed and handed to the writer in a worker thread (hashlib, file writes
and S3 part uploads release the GIL), so none of it runs on the event loop. The writer holds at
most one S3 part (S3_PART_SIZE_MB) or a temp file of the local store.
A gzip body is inflated as it arrives (domain GzipMeter, in the same thread, output counted
and dropped): one that inflates past the cap (a bomb) or is damaged is refused before the rest
is read, with the API's memory at one inflate step.
A client that disconnects, lies about its length or sends too much leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..domain.compression import GzipMeter
from ..domain.errors import GzipCorruptError, GzipTooLargeError
from ..domain.formats import is_gzip
from ..services.errors import (
    GzipUploadCorruptError,
    GzipUploadTooLargeError,
    InvalidUploadError,
    UploadIncompleteError,
    UploadStalledError,
    UploadTooLargeError,
)
from ..services.uploads import StagedUpload, discard, new_original_key, safe_filename
from ..storage import ObjectWriter, Storage

FIELD = "file"
ZIP_MAGIC = b"PK\x03\x04"
HEAD_BYTES = 512
MULTIPART_OVERHEAD = 64 * 1024  # headers and boundaries around the file part
FLUSH_BYTES = 512 * 1024  # per upload at most this much waits in memory for the writer thread


@dataclass(frozen=True)
class SizeLimit:
    """How large an upload may be: an activity, or (by its first bytes) a zip archive."""

    max_bytes: int
    max_mb: float
    archive_bytes: int = 0  # 0: archives have the activities' limit
    archive_mb: float = 0.0

    @property
    def largest(self) -> int:
        return max(self.max_bytes, self.archive_bytes)


class _FilePart:
    def __init__(
        self, out: ObjectWriter, limit: int, limit_mb: float, max_inflated: int | None = None
    ) -> None:
        self.out = out
        self.max_inflated = max_inflated
        self.meter: GzipMeter | None = None
        self.limit = limit
        self.limit_mb = limit_mb
        self.archive: SizeLimit | None = None
        self.declared = 0  # the body's Content-Length, if it sent one
        self.size = 0
        self.sha = hashlib.sha256()
        self.head = b""
        self.filename: str | None = None
        self.seen = False
        self.ended = False
        self._in_file = False
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._pending: list[bytes] = []
        self.pending_bytes = 0

    # python-multipart callbacks
    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._in_file = name == FIELD and not self.seen and b"filename" in options
        if self._in_file:
            self.seen = True
            self.filename = options[b"filename"].decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
            if self.archive is not None and len(self.head) >= len(ZIP_MAGIC):
                if self.head.startswith(ZIP_MAGIC):
                    self.limit, self.limit_mb = self.archive.archive_bytes, self.archive.archive_mb
                self.archive = None
                # no zip: a body that declared more than the activities' limit ends here
                if self.declared > self.limit + MULTIPART_OVERHEAD:
                    raise UploadTooLargeError(self.limit_mb)
        if self.size > self.limit:
            raise UploadTooLargeError(self.limit_mb)
        self._pending.append(chunk)
        self.pending_bytes += len(chunk)

    def flush(self) -> None:
        """Hash and write the gathered chunks (called in a worker thread, one at a time)."""
        if not self._pending:
            return
        block = b"".join(self._pending)
        self._pending, self.pending_bytes = [], 0
        if self.meter is None and self.max_inflated is not None and is_gzip(self.head):
            self.meter = GzipMeter(self.max_inflated)  # the head is whole by the first flush
        if self.meter is not None:
            self.meter.feed(block)
        self.sha.update(block)
        self.out.write(block)

    def finish(self) -> None:
        """The body is all here: a gzip stream must have ended (in a thread, after flush)."""
        if self.meter is not None:
            self.meter.finish()

    def on_part_end(self) -> None:
        self._in_file = False

    def on_end(self) -> None:
        self.ended = True


async def _chunks(request: Request, idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The body's chunks; a client that sends nothing for `idle_timeout_s` is given up on."""
    stream = request.stream().__aiter__()
    while True:
        try:
            async with asyncio.timeout(idle_timeout_s):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise UploadStalledError() from exc
        yield chunk


async def stage_upload(
    request: Request,
    storage: Storage,
    *,
    trip_id: uuid.UUID,
    limit: int,
    limit_mb: float,
    idle_timeout_s: float = 60.0,
    max_inflated_mb: float | None = None,
    archive_limit: int = 0,
    archive_limit_mb: float = 0.0,
) -> StagedUpload:
    """Receive the body into a storage writer; the caller commits it (register_upload).
    A gzip body is refused once it inflates past `max_inflated_mb` (None: not metered); a
    body whose first bytes are a zip (a bulk import) may reach `archive_limit` instead."""
    sizes = SizeLimit(limit, limit_mb, archive_limit, archive_limit_mb)
    limit = sizes.largest  # the whole body's bound, before its first bytes are seen
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidUploadError()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise UploadTooLargeError(max(limit_mb, archive_limit_mb))

    file_id = uuid.uuid4()
    key = new_original_key(trip_id, file_id)
    writer = storage.open_writer(key)
    try:
        max_inflated = None if max_inflated_mb is None else int(max_inflated_mb * 1024 * 1024)
        part = _FilePart(writer, sizes.max_bytes, sizes.max_mb, max_inflated)
        if sizes.archive_bytes > sizes.max_bytes:
            part.archive = sizes
            part.declared = int(declared) if declared and declared.isdigit() else 0
        callbacks = {
            name: getattr(part, name)
            for name in (
                "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
                "on_header_value", "on_header_end", "on_headers_finished", "on_end",
            )
        }  # fmt: skip
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        received = 0
        async for chunk in _chunks(request, idle_timeout_s):
            received += len(chunk)
            if received > limit + MULTIPART_OVERHEAD:
                raise UploadTooLargeError(limit_mb)
            parser.write(chunk)
            if part.pending_bytes >= FLUSH_BYTES:
                await asyncio.to_thread(part.flush)
        parser.finalize()
        await asyncio.to_thread(part.flush)
        if not part.ended:  # the closing boundary never came: a cut-off body
            raise UploadIncompleteError()
        await asyncio.to_thread(part.finish)
        if not part.seen or part.filename is None:
            raise InvalidUploadError()
        if part.size == 0:
            raise InvalidUploadError("El archivo está vacío.", code="GPX_EMPTY_FILE")
    except ClientDisconnect as exc:
        await discard(writer)
        raise UploadIncompleteError() from exc
    except GzipTooLargeError as exc:
        await discard(writer)
        raise GzipUploadTooLargeError(max_inflated_mb or 0) from exc
    except GzipCorruptError as exc:
        await discard(writer)
        raise GzipUploadCorruptError() from exc
    except BaseException as exc:
        await discard(writer)
        if isinstance(exc, ValueError):  # python-multipart: malformed body
            raise InvalidUploadError() from exc
        raise
    return StagedUpload(
        gpx_file_id=file_id,
        key=key,
        writer=writer,
        filename=safe_filename(part.filename),
        size_bytes=part.size,
        sha256=part.sha.hexdigest(),
        head=part.head,
    )
