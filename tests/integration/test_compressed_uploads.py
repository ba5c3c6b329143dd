"""Gzip uploads through real HTTP: a `.gpx.gz` is stored as sent and processed; a gzip bomb
is refused with 413 while it streams in, with the API's memory flat; a damaged one with 422;
nothing stays stored after a refusal. A worker refuses a bomb the API let through."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from contravento.config import Settings
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.conftest import api_for, both_stores, make_settings
from tests.integration.stores import everything, originals
from tests.live import ApiServer, Client, service_env
from tests.support import sample

pytestmark = pytest.mark.slow

RIDE = "strava-ride-power-hr-cad.gpx"


def _bomb(mib: int, head: bytes = b"", fill: bytes = b"\x00") -> bytes:
    """About 1 KB of gzip per MiB of `fill` after `head`, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = fill * (1 << 20)
    parts = [packer.compress(head), *(packer.compress(block) for _ in range(mib))]
    return b"".join([*parts, packer.flush()])


# what a worker meets: a GPX by its first bytes (the sniffing passes), then 512 MiB of blanks
GPX_BOMB_HEAD = (
    b'<?xml version="1.0"?>\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _reset_peak(pid: int) -> float:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak mark := current RSS
    return _peak_rss_mib(pid)


class Live:
    def __init__(self, tmp: Path) -> None:
        self.store = Settings(storage_dir=tmp / "storage")
        env = service_env(
            database_url=f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}",
            storage_dir=tmp / "storage",
            celery_enabled="false",
            gpx_max_inflated_mb=200,
            log_level="WARNING",
        )
        self.server = ApiServer(env, tmp / "api.log")
        self.client = Client(self.server.url)
        self.headers = self.client.signup()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    value = Live(tmp_path_factory.mktemp("gz"))
    yield value
    value.server.kill()


def test_a_gpx_gz_is_stored_as_sent_and_processed_like_the_plain_file(live: Live) -> None:
    client, headers = live.client, live.headers
    plain, packed = sample(RIDE), gzip.compress(sample(RIDE))
    done = {}
    for name, data in (("ride.gpx", plain), ("ride.gpx.gz", packed)):
        trip = client.trip(headers)  # a trip each: the same ride twice in one is a duplicate
        r = client.upload(headers, trip, data, name=name)
        assert r.status_code == 202, r.text
        done[name] = client.wait_done(headers, r.json()["gpx_file_id"])
        assert done[name]["processing_status"] == "completed", done[name]
        got = client.http.get(f"/gpx/{r.json()['gpx_file_id']}/download", headers=headers)
        assert got.content == data  # the original exactly as uploaded
    assert done["ride.gpx.gz"]["format"] == "gpx"
    assert done["ride.gpx.gz"]["compression"] == "gzip"
    assert done["ride.gpx"]["compression"] is None
    assert done["ride.gpx.gz"]["stats"] == done["ride.gpx"]["stats"]


def test_a_gzip_bomb_is_refused_while_streaming_with_the_api_memory_flat(live: Live) -> None:
    client, headers = live.client, live.headers
    trip = client.trip(headers)
    bomb = _bomb(1024)  # 1 GiB of zeros
    assert len(bomb) < 1_100_000
    before_keys = everything(live.store)
    # warm-up: the same path once, so its one-off allocations are not counted below
    small = client.upload(headers, trip, _bomb(300), name="warm.gpx.gz")
    assert small.status_code == 413, small.text
    before = _reset_peak(live.server.pid)
    r = client.upload(headers, trip, bomb, name="bomba.gpx.gz")
    after = _peak_rss_mib(live.server.pid)
    print(f"API peak RSS {before:.1f} -> {after:.1f} MiB for a {len(bomb) >> 10} KiB gzip bomb")
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["code"] == "GZIP_TOO_LARGE"
    assert "descomprimirlo" in error["message"] and "200 MB" in error["message"]
    assert after - before < 48, f"API peak RSS grew {after - before:.1f} MiB"
    assert client.http.get(f"/trips/{trip}/gpx", headers=headers).json() == []
    assert everything(live.store) == before_keys  # nothing of the refused uploads stays


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d[:10] + b"\xff" * 64 + d[74:], id="damaged-deflate"),
        pytest.param(lambda d: d[:-8] + bytes(8), id="bad-trailer"),
    ],
)
def test_a_corrupt_gzip_is_422_and_leaves_nothing(live: Live, damage: object) -> None:
    client, headers = live.client, live.headers
    trip = client.trip(headers)
    before_keys = everything(live.store)
    data = damage(gzip.compress(sample(RIDE)))  # type: ignore[operator]
    r = client.upload(headers, trip, data, name="roto.gpx.gz")
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "GZIP_CORRUPT"
    assert "dañado" in r.json()["error"]["message"]
    assert client.http.get(f"/trips/{trip}/gpx", headers=headers).json() == []
    assert everything(live.store) == before_keys


