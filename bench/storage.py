"""boto3 and obstore side by side against one S3 endpoint: a streamed upload and a download.

Run from the repository root: ``python -m bench.storage`` (``--size-mb``, ``--runs``). It starts
a ``moto_server`` (tests/s3_server.py) on loopback and creates a bucket; each measurement runs in
a fresh subprocess (``--one LIB``) so that peak RSS belongs to that library alone:

- **upload**: SIZE MB of random bytes handed over in 512 KiB chunks, as the API's upload stream
  does. boto3 = ``contravento.storage.S3Storage``'s writer (8 MiB parts: CreateMultipartUpload,
  UploadPart one at a time, CompleteMultipartUpload, HeadObject); obstore = ``obstore.open_writer``
  (its buffered writer, 8 MiB buffer, multipart with its own concurrent part uploads);
- **download**: the object read back in 256 KiB chunks (boto3 ``StreamingBody.iter_chunks``
  through ``S3Storage.open_reader``; obstore ``get(...).stream``), bytes checked;
- **wall** s, **CPU** s (user+system of the process, every thread), **peak RSS growth** MiB
  (VmHWM reset before each phase, minus the RSS at that moment).

The server shares the machine, so wall times include moto's own CPU; CPU and RSS are the client's.
Figures only; no assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.domain import machine
from bench.stack import peak_rss_mib, reset_peak_rss
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

CHUNK = 512 * 1024
PART = 8 * 1024 * 1024
LIBRARIES = ("boto3", "obstore")
FIGURES = (("wall_s", "wall s"), ("cpu_s", "CPU s"), ("rss_mib", "peak RSS +MiB"))


class Payload:
    """SIZE bytes as 512 KiB chunks of one random block (nothing else held), and their sha256."""

    def __init__(self, size: int) -> None:
        self.size, self.block = size, os.urandom(CHUNK)
        whole = hashlib.sha256()
        for chunk in self.chunks():
            whole.update(chunk)
        self.digest = whole.digest()

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, self.size, CHUNK):
            yield self.block[: min(CHUNK, self.size - start)]


def _measured(action: Callable[[], None]) -> dict[str, float]:
    pid = os.getpid()
    reset_peak_rss(pid)
    base = peak_rss_mib(pid)
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "rss_mib": peak_rss_mib(pid) - base,
    }


def _boto3(url: str, bucket: str, payload: Payload, key: str) -> dict[str, dict[str, float]]:
    from contravento.config import Settings
    from contravento.storage import build_storage

    os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    settings = Settings(storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=url)
    storage = build_storage(settings)
    digest = hashlib.sha256()

    def upload() -> None:
        writer = storage.open_writer(key)
        for chunk in payload.chunks():
            writer.write(chunk)
        writer.commit(key)

    def download() -> None:
        reader = storage.open_reader(key)
        for chunk in reader:
            digest.update(chunk)

    up, down = _measured(upload), _measured(download)
    assert digest.digest() == payload.digest
    return {"upload": up, "download": down}


def _obstore(url: str, bucket: str, payload: Payload, key: str) -> dict[str, dict[str, float]]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    digest = hashlib.sha256()

    def upload() -> None:
        with obstore.open_writer(store, key, buffer_size=PART) as writer:
            for chunk in payload.chunks():
                writer.write(chunk)

    def download() -> None:
        for chunk in obstore.get(store, key).stream(min_chunk_size=256 * 1024):
            digest.update(chunk)

    up, down = _measured(upload), _measured(download)
    assert digest.digest() == payload.digest
    return {"upload": up, "download": down}


def _one(library: str, url: str, bucket: str, size: int) -> None:
    run = _boto3 if library == "boto3" else _obstore
    print(json.dumps(run(url, bucket, Payload(size), f"bench/{uuid.uuid4()}.bin")))


def _run_child(library: str, server: S3Server, bucket: str, size: int) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.storage", "--one", library, "--url", server.url]
    args += ["--bucket", bucket, "--size-mb", str(size // (1024 * 1024))]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size_mb * 1024 * 1024
    if args.one:
        _one(args.one, args.url, args.bucket, size)
        return
    import boto3
    import obstore

    with tempfile.TemporaryDirectory() as tmp:
        server = S3Server(Path(tmp) / "moto.log")
        try:
            bucket = server.create_bucket(f"bench-{uuid.uuid4().hex[:12]}")
            results: dict[str, list[dict[str, Any]]] = {lib: [] for lib in LIBRARIES}
            for _ in range(args.runs):  # interleaved, so both meet the same machine
                for lib in LIBRARIES:
                    results[lib].append(_run_child(lib, server, bucket, size))
        finally:
            server.stop()
    print(f"Machine: {machine()}")
    print(f"boto3 {boto3.__version__}, obstore {obstore.__version__}; moto_server on loopback")
    print(f"{args.size_mb} MB in {CHUNK // 1024} KiB chunks, median of {args.runs} runs\n")
    print(f"{'phase':<10}{'figure':<22}" + "".join(f"{lib:>12}" for lib in LIBRARIES))
    for phase in ("upload", "download"):
        for figure, label in (
            ("wall_s", "wall s"),
            ("cpu_s", "CPU s"),
            ("rss_mib", "peak RSS +MiB"),
        ):
            cells = [statistics.median(r[phase][figure] for r in results[lib]) for lib in LIBRARIES]
            print(f"{phase:<10}{label:<22}" + "".join(f"{c:>12.2f}" for c in cells))


if __name__ == "__main__":
    main()
