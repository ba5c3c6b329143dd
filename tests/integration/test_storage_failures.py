"""A store that is down or silent at upload: 503 SERVICE_UNAVAILABLE, nothing half-stored."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from contravento.services import uploads
from tests.integration.conftest import Api, api_for, both_stores, make_settings
from tests.integration.stores import everything
from tests.live import free_port
from tests.s3_server import S3Server
from tests.support import tiny_gpx

MiB = 1024 * 1024


def _big_gpx(mib: int) -> bytes:
    row = b'<trkpt lat="40.1" lon="-3.7"><ele>650</ele></trkpt>\n'
    return (
        b'<gpx version="1.1"><trk><trkseg>'
        + row * (mib * MiB // len(row))
        + b"</trkseg></trk></gpx>"
    )


def _assert_unavailable(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and "no está disponible" in error["message"]


async def test_s3_stopped_mid_run_is_503_and_stores_nothing(
    pg_database: str,
    tmp_path: Path,
    s3_server: S3Server,  # the run's server sets the AWS_* credentials
) -> None:
    own = S3Server(tmp_path / "moto.log")  # a server of this test's own, to stop
    try:
        bucket = own.create_bucket(f"cv-{uuid.uuid4().hex[:20]}")
        settings = make_settings(
            pg_database, tmp_path, storage_backend="s3", s3_bucket=bucket,
            s3_endpoint_url=own.url, s3_max_attempts=2, s3_connect_timeout_s=0.5,
        )  # fmt: skip
        async with api_for(settings, served=True) as api:
            headers = await api.signup()
            trip_id = await api.trip(headers)
            first = await api.upload(headers, trip_id, tiny_gpx(seed="before"))
            assert first.status_code == 202
            await api.wait_done(headers, first.json()["gpx_file_id"])
            own.stop()
            _assert_unavailable(await api.upload(headers, trip_id, tiny_gpx(seed="small")))
            _assert_unavailable(await api.upload(headers, trip_id, _big_gpx(9)))  # multipart
            listing = (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json()
            assert [f["gpx_file_id"] for f in listing] == [first.json()["gpx_file_id"]]
    finally:
        own.stop()
    assert [p for p in tmp_path.joinpath("storage").rglob("*") if p.is_file()] == []


async def test_silent_s3_is_a_bounded_503(pg_database: str, tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        settings = make_settings(
            pg_database, tmp_path, storage_backend="s3", s3_bucket="cv-silent",
            s3_endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            s3_read_timeout_s=0.3, s3_max_attempts=2,
        )  # fmt: skip
        async with api_for(settings, served=True) as api:
            headers = await api.signup()
            trip_id = await api.trip(headers)
            _assert_unavailable(await api.upload(headers, trip_id, tiny_gpx(seed="silent")))
            assert (await api.client.get(f"/trips/{trip_id}/gpx", headers=headers)).json() == []


async def test_closed_port_is_503(pg_database: str, tmp_path: Path) -> None:
    settings = make_settings(
        pg_database, tmp_path, storage_backend="s3", s3_bucket="cv-closed",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}", s3_max_attempts=2,
    )  # fmt: skip
    async with api_for(settings, served=True) as api:
        headers = await api.signup()
        trip_id = await api.trip(headers)
        _assert_unavailable(await api.upload(headers, trip_id, tiny_gpx(seed="closed")))


@both_stores
async def test_an_upload_whose_row_never_commits_leaves_no_object(
    database_url: str,
    tmp_path: Path,
    storage_settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(database_url, tmp_path, **storage_settings)
    async with api_for(settings, served=True) as api:
        await _row_never_commits(api, monkeypatch)


async def _row_never_commits(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)

    async def database_gone(*_args: object, **_kwargs: object) -> bool:
        raise ConnectionResetError("the database went away before the INSERT committed")

    monkeypatch.setattr(uploads, "insert_if_room", database_gone)
    for data in (tiny_gpx(seed="lost"), _big_gpx(9)):
        _assert_unavailable(await api.upload(headers, trip_id, data))
    assert everything(api.settings) == []