@both_stores
async def test_refused_gzip_uploads_leave_nothing_in_either_store(
    tmp_path: Path, storage_settings: dict[str, str]
) -> None:
    """Partly written originals (a temp file, an S3 multipart upload) are dropped."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    settings = make_settings(url, tmp_path, auto_migrate=True, gpx_max_inflated_mb=8)
    settings = settings.model_copy(update=storage_settings)
    async with api_for(settings) as api:
        headers = await api.signup()
        trip = await api.trip(headers)
        r = await api.upload(headers, trip, _bomb(64), filename="b.gpx.gz")
        assert r.status_code == 413 and r.json()["error"]["code"] == "GZIP_TOO_LARGE", r.text
        assert "8 MB" in r.json()["error"]["message"]
        r = await api.upload(headers, trip, gzip.compress(sample(RIDE))[:-9], filename="c.gz")
        assert r.status_code == 422 and r.json()["error"]["code"] == "GZIP_CORRUPT", r.text
        assert everything(settings) == []
        ok = await api.upload(headers, trip, gzip.compress(sample(RIDE)), filename="d.gpx.gz")
        assert ok.status_code == 202, ok.text
        assert (await api.wait_done(headers, ok.json()["gpx_file_id"]))[
            "processing_status"
        ] == "completed"
        assert len(originals(settings)) == 1


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, pg_database, redis_db, celery_force="true")
    yield value
    value.close()


def test_a_worker_refuses_a_bomb_the_api_let_through_as_a_failed_job(stack: Stack) -> None:
    """The worker's cap is its own: a bomb past it fails the job with GZIP_TOO_LARGE at
    once (no retry), and the pool process holds none of what it inflates (128 MiB before the
    cap is reached)."""
    worker = stack.start_worker("gz1", gpx_max_inflated_mb=128)
    client = stack.start_api(gpx_max_inflated_mb=4096)
    headers = client.signup()
    trip = client.trip(headers)
    warm = client.upload(headers, trip, gzip.compress(sample(RIDE)), name="warm.gpx.gz")
    assert client.wait_done(headers, warm.json()["gpx_file_id"])["processing_status"] == (
        "completed"
    )
    [pool_pid] = worker.pool_pids()
    before = _reset_peak(pool_pid)
    r = client.upload(headers, trip, _bomb(512, GPX_BOMB_HEAD, b" "), name="bomba.gpx.gz")
    assert r.status_code == 202 and r.json()["processing_mode"] == "celery", r.text
    done = client.wait_done(headers, r.json()["gpx_file_id"])
    after = _peak_rss_mib(pool_pid)
    print(f"worker pool peak RSS {before:.1f} -> {after:.1f} MiB for a 512 MiB gzip bomb")
    assert done["processing_status"] == "failed", done
    assert done["error_code"] == "GZIP_TOO_LARGE" and done["attempts"] == 1, done
    assert "descomprimirlo" in done["error_message"]
    assert after - before < 48, f"worker peak RSS grew {after - before:.1f} MiB"
