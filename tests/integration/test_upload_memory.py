"""The API streams uploads to storage: its memory does not grow with the size of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from contravento.config import Settings
from tests.integration.celery_stack import queue_only_env, redis_db  # noqa: F401
from tests.integration.conftest import both_stores
from tests.integration.stores import everything, originals
from tests.live import ApiServer, Client
from tests.support import tiny_gpx

pytestmark = pytest.mark.slow


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _big_gpx(size_mb: int) -> bytes:
    point = '<trkpt lat="40.{i:06d}" lon="-3.7"><ele>650</ele></trkpt>\n'
    body = "".join(point.format(i=i % 1_000_000) for i in range(size_mb * 1_000_000 // 50))
    return f'<gpx version="1.1"><trk><trkseg>{body}</trkseg></trk></gpx>'.encode()


@both_stores
def test_api_memory_stays_flat_while_a_40_mb_upload_streams_in(
    tmp_path: Path,
    redis_db: int,  # noqa: F811
    storage_settings: dict[str, str],
) -> None:
    """Locally the body goes to a temp file; to S3 as a multipart upload of which at most one
    part (S3_PART_SIZE_MB, 8 MiB) is in memory, and nothing touches the API's disk."""
    store = Settings(storage_dir=tmp_path / "storage", **storage_settings)  # type: ignore[arg-type]
    env = queue_only_env(  # nothing is processed inside the API: we measure ingestion only
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", redis_db, **storage_settings
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip = client.trip(headers)
        assert client.upload(headers, trip, tiny_gpx(seed="warm")).status_code == 202
        data = _big_gpx(40)
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # peak mark := current RSS
        before = _peak_rss_mib(server.pid)
        r = client.upload(headers, trip, data)
        after = _peak_rss_mib(server.pid)
        print(f"API peak RSS {before:.1f} -> {after:.1f} MiB for a {len(data) >> 20} MiB upload")
        assert r.status_code == 202 and r.json()["processing_mode"] == "celery", r.text
        [key] = [k for k in originals(store) if r.json()["gpx_file_id"] in k]
        assert len(everything(store)) == 2  # the two uploads, nothing unfinished
        if store.storage_backend == "local":
            assert (tmp_path / "storage" / key).stat().st_size == len(data)
        else:
            local = [p for p in (tmp_path / "storage").rglob("*") if p.is_file()]
            assert local == [], local  # the API's disk holds nothing of it
        assert after - before < 20, (
            f"API peak RSS grew {after - before:.1f} MiB for {len(data) >> 20} MiB"
        )
    finally:
        server.kill()
