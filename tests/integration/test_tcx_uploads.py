"""TCX uploads end to end: a live API over real HTTP (uvicorn), real PostgreSQL and Redis, and
a real Celery worker. Small files are processed in the API's own process, large ones on the
worker; plain and gzip-wrapped; the status and the listing say `tcx`; the download gives back
the bytes exactly as uploaded; non-activity TCX fail with a Spanish message, on either path.

The expected figures are the domain's own reading of the same bytes (`summarize`), computed
in the test: the API and the worker must serve what the pure domain computes.
"""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from contravento.domain import summarize
from contravento.domain.formats import TrackFormat, sniff
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.live import Client

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "tcx"
THRESHOLD_MB = 0.05  # 52 KB: the Edge 520 ride (204 KB) and the 910XT .gz (113 KB) go to Celery


def _tcx(name: str) -> bytes:
    return (DATA / f"{name}.tcx").read_bytes()


@pytest.fixture
def stack(
    pg_database: str,
    redis_db: int,  # noqa: F811
    tmp_path: Path,
    storage_settings: dict[str, str],
) -> Iterator[Stack]:
    value = Stack(
        tmp_path, pg_database, redis_db, gpx_async_threshold_mb=THRESHOLD_MB, **storage_settings
    )
    yield value
    value.close()


def _download(client: Client, headers: dict[str, str], file_id: str) -> tuple[bytes, str]:
    r = client.http.get(f"/gpx/{file_id}/download", headers=headers)
    assert r.status_code == 200, r.text
    return r.content, r.headers["content-type"]


def test_tcx_and_tcx_gz_in_process_and_on_a_worker(stack: Stack) -> None:
    stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    cases = [
        # (file name as uploaded, bytes, where it is processed, compression)
        ("edge520.tcx", _tcx("garmin-connect-edge520-ride-watts"), "celery", None),
        (
            "910xt.tcx.gz",
            gzip.compress(_tcx("forerunner910xt-two-activities-26-laps")),
            "celery",
            "gzip",
        ),
        ("fr305.tcx", _tcx("forerunner305-run-three-tracks-one-lap"), "background", None),
        (
            "edge520.tcx.gz",
            gzip.compress(_tcx("garmin-connect-edge520-ride-watts"), mtime=0),
            "background",
            "gzip",
        ),
        # the name says GPX: the content decides
        ("fitbit.gpx", _tcx("fitbit-versa-ride-hr-utc-offset"), "celery", None),
    ]
    # the two Edge 520 uploads are one ride: in one trip the second would be DUPLICATE_RIDE
    trip_of = {name: trip for name, *_ in cases} | {"edge520.tcx.gz": client.trip(headers)}
    uploaded = {}
    for name, data, mode, _compression in cases:
        r = client.upload(headers, trip_of[name], data, name)
        assert r.status_code == 202, r.text
        assert r.json()["processing_mode"] == mode, (name, r.json())
        uploaded[name] = r.json()["gpx_file_id"]

    for name, data, mode, compression in cases:
        file_id = uploaded[name]
        status = client.wait_done(headers, file_id)
        assert status["processing_status"] == "completed", (name, status)
        assert status["format"] == "tcx" and status["compression"] == compression
        if mode == "celery":
            assert status["processed_by"].startswith("w1@")
        else:
            assert status["processed_by"] is None
        expected = summarize(data).stats.to_dict()
        for key in ("point_count", "segment_count", "distance_km", "max_power", "avg_hr"):
            assert status["stats"][key] == expected[key], (name, key)
        body, content_type = _download(client, headers, file_id)
        assert body == data  # the original, exactly as uploaded (still gzipped)
        if compression is None:
            assert content_type.startswith("application/vnd.garmin.tcx+xml")

    edge = client.status(headers, uploaded["edge520.tcx"])["stats"]
    assert edge["point_count"] == 316 and edge["max_power"] == 552.0
    by_id = {}
    for listed in set(trip_of.values()):
        listing = client.http.get(f"/trips/{listed}/gpx", headers=headers)
        assert listing.status_code == 200, listing.text
        by_id.update({item["gpx_file_id"]: item for item in listing.json()})
    for name, _data, _mode, compression in cases:
        item = by_id[uploaded[name]]
        assert item["format"] == "tcx" and item["compression"] == compression
        assert item["original_filename"] == name


def test_non_activity_and_broken_tcx_fail_with_a_spanish_message(stack: Stack) -> None:
    stack.start_worker("w1")
    client = stack.start_api()
    headers = client.signup()
    trip = client.trip(headers)
    # 10**8 "lol"s in nine one-letter entities: short enough for the root to be sniffed
    names = "abcdefghi"
    laughs = '<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {n} "{f"&{p};" * 10}">' for p, n in itertools.pairwise(names)
    )
    bomb = (
        _tcx("forerunner305-run-three-tracks-one-lap")
        .replace(
            b"<TrainingCenterDatabase",
            f"<!DOCTYPE TrainingCenterDatabase [{laughs}]>\n<TrainingCenterDatabase".encode(),
            1,
        )
        .replace(b"</Activity>", b"<Notes>&i;</Notes></Activity>", 1)
    )
    assert sniff(bomb[:512]).format is TrackFormat.TCX
    big_course = _tcx("garmin-connect-edge520-ride-watts").replace(b"Activit", b"Cours")
    cases = [
        ("ruta.tcx", _tcx("course-only-not-an-activity"), "background", "TCX_NOT_AN_ACTIVITY"),
        (
            "plan.tcx.gz",
            gzip.compress(_tcx("workout-only-not-an-activity")),
            "background",
            "TCX_NOT_AN_ACTIVITY",
        ),
        ("curso.tcx", big_course, "celery", "TCX_NOT_AN_ACTIVITY"),
        (
            "cortado.tcx",
            _tcx("garmin-connect-edge520-ride-watts")[:-5000],
            "celery",
            "GPX_MALFORMED",
        ),
        (
            "cortado.tcx.gz",
            gzip.compress(_tcx("forerunner305-run-three-tracks-one-lap")[:-300]),
            "background",
            "GPX_MALFORMED",
        ),
    ]
    cases.append(("risas.tcx", bomb, "background", "GPX_UNSAFE_XML"))
    for name, data, mode, code in cases:
        r = client.upload(headers, trip, data, name)
        assert r.status_code == 202, r.text
        assert r.json()["processing_mode"] == mode, name
        status = client.wait_done(headers, r.json()["gpx_file_id"])
        assert status["processing_status"] == "failed", (name, status)
        assert status["error_code"] == code and status["attempts"] == 1, (name, status)
        assert status["format"] == "tcx"
        if code == "TCX_NOT_AN_ACTIVITY":
            assert "no es una actividad" in status["error_message"]
        else:
            assert "XML" in status["error_message"]
            assert "lollol" not in status["error_message"]
