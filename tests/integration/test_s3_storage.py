"""S3Storage against a real S3 endpoint: multipart streaming, confirmation, abort, errors."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

from contravento.config import Settings
from contravento.storage import S3Storage, StorageError, build_storage
from tests.live import free_port
from tests.s3_server import S3Server, list_keys

MiB = 1024 * 1024


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return s3_server.create_bucket(f"cv-{uuid.uuid4().hex[:20]}")


def _store(endpoint: str, bucket: str, **extra: object) -> S3Storage:
    values: dict[str, object] = {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_prefix": "pre",
        **extra,
    }
    storage = build_storage(Settings(**values))  # type: ignore[arg-type]
    assert isinstance(storage, S3Storage)
    return storage


def _blocks(total: int, size: int = 512 * 1024) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield os.urandom(min(size, total - start))


def test_a_large_body_is_a_multipart_upload_completed_and_read_back_in_chunks(
    s3_server: S3Server, bucket: str
) -> None:
    storage = _store(s3_server.url, bucket)
    writer = storage.open_writer("gpx_files/2026/01/t/a.gpx")
    sent = b""
    for block in _blocks(19 * MiB):
        writer.write(block)
        sent += block
        assert len(writer._buffer) < storage.part_bytes  # at most one part waits in memory
    client = s3_server.client()
    assert client.list_multipart_uploads(Bucket=bucket)["Uploads"]  # parts went out already
    assert list_keys(client, bucket) == []  # ... but nothing is visible before the commit
    writer.commit("gpx_files/2026/01/t/a.gpx")
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list_keys(client, bucket) == ["pre/gpx_files/2026/01/t/a.gpx"]
    reader = storage.open_reader("gpx_files/2026/01/t/a.gpx")
    chunks = list(reader)
    assert reader.size == len(sent) and b"".join(chunks) == sent
    assert max(len(c) for c in chunks) <= 256 * 1024
    assert storage.read("gpx_files/2026/01/t/a.gpx") == sent
    assert [o.key for o in storage.list_objects("gpx_files/")] == ["gpx_files/2026/01/t/a.gpx"]
    storage.delete("gpx_files/2026/01/t/a.gpx")
    storage.delete("gpx_files/2026/01/t/a.gpx")  # deleting twice is fine
    assert list_keys(client, bucket) == []


def test_commit_under_another_key_and_abort(s3_server: S3Server, bucket: str) -> None:
    storage = _store(s3_server.url, bucket)
    client = s3_server.client()
    big = storage.open_writer("gpx_files/new.gpx")
    sent = b""
    for block in _blocks(9 * MiB):  # one part out before the commit: a multipart upload
        big.write(block)
        sent += block
    big.commit("gpx_files/existing.gpx")  # a re-upload keeps the existing row's key
    assert list_keys(client, bucket) == ["pre/gpx_files/existing.gpx"]
    assert storage.read("gpx_files/existing.gpx") == sent
    small = storage.open_writer("gpx_files/small.gpx")
    small.write(b"<gpx/>")
    small.commit("gpx_files/other.gpx")
    assert storage.read("gpx_files/other.gpx") == b"<gpx/>"
    dropped = storage.open_writer("gpx_files/dropped.gpx")
    for block in _blocks(11 * MiB):
        dropped.write(block)
    dropped.abort()
    dropped.abort()
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "pre/gpx_files/dropped.gpx" not in list_keys(client, bucket)


def test_missing_object_is_file_not_found(s3_server: S3Server, bucket: str) -> None:
    storage = _store(s3_server.url, bucket)
    with pytest.raises(FileNotFoundError):
        storage.read("gpx_files/nope.gpx")
    with pytest.raises(FileNotFoundError):
        storage.open_reader("gpx_files/nope.gpx")


def test_an_unreachable_or_silent_store_is_a_storage_error(bucket: str) -> None:
    closed = _store(f"http://127.0.0.1:{free_port()}", bucket, s3_max_attempts=2)
    with pytest.raises(StorageError):
        closed.read("gpx_files/a.gpx")
    writer = closed.open_writer("gpx_files/a.gpx")
    writer.write(b"<gpx/>")
    with pytest.raises(StorageError):
        writer.commit("gpx_files/a.gpx")
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        slow = _store(
            f"http://127.0.0.1:{silent.getsockname()[1]}",
            bucket,
            s3_read_timeout_s=0.3,
            s3_max_attempts=2,
        )
        with pytest.raises(StorageError):
            slow.read("gpx_files/a.gpx")
