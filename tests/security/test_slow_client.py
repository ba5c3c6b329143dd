"""A client that stops mid-upload (over a real socket) leaves no row and no file behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.live import ApiServer, Client, service_env

pytestmark = pytest.mark.slow


def test_client_that_vanishes_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    env = service_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        storage_dir=storage,
        celery_enabled="false",
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip_id = client.trip(headers)
        boundary = "cut"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.gpx"\r\n'
            'Content-Type: application/gpx+xml\r\n\r\n<?xml version="1.0"?><gpx version="1.1">'
        ).encode()
        declared = len(head) + 2_000_000
        request = (
            f"POST /trips/{trip_id}/gpx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers['Authorization']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request + head)
            for _ in range(20):  # a slow trickle, then the client disappears
                sock.sendall(b"<trk>" + b" " * 10_000)
                time.sleep(0.02)
            time.sleep(0.3)
            partial = list((storage / "tmp").glob("*.part"))
            assert partial, "the upload should be streaming into a temp file"
        deadline = time.monotonic() + 10
        while list((storage / "tmp").glob("*.part")):
            assert time.monotonic() < deadline, "temp file left behind"
            time.sleep(0.1)
        assert client.http.get(f"/trips/{trip_id}/gpx", headers=headers).json() == []
        assert [p for p in storage.rglob("*") if p.is_file()] == []
        assert client.http.get("/health").status_code == 200
    finally:
        server.kill()


def test_client_that_stalls_without_closing_gets_408_and_leaves_nothing(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    env = service_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        storage_dir=storage,
        celery_enabled="false",
        upload_idle_timeout_s=1,
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip_id = client.trip(headers)
        head = (
            b'--cut\r\nContent-Disposition: form-data; name="file"; filename="r.gpx"\r\n\r\n'
            b'<?xml version="1.0"?><gpx version="1.1"><trk>'
        )
        request = (
            f"POST /trips/{trip_id}/gpx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers['Authorization']}\r\n"
            "Content-Type: multipart/form-data; boundary=cut\r\n"
            f"Content-Length: {len(head) + 1_000_000}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            sock.sendall(request + head)  # ... and then nothing, with the socket left open
            reply = ""
            while "UPLOAD_TIMEOUT" not in reply:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data.decode(errors="replace")
        assert reply.startswith("HTTP/1.1 408"), reply[:200]
        assert "UPLOAD_TIMEOUT" in reply
        assert list((storage / "tmp").glob("*.part")) == []
        assert client.http.get(f"/trips/{trip_id}/gpx", headers=headers).json() == []
    finally:
        server.kill()
