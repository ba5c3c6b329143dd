"""Bulk imports through real HTTP (uvicorn) on SQLite and PostgreSQL, expanded in-process:
a Strava-export-shaped zip, broken members, a zip bomb, zip-slip names, archive-level limits,
owner-only reads. (With a real Celery worker: test_imports_celery.py.)"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contravento.db.migrate import upgrade
from tests import archives
from tests.integration.conftest import api_for, make_settings
from tests.live import ApiServer, Client, service_env
from tests.support import sample, tiny_gpx

MAX_MEMBERS = 40  # the servers' ARCHIVE_MAX_MEMBERS here


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, Path]]:
    tmp = tmp_path_factory.mktemp(f"imports-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'contravento.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_database")
    env = service_env(
        database_url=url,
        storage_dir=tmp / "storage",
        auto_migrate="false",
        celery_enabled="false",
        reconcile_interval_s=1,
        max_pending_jobs_per_user=1000,
        archive_max_members=MAX_MEMBERS,
        log_level="WARNING",
    )
    api = ApiServer(env, tmp / "api.log")
    try:
        yield Client(api.url), tmp / "storage"
    finally:
        api.kill()


def wait_import(
    client: Client, headers: dict[str, str], import_id: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.http.get(f"/imports/{import_id}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("completed", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def upload_zip(client: Client, headers: dict[str, str], trip: str, data: bytes) -> dict[str, Any]:
    r = client.upload(headers, trip, data, name="export.zip")
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    assert body["import_id"] == body["gpx_file_id"]
    assert body["status_url"] == f"/imports/{body['import_id']}"
    assert r.headers["location"] == body["status_url"]
    return body


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_strava_export_becomes_a_file_and_job_per_activity(server: tuple[Client, Path]) -> None:
    client, _storage = server
    headers = client.signup()
    trip = client.trip(headers)
    data, expected = archives.strava_export()
    sent = upload_zip(client, headers, trip, data)
    report = wait_import(client, headers, sent["import_id"])
    assert report["status"] == "completed", report
    assert report["id"] == sent["import_id"] and report["trip_id"] == trip
    assert report["members_found"] == len(expected)
    created, skipped = by_name(report["created"]), by_name(report["skipped"])
    assert set(created) == {n for n, want in expected.items() if want == "created"}
    assert {n: s["reason_code"] for n, s in skipped.items()} == {
        n: want for n, want in expected.items() if want != "created"
    }
    assert all("actividad" in s["reason"] for s in skipped.values())  # Spanish, per member

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, item in created.items():
            done = client.wait_done(headers, item["gpx_file_id"])
            assert done["trip_id"] == trip
            assert done["original_filename"] == name.rsplit("/", 1)[-1]
            original = client.http.get(f"/gpx/{item['gpx_file_id']}/download", headers=headers)
            assert original.content == archive.read(name)  # stored exactly as in the zip
            if name.endswith(".fit"):  # a FIT member is a file of its own; its job judges it
                assert done["format"] == "fit", done
            else:
                assert done["processing_status"] == "completed", done
                assert done["format"] == "gpx" and done["stats"]["distance_km"] > 0
    gz = client.status(headers, created["export_4471/activities/2000.gpx.gz"]["gpx_file_id"])
    assert gz["compression"] == "gzip"

    # the archive is no stage: not listed, not counted
    listed = client.http.get(f"/trips/{trip}/gpx", headers=headers).json()
    assert {f["gpx_file_id"] for f in listed} == {c["gpx_file_id"] for c in created.values()}
    completed = [f for f in listed if f["processing_status"] == "completed"]
    totals = client.http.get(f"/trips/{trip}", headers=headers).json()["totals"]
    assert totals["stage_count"] == len(completed) == 5
    page = client.http.get("/trips", headers=headers).json()
    mine = next(t for t in page["items"] if t["id"] == trip)
    assert mine["stage_count"] == 5

    # the same zip again: the same import (a duplicate), no second expansion
    again = client.upload(headers, trip, data, name="otra-vez.zip")
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["import_id"] == sent["import_id"]
    # the same activities in another zip of the trip: skipped as duplicates
    other = archives.build_zip([("x/1000.gpx", archive_member(data, "1000.gpx"))])
    second = wait_import(client, headers, upload_zip(client, headers, trip, other)["import_id"])
    assert second["status"] == "completed" and second["created"] == []
    assert [s["reason_code"] for s in second["skipped"]] == ["MEMBER_DUPLICATE"]


def archive_member(data: bytes, suffix: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(suffix))
        return archive.read(name)


def test_broken_members_never_stop_the_others(server: tuple[Client, Path]) -> None:
    client, _storage = server
    headers = client.signup()
    trip = client.trip(headers)
    report = wait_import(
        client,
        headers,
        upload_zip(client, headers, trip, archives.with_broken_members())["import_id"],
    )
    assert report["status"] == "completed", report
    assert report["members_found"] == 4
    skipped = by_name(report["skipped"])
    assert skipped["a/damaged.gpx"]["reason_code"] == "MEMBER_CORRUPT"
    assert "dañado" in skipped["a/damaged.gpx"]["reason"]
    created = by_name(report["created"])
    assert set(created) == {"a/ok-1.gpx", "a/ok-2.gpx", "a/truncated.gpx"}
    for name in ("a/ok-1.gpx", "a/ok-2.gpx"):
        assert client.wait_done(headers, created[name]["gpx_file_id"])["processing_status"] == (
            "completed"
        )
    truncated = client.wait_done(headers, created["a/truncated.gpx"]["gpx_file_id"])
    assert truncated["processing_status"] == "failed"
    assert truncated["error_code"] == "GPX_MALFORMED"  # its own job, its own error


def test_zip_bomb_member_is_skipped_and_its_neighbour_imported(server: tuple[Client, Path]) -> None:
    client, _storage = server
    headers = client.signup()
    trip = client.trip(headers)
    bomb = archives.zip_bomb(40)
    report = wait_import(client, headers, upload_zip(client, headers, trip, bomb)["import_id"])
    assert report["status"] == "completed", report
    assert [(s["name"], s["reason_code"]) for s in report["skipped"]] == [
        ("bomb.gpx", "MEMBER_SUSPICIOUS_RATIO")
    ]
    assert [c["name"] for c in report["created"]] == ["real.gpx"]
    done = client.wait_done(headers, report["created"][0]["gpx_file_id"])
    assert done["processing_status"] == "completed"


def test_zip_slip_names_are_shown_never_used_as_paths(server: tuple[Client, Path]) -> None:
    client, storage = server
    headers = client.signup()
    trip = client.trip(headers)
    data, names = archives.zip_slip()
    report = wait_import(client, headers, upload_zip(client, headers, trip, data)["import_id"])
    assert report["status"] == "completed", report
    shown = [c["name"] for c in report["created"]]
    assert shown == [n.replace("\\", "/") for n in names]
    for item in report["created"]:
        done = client.wait_done(headers, item["gpx_file_id"])
        assert done["processing_status"] == "completed"
        assert done["original_filename"].startswith("contravento-zip-slip-")
        assert "/" not in done["original_filename"] and ".." not in done["original_filename"]
    stored = [p for p in storage.rglob("*") if p.is_file()]
    assert stored and all(p.relative_to(storage).parts[0] == "gpx_files" for p in stored)
    assert not any("zip-slip" in p.name for p in stored)  # our keys, never their names
    for root in (Path("/tmp"), Path("/etc"), storage.parent, storage.parent.parent):
        assert not list(root.glob("contravento-zip-slip-*")), root


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("overlap", "ARCHIVE_OVERLAPPING_MEMBERS", "bomba zip"),
        ("many", "ARCHIVE_TOO_MANY_MEMBERS", f"el máximo es {MAX_MEMBERS}"),
        ("corrupt", "ARCHIVE_CORRUPT", "dañado"),
    ],
)
def test_archive_level_limits_fail_the_import(
    server: tuple[Client, Path], kind: str, code: str, words: str
) -> None:
    client, _storage = server
    headers = client.signup()
    trip = client.trip(headers)
    if kind == "overlap":
        data = archives.overlapping(20)
    elif kind == "many":
        data = archives.build_zip([(f"f{i}.csv", b"x") for i in range(MAX_MEMBERS + 1)])
    else:  # a zip's first bytes, then nothing a zip reader can use
        data = archives.build_zip([("r.gpx", tiny_gpx(30, seed="cut"))])[:60]
    report = wait_import(client, headers, upload_zip(client, headers, trip, data)["import_id"])
    assert report["status"] == "failed", report
    assert report["error_code"] == code
    assert words in report["error_message"]
    assert report["created"] == []
    status = client.status(headers, report["id"])  # the archive's job, as any job
    assert status["processing_status"] == "failed" and status["error_code"] == code
    assert status["format"] == "zip" and status["attempts"] == 1  # never retried


def test_imports_are_owner_only(server: tuple[Client, Path]) -> None:
    client, _storage = server
    ana = client.signup()
    trip = client.trip(ana)
    data = archives.build_zip([("r.gpx", tiny_gpx(30, seed="owner"))])
    import_id = upload_zip(client, ana, trip, data)["import_id"]
    assert wait_import(client, ana, import_id)["status"] == "completed"
    luis = client.signup()
    for who, path in ((luis, f"/imports/{import_id}"), (ana, "/imports/not-a-uuid")):
        r = client.http.get(path, headers=who)
        assert r.status_code == 404 and r.json()["error"]["code"] == "IMPORT_NOT_FOUND", r.text
    plain = client.upload(ana, trip, tiny_gpx(33, seed="plain")).json()
    assert "import_id" not in plain or plain["import_id"] is None
    r = client.http.get(f"/imports/{plain['gpx_file_id']}", headers=ana)
    assert r.status_code == 404  # a file that is no archive
    assert client.http.get(f"/imports/{import_id}").status_code == 401


async def test_an_archive_has_its_own_upload_limit(database_url: str, tmp_path: Path) -> None:
    """ARCHIVE_MAX_UPLOAD_MB for a body whose first bytes are a zip; GPX_MAX_UPLOAD_MB for any
    other, enforced while streaming either way."""
    settings = make_settings(
        database_url, tmp_path, gpx_max_upload_mb=0.05, archive_max_upload_mb=1
    )
    gpx = sample("garmin-gpsmap64s-hike-two-segments.gpx")  # 589 KB
    async with api_for(settings) as api:
        headers = await api.signup()
        trip = await api.trip(headers)
        refused = await api.upload(headers, trip, gpx)
        assert refused.status_code == 413 and "0.05 MB" in refused.json()["error"]["message"]
        stored = archives.build_zip([("a.gpx", gpx)], method=zipfile.ZIP_STORED)  # 589 KB
        ok = await api.upload(headers, trip, stored, filename="a.zip")
        assert ok.status_code == 202, ok.text
        too_big = archives.build_zip(
            [("a.gpx", gpx), ("b.gpx", sample("osmand-hike-recording-long.gpx"))],
            method=zipfile.ZIP_STORED,
        )
        r = await api.upload(headers, trip, too_big, filename="b.zip")
        assert r.status_code == 413 and r.json()["error"]["code"] == "GPX_TOO_LARGE"
        assert "1 MB" in r.json()["error"]["message"]
        await api.app.state.dispatcher.drain()
        report = (
            await api.client.get(f"/imports/{ok.json()['import_id']}", headers=headers)
        ).json()
        assert report["status"] == "completed"
        # a member beyond GPX_MAX_UPLOAD_MB is still within ARCHIVE_MAX_MEMBER_MB (50): created
        assert [c["name"] for c in report["created"]] == ["a.gpx"]
