"""XML attacks through POST /trips/{id}/gpx: each ends as a 4xx or a failed job, nothing expands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Api
from tests.security import attacks

MARKER = "TOP-SECRET-7f3a"


def _cases(secret: Path) -> dict[str, tuple[Callable[[], bytes], set[str]]]:
    unsafe = {"GPX_UNSAFE_XML"}
    return {
        "billion_laughs": (attacks.billion_laughs, unsafe),
        "quadratic_blowup": (attacks.quadratic_blowup, unsafe),
        "xxe_file": (lambda: attacks.xxe_file(secret), unsafe),
        "xxe_http": (attacks.xxe_http, unsafe),
        "external_dtd": (attacks.external_dtd, unsafe),
        "deep_nesting": (attacks.deep_nesting, unsafe),
        "nul_bytes": (attacks.nul_bytes, {"GPX_MALFORMED"}),
        "invalid_utf8": (attacks.invalid_utf8, {"GPX_MALFORMED"}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "billion_laughs",
        "quadratic_blowup",
        "xxe_file",
        "xxe_http",
        "external_dtd",
        "deep_nesting",
        "nul_bytes",
        "invalid_utf8",
    ],
)
async def test_attack_fails_job_without_expanding(api: Api, tmp_path: Path, case: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    build, codes = _cases(secret)[case]
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, build())
    assert r.status_code == 202, r.text
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed"
    assert status["error_code"] in codes, status
    assert status["error_message"] and status["attempts"] == 1
    assert MARKER not in str(status) and "lollol" not in str(status)


async def test_xinclude_is_inert(api: Api, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, attacks.xinclude(secret))
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed"  # a harmless unknown element
    track = await api.client.get(f"/gpx/{r.json()['gpx_file_id']}/track", headers=headers)
    assert MARKER not in track.text and MARKER not in str(status)


async def test_utf16_with_bom_is_read(api: Api) -> None:
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, attacks.utf16_bom())
    assert r.status_code == 202
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "completed", status
    assert status["stats"]["point_count"] == 2


async def test_too_many_points_fails_cleanly(api: Api) -> None:
    api.app.state.ctx.settings.gpx_max_points = 50_000  # the 1,000,000 default, scaled down
    headers = await api.signup()
    trip_id = await api.trip(headers)
    r = await api.upload(headers, trip_id, attacks.many_points(60_000))
    status = await api.wait_done(headers, r.json()["gpx_file_id"])
    assert status["processing_status"] == "failed" and status["error_code"] == "GPX_TOO_MANY_POINTS"
