"""Upload abuse: hostile filenames, lying content types, floods of pending jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Api, api_for, make_settings
from tests.support import tiny_gpx

HOSTILE_NAMES = [
    "../../x.gpx",
    "/etc/passwd.gpx",
    "..\\..\\windows\\x.gpx",
    "a\x00b.gpx",
    "x" * 5000 + ".gpx",
    "<script>alert(1)</script>.gpx",
    "ruta\r\nX-Injected: 1.gpx",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
async def test_filenames_never_change_where_files_go(api: Api, name: str) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, tiny_gpx(seed=name[:50]), name)
    if len(name) > 4000:  # a part header beyond python-multipart's 4 KiB limit: refused
        assert r.status_code == 422 and r.json()["error"]["code"] == "GPX_INVALID_FILE"
        assert [p for p in api.settings.storage_dir.rglob("*") if p.is_file()] == []
        return
    assert r.status_code == 202, r.text
    file_id = r.json()["gpx_file_id"]
    await api.wait_done(headers, file_id)
    root = api.settings.storage_dir.resolve()
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert stored[0].name == f"{file_id}.gpx" and stored[0].parent.name == trip_id
    status = (await api.client.get(f"/gpx/{file_id}/status", headers=headers)).json()
    shown = status["original_filename"]
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and len(shown) <= 200
    assert "\n" not in shown and "<" not in shown
    download = await api.client.get(f"/gpx/{file_id}/download", headers=headers)
    assert download.status_code == 200
    assert "\n" not in download.headers["content-disposition"]
    assert not (Path("/etc") / "passwd.gpx").exists()


async def test_lying_content_type_is_judged_by_content(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    files = {"file": ("ruta.gpx", tiny_gpx(seed="ct"), "image/png")}
    r = await api.client.post(f"/trips/{trip_id}/gpx", files=files, headers=headers)
    assert r.status_code == 202
    files = {"file": ("ruta.gpx", b"\x89PNG\r\n\x1a\n\x00\x00", "application/gpx+xml")}
    r = await api.client.post(f"/trips/{trip_id}/gpx", files=files, headers=headers)
    assert r.status_code == 415 and r.json()["error"]["code"] == "GPX_INVALID_FILE_TYPE"


async def test_too_many_pending_jobs_is_429(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_pending_jobs_per_user=3)
    async with api_for(settings) as api:
        # keep jobs pending: no scheduler runs them in this test
        api.app.state.dispatcher.schedule = _no_schedule
        headers = await api.signup()
        trip_id = await api.trip(headers)
        codes = [
            (await api.upload(headers, trip_id, tiny_gpx(seed=f"p{i}"))).status_code
            for i in range(5)
        ]
        assert codes == [202, 202, 202, 429, 429]
        r = await api.upload(headers, trip_id, tiny_gpx(seed="p9"))
        assert r.json()["error"]["code"] == "TOO_MANY_PENDING_UPLOADS"
        assert "pendientes" in r.json()["error"]["message"]
        other = await api.signup()  # the limit is per user
        assert (
            await api.upload(other, await api.trip(other), tiny_gpx(seed="o"))
        ).status_code == 202
        stored = [p for p in settings.storage_dir.rglob("*.gpx")]
        assert len(stored) == 4  # refused uploads leave no file


async def _no_schedule(*_args: object, **_kwargs: object) -> str:
    return "background"
