"""S3 requests per upload, processing, download and delete: by design, and measured.

By design: what ``storage/s3.py`` (the S3 backend, feat-s3) sends for a body of a given size.
A writer receives the upload in blocks of ``FLUSH_BYTES`` (512 KiB, api/upload_stream.py) and
sends a part as soon as ``S3_PART_SIZE_MB`` (default 8 MiB) has gathered: a body smaller than
a part is one PutObject at commit; a larger one is CreateMultipartUpload, one UploadPart per
gathered part (the last one holds the rest), CompleteMultipartUpload, then HeadObject to
confirm the size before the row commits. Processing reads the object once (GetObject; once
more per retried attempt), a download streams it (GetObject), deleting a file or a trip is
one DeleteObject per file, and the hourly orphan sweep lists the originals' prefix
(ListObjectsV2, 1,000 keys a page) and the unfinished multipart uploads.

Measured: when the S3 backend is importable (``contravento.storage.s3``) and ``moto_server``
is installed, the same calls run against a moto_server started here, counted by botocore's
``before-call`` event (one per API call; botocore's retries are not calls).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.live import free_port

MIB = 1024 * 1024
FLUSH_BYTES = 512 * 1024
DEFAULT_PART_BYTES = 8 * MIB
LIST_PAGE = 1000


def upload_by_design(size: int, part_bytes: int = DEFAULT_PART_BYTES) -> Counter[str]:
    """Requests one upload of `size` bytes sends, as S3Writer does with 512 KiB blocks."""
    buffered, parts = 0, 0
    for start in range(0, size, FLUSH_BYTES):
        buffered += min(FLUSH_BYTES, size - start)
        if buffered >= part_bytes:
            parts, buffered = parts + 1, 0
    if parts == 0:
        return Counter(PutObject=1)
    parts += 1 if buffered else 0
    return Counter(CreateMultipartUpload=1, UploadPart=parts, CompleteMultipartUpload=1,
                   HeadObject=1)  # fmt: skip


def by_design(size: int, part_bytes: int = DEFAULT_PART_BYTES) -> dict[str, Counter[str]]:
    return {
        "upload": upload_by_design(size, part_bytes),
        "processing": Counter(GetObject=1),
        "download": Counter(GetObject=1),
        "delete": Counter(DeleteObject=1),
    }


def sweep_by_design(objects: int, unfinished_uploads: int = 0) -> Counter[str]:
    """One orphan sweep over `objects` stored originals (it lists the whole prefix)."""
    return Counter(
        ListObjectsV2=max(1, math.ceil(objects / LIST_PAGE)),
        ListMultipartUploads=max(1, math.ceil(unfinished_uploads / LIST_PAGE)),
    )


def s3_backend() -> Any | None:
    """The product's S3 backend module, once it is part of this tree."""
    if importlib.util.find_spec("contravento.storage.s3") is None:
        return None
    return importlib.import_module("contravento.storage.s3")


def _moto_server() -> str | None:
    found = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    return found if Path(found).exists() else None


@contextlib.contextmanager
def _moto(binary: str) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield _wait_up(proc, f"http://127.0.0.1:{port}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_up(proc: subprocess.Popen[bytes], url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return url
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)


def measure(sizes: list[int], part_bytes: int = DEFAULT_PART_BYTES) -> dict[int, Any] | None:
    """Requests per phase counted against a moto_server; None when it cannot run here."""
    backend, binary = s3_backend(), _moto_server()
    if backend is None or binary is None:
        return None
    import boto3

    with _moto(binary) as url:
        client = boto3.session.Session().client(
            "s3", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="bench", aws_secret_access_key="bench",
        )  # fmt: skip
        client.create_bucket(Bucket="bench")
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[str(model.name)] += 1

        client.meta.events.register("before-call.s3", count)
        storage = backend.S3Storage(client, bucket="bench", part_bytes=part_bytes)
        out: dict[int, Any] = {}
        for size in sizes:
            key = f"gpx_files/2026/12/{size}/{size}.gpx"
            block = b"x" * FLUSH_BYTES
            phases: dict[str, Counter[str]] = {}
            calls.clear()
            writer = storage.open_writer(key)
            for start in range(0, size, FLUSH_BYTES):
                writer.write(block[: min(FLUSH_BYTES, size - start)])
            writer.commit(key)
            phases["upload"], calls = calls, Counter()
            storage.read(key)
            phases["processing"], calls = calls, Counter()
            reader = storage.open_reader(key)
            for _chunk in reader:
                pass
            phases["download"], calls = calls, Counter()
            storage.delete(key)
            phases["delete"], calls = calls, Counter()
            out[size] = phases
        return out
