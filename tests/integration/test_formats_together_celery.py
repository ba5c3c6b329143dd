"""Issue 14's pieces together on real processes: a uvicorn API, a real Celery worker (prefork),
PostgreSQL and Redis, every job on the worker. A device export zip of every format expanded
by the worker; one ride as FIT then GPX then TCX; an indoor ride again as a gzip; gzip of
every format with its format, compression and bytes. (In-process, on SQLite and PostgreSQL:
test_formats_together.py, which this mirrors.)"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import archives
from tests.converted import fit_as_gpx, fit_as_tcx
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.test_formats_together import (
    INDOOR_FIT,
    RIDE_FIT,
    TCX_LAP_FACTOR,
    TREADMILL_TCX,
)
from tests.integration.test_imports import upload_zip, wait_import
from tests.live import Client
from tests.support import sample

pytestmark = pytest.mark.slow

TCX_RIDE = (archives.TCX_DATA / "garmin-connect-edge520-ride-watts.tcx").read_bytes()


@pytest.fixture
def stack(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(
        tmp_path, pg_database, redis_db, gpx_async_threshold_mb=0, max_pending_jobs_per_user=1000
    )
    yield value
    value.close()


def _sent(client: Client, headers: dict[str, str], trip: str, data: bytes, name: str) -> str:
    r = client.upload(headers, trip, data, name=name)
    assert r.status_code == 202, r.text
    assert r.json()["processing_mode"] == "celery", r.json()
    return str(r.json()["gpx_file_id"])


def _on_worker(done: dict[str, Any]) -> dict[str, Any]:
    assert done["processing_mode"] == "celery" and str(done["processed_by"]).startswith("cw1@")
    return done


def test_a_device_export_expanded_by_a_worker(stack: Stack) -> None:
    stack.start_worker("cw1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    data, expected = archives.device_export()
    sent = upload_zip(client, headers, trip, data)
    assert sent["processing_mode"] == "celery"
    report = wait_import(client, headers, sent["import_id"], timeout=120)
    assert report["status"] == "completed", report
    assert _on_worker(client.status(headers, sent["import_id"]))
    assert report["members_found"] == len(expected)
    created = {c["name"]: c["gpx_file_id"] for c in report["created"]}
    assert {s["name"]: s["reason_code"] for s in report["skipped"]} == {
        n: want for n, want in expected.items() if isinstance(want, str)
    }
    assert created.keys() == {n for n, want in expected.items() if isinstance(want, tuple)}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, file_id in created.items():
            done = _on_worker(client.wait_done(headers, file_id, timeout=120))
            assert (done["format"], done["compression"]) == expected[name], done
            assert done["processing_status"] == "completed", done
            got = client.http.get(f"/gpx/{file_id}/download", headers=headers)
            assert got.content == archive.read(name)
    totals = client.http.get(f"/trips/{trip}", headers=headers).json()["totals"]
    assert totals["stage_count"] == 4


def test_one_ride_in_three_formats_and_an_indoor_ride_twice(stack: Stack) -> None:
    stack.start_worker("cw1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    first = _sent(client, headers, trip, RIDE_FIT, "salida.fit")
    assert _on_worker(client.wait_done(headers, first))["processing_status"] == "completed"
    tcx = fit_as_tcx(RIDE_FIT, lap_distance_factor=TCX_LAP_FACTOR)
    for name, data in (("salida.gpx", fit_as_gpx(RIDE_FIT)), ("salida.tcx", tcx)):
        twin = _on_worker(client.wait_done(headers, _sent(client, headers, trip, data, name)))
        assert twin["error_code"] == "DUPLICATE_RIDE" and twin["duplicate_of"] == first, twin
    indoor = _sent(client, headers, trip, INDOOR_FIT, "rodillo.fit")
    kept = _on_worker(client.wait_done(headers, indoor))
    assert kept["processing_status"] == "completed" and kept["stats"]["indoor"] is True
    again = _sent(client, headers, trip, gzip.compress(INDOOR_FIT), "rodillo.fit.gz")
    twin = _on_worker(client.wait_done(headers, again))
    assert twin["error_code"] == "DUPLICATE_RIDE" and twin["duplicate_of"] == indoor, twin
    treadmill = _sent(client, headers, trip, TREADMILL_TCX, "cinta.tcx")
    run = _on_worker(client.wait_done(headers, treadmill))
    assert run["processing_status"] == "completed" and run["stats"]["indoor"] is True
    totals = client.http.get(f"/trips/{trip}", headers=headers).json()["totals"]
    assert totals["stage_count"] == 3
    statuses = [client.status(headers, f) for f in (first, indoor, treadmill)]
    want = sum(s["stats"]["distance_km"] for s in statuses)
    assert totals["distance_km"] == pytest.approx(want, abs=0.01)


def test_gzip_of_every_format_on_a_worker(stack: Stack) -> None:
    stack.start_worker("cw1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    cases = {
        "salida.fit.gz": (gzip.compress(RIDE_FIT), "fit"),
        "salida.tcx.gz": (gzip.compress(TCX_RIDE), "tcx"),
        "salida.gpx.gz": (gzip.compress(sample("strava-ride-power-hr-cad.gpx")), "gpx"),
    }
    sent = {name: _sent(client, headers, trip, data, name) for name, (data, _f) in cases.items()}
    for name, file_id in sent.items():
        done = _on_worker(client.wait_done(headers, file_id))
        assert done["processing_status"] == "completed", done
        assert (done["format"], done["compression"]) == (cases[name][1], "gzip")
        got = client.http.get(f"/gpx/{file_id}/download", headers=headers)
        assert got.content == cases[name][0]
    listing = client.http.get(f"/trips/{trip}/gpx", headers=headers).json()
    assert {f["gpx_file_id"]: (f["format"], f["compression"]) for f in listing} == {
        file_id: (cases[name][1], "gzip") for name, file_id in sent.items()
    }
