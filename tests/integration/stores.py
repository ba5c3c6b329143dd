"""What a backend really holds, seen from outside the service: the directory itself, or the
bucket through a boto3 client of the test's own (never through the code under test)."""

from __future__ import annotations

from typing import Any

import boto3

from contravento.config import Settings
from tests.s3_server import list_keys


def _bucket(settings: Settings) -> tuple[Any, str, str]:
    client = boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region
    )
    prefix = settings.s3_prefix.strip("/") + "/" if settings.s3_prefix else ""
    return client, settings.s3_bucket, prefix


def originals(settings: Settings) -> list[str]:
    """The keys of the stored originals (gpx_files/...), whichever the backend."""
    if settings.storage_backend == "local":
        root = settings.storage_dir.resolve()
        return sorted(
            p.relative_to(root).as_posix() for p in (root / "gpx_files").rglob("*") if p.is_file()
        )
    client, bucket, prefix = _bucket(settings)
    return sorted(k.removeprefix(prefix) for k in list_keys(client, bucket, prefix + "gpx_files/"))


def everything(settings: Settings) -> list[str]:
    """Every file or object the backend holds, temporary ones and unfinished uploads included."""
    if settings.storage_backend == "local":
        root = settings.storage_dir.resolve()
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    client, bucket, _prefix = _bucket(settings)  # the whole bucket, prefix or not
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted(list_keys(client, bucket) + [f"multipart:{u['Key']}" for u in uploads])


def remove_originals(settings: Settings) -> None:
    """Lose every original on our side (the store's fault, not the cyclist's)."""
    if settings.storage_backend == "local":
        for path in (settings.storage_dir / "gpx_files").rglob("*.gpx"):
            path.unlink()
        return
    client, bucket, prefix = _bucket(settings)
    for key in list_keys(client, bucket, prefix + "gpx_files/"):
        client.delete_object(Bucket=bucket, Key=key)
