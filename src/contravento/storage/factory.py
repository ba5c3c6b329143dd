"""The one place that turns settings into a storage backend."""

from __future__ import annotations

import boto3

from ..config import Settings
from .base import Storage
from .local import LocalStorage
from .s3 import S3Storage, client_config


def build_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "local":
        return LocalStorage(settings.storage_dir)
    endpoint = settings.s3_endpoint_url or None
    config = client_config(
        connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_read_timeout_s,
        max_attempts=settings.s3_max_attempts,
        path_style=endpoint is not None,
    )
    # Credentials: boto3's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile,
    # the instance or pod role); none of them is a setting of ours.
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=settings.s3_region, config=config
    )
    return S3Storage(
        client,
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        part_bytes=int(settings.s3_part_size_mb * 1024 * 1024),
    )
