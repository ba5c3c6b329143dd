"""Originals in an S3-protocol object store (AWS S3, MinIO, R2, Ceph RGW, GCS interop), via boto3.

A writer keeps at most one part in memory: a body smaller than a part is one PutObject at
commit; a larger one becomes a multipart upload, completed and then confirmed (HeadObject) before
commit returns. Abort drops the multipart upload. Every botocore failure becomes a StorageError
(an OSError, so the callers' transient-error rules apply), a missing object FileNotFoundError.
Timeouts and retries are bounded by the client's Config (see `client_config`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import CHUNK_BYTES, StorageError, StoredObject
from .keys import checked_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = structlog.get_logger("contravento.storage")

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last)
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def client_config(
    *, connect_timeout_s: float, read_timeout_s: float, max_attempts: int, path_style: bool
) -> Config:
    return Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        s3={"addressing_style": "path"} if path_style else None,
    )


@contextlib.contextmanager
def _translated(operation: str, key: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            raise FileNotFoundError(f"no object {key!r}") from exc
        raise StorageError(f"S3 {operation} {key!r} failed: {code or exc}") from exc
    except BotoCoreError as exc:  # endpoint unreachable, timeouts, a cut stream
        raise StorageError(f"S3 {operation} {key!r} failed: {exc}") from exc


class S3Writer:
    def __init__(self, storage: S3Storage, key: str) -> None:
        self._storage = storage
        self._key = key  # where the multipart upload, if any, is created
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self._open = True

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        assert self._open, "write after commit or abort"
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) >= self._storage.part_bytes:
            self._send_part()

    def _send_part(self) -> None:
        s3, bucket, name = self._storage.client, self._storage.bucket, self._storage.name(self._key)
        if self._upload_id is None:
            with _translated("CreateMultipartUpload", self._key):
                self._upload_id = s3.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]
        number = len(self._parts) + 1
        with _translated("UploadPart", self._key):
            answer = s3.upload_part(
                Bucket=bucket,
                Key=name,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=self._buffer,  # type: ignore[arg-type]  # bytes-like: sent without a copy
            )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self._buffer = bytearray()

    def commit(self, key: str) -> None:
        assert self._open, "commit after commit or abort"
        s3, bucket = self._storage.client, self._storage.bucket
        if self._upload_id is None:  # small: one request, stored once it answers
            with _translated("PutObject", key):
                s3.put_object(Bucket=bucket, Key=self._storage.name(key), Body=self._buffer)  # type: ignore[arg-type]
            self._open, self._buffer = False, bytearray()
            return
        if self._buffer:
            self._send_part()
        with _translated("CompleteMultipartUpload", self._key):
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=self._storage.name(self._key),
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
            )
        self._open = False
        if key != self._key:  # committed elsewhere than announced (a re-upload): move it
            self._storage.copy(self._key, key)
            self._storage.delete(self._key)
        self._storage.confirm(key, self._size)

    def abort(self) -> None:
        if not self._open:
            return
        self._open, self._buffer = False, bytearray()
        if self._upload_id is not None:
            try:
                with _translated("AbortMultipartUpload", self._key):
                    self._storage.client.abort_multipart_upload(
                        Bucket=self._storage.bucket,
                        Key=self._storage.name(self._key),
                        UploadId=self._upload_id,
                    )
            except (StorageError, FileNotFoundError) as exc:  # the orphan sweep aborts it later
                log.warning("s3_abort_failed", key=self._key, error=str(exc))


class S3Reader:
    def __init__(self, body: Any, size: int, key: str) -> None:
        self._body, self.size, self._key = body, size, key

    def __iter__(self) -> Iterator[bytes]:
        try:
            with _translated("GetObject", self._key):
                yield from self._body.iter_chunks(CHUNK_BYTES)
        finally:
            self.close()

    def close(self) -> None:
        self._body.close()


class S3Storage:
    def __init__(
        self, client: S3Client, *, bucket: str, prefix: str = "", part_bytes: int = MIN_PART_BYTES
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_bytes = max(part_bytes, MIN_PART_BYTES)

    def name(self, key: str) -> str:
        """The object's name in the bucket: the prefix, then the key."""
        return self.prefix + checked_key(key)

    def open_writer(self, key: str) -> S3Writer:
        checked_key(key)
        return S3Writer(self, key)

    def open_reader(self, key: str) -> S3Reader:
        with _translated("GetObject", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.name(key))
        return S3Reader(answer["Body"], int(answer["ContentLength"]), key)

    def read(self, key: str) -> bytes:
        with _translated("GetObject", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.name(key))
            return answer["Body"].read()

    def delete(self, key: str) -> None:
        with _translated("DeleteObject", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.name(key))

    def copy(self, source: str, target: str) -> None:
        with _translated("CopyObject", target):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self.name(target),
                CopySource={"Bucket": self.bucket, "Key": self.name(source)},
            )

    def confirm(self, key: str, size: int) -> None:
        """The object is there, whole: HeadObject answers with the size that was written."""
        with _translated("HeadObject", key):
            stored = self.client.head_object(Bucket=self.bucket, Key=self.name(key))
        if int(stored["ContentLength"]) != size:
            raise StorageError(f"S3 object {key!r} has {stored['ContentLength']} bytes, not {size}")

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2")
        with _translated("ListObjectsV2", prefix):
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    yield StoredObject(key, item["LastModified"])

    def remove_stale_uploads(self, older_than: datetime) -> int:
        removed = 0
        pages = self.client.get_paginator("list_multipart_uploads")
        with _translated("ListMultipartUploads", self.prefix):
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < older_than:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        removed += 1
        return removed
