"""Settings -> storage backend: the factory's choices, and what refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contravento.config import Settings
from contravento.storage import LocalStorage, S3Storage, build_storage


def test_local_is_the_default(tmp_path: Path) -> None:
    storage = build_storage(Settings(storage_dir=tmp_path / "s"))
    assert isinstance(storage, LocalStorage) and (tmp_path / "s" / "tmp").is_dir()


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_s3_without_a_bucket_refuses_to_start(app_env: str) -> None:
    with pytest.raises(ValidationError, match="S3_BUCKET"):
        Settings(app_env=app_env, secret_key="x" * 40, metrics_token="m" * 40, storage_backend="s3")


def test_s3_settings_reach_the_client() -> None:
    storage = build_storage(
        Settings(
            storage_backend="s3",
            s3_bucket="originals",
            s3_endpoint_url="http://minio:9000",
            s3_region="eu-west-3",
            s3_prefix="/prod/",
            s3_connect_timeout_s=1.5,
            s3_read_timeout_s=4,
            s3_max_attempts=2,
            s3_part_size_mb=6,
        )
    )
    assert isinstance(storage, S3Storage)
    assert storage.bucket == "originals" and storage.prefix == "prod/"
    assert storage.name("gpx_files/a.gpx") == "prod/gpx_files/a.gpx"
    assert storage.part_bytes == 6 * 1024 * 1024
    config = storage.client.meta.config
    assert storage.client.meta.endpoint_url == "http://minio:9000"
    assert storage.client.meta.region_name == "eu-west-3"
    assert config.s3 == {"addressing_style": "path"}  # an endpoint: path-style addressing
    assert (config.connect_timeout, config.read_timeout) == (1.5, 4)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_aws_uses_its_default_addressing() -> None:
    storage = build_storage(Settings(storage_backend="s3", s3_bucket="originals"))
    assert isinstance(storage, S3Storage)
    assert storage.client.meta.config.s3 is None and storage.prefix == ""


def test_parts_below_the_s3_minimum_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(storage_backend="s3", s3_bucket="b", s3_part_size_mb=4)
