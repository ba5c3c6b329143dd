"""GET /ready and GET /metrics against real Redis, real workers and real PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contravento.config import Settings
from contravento.db.migrate import upgrade
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.integration.conftest import api_for, make_settings
from tests.live import Client
from tests.support import sample

BIG = "osmand-hike-recording-long.gpx"  # 1.5 MB > the 0.5 MB threshold of the stack
TOKEN = "ops-" + "k" * 40
OPS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def stack(own_pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[Stack]:  # noqa: F811
    value = Stack(tmp_path, own_pg_database, redis_db, metrics_token=TOKEN)
    yield value
    value.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (labels must match exactly)."""
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if found == labels:
            return float(m.group(3))
    raise AssertionError(f"no sample {name}{labels}")


def _poll(client: Client, path: str, ok: object, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while True:
        r = client.http.get(path, headers=OPS)
        body = r.json() if path == "/ready" else r.text
        if ok(body):  # type: ignore[operator]
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


@pytest.mark.slow
def test_ready_and_metrics_follow_queue_workers_and_jobs(stack: Stack) -> None:
    client = stack.start_api()
    ready = client.http.get("/ready", headers=OPS)
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded" and body["celery_enabled"] is True
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok" and body["checks"]["redis"]["latency_ms"] >= 0
    assert body["checks"]["workers"] == {
        "status": "error",
        "alive": 0,
        "error": "no worker consuming the queue answered",
    }

    # the database and Redis database are shared by the whole test session: compare deltas
    before = client.http.get("/metrics", headers=OPS).text
    unacked0 = body["checks"]["queue"]["unacked"]

    def delta(text: str, name: str, **labels: str) -> float:
        try:
            old = metric(before, name, **labels)
        except AssertionError:  # a labelled series that did not exist yet
            old = 0.0
        return metric(text, name, **labels) - old

    headers = client.signup()
    trip = client.trip(headers)
    first = client.upload(headers, trip, sample(BIG)).json()
    assert first["processing_mode"] == "celery"
    queue = client.http.get("/ready", headers=OPS).json()["checks"]["queue"]
    assert queue["name"] == stack.queue and queue["queued"] == 1
    assert queue["depth"] == 1 + unacked0
    text = client.http.get("/metrics", headers=OPS).text
    assert metric(text, "contravento_queue_depth", queue=stack.queue, state="queued") == 1
    assert metric(text, "contravento_workers_alive") == 0
    assert delta(text, "contravento_jobs", mode="celery", status="pending") == 1

    # a worker takes it; while it runs, the message is unacked (kombu's `unacked` hash)
    stack.start_worker("mw1", processing_delay_s=2)
    _poll(client, "/ready", lambda b: b["checks"]["queue"]["unacked"] == unacked0 + 1)
    client.wait_done(headers, first["gpx_file_id"])
    ready_body = _poll(client, "/ready", lambda b: b["checks"]["queue"]["depth"] == unacked0)
    assert ready_body["status"] == "ok"  # type: ignore[index]
    assert ready_body["checks"]["workers"]["alive"] == 1  # type: ignore[index]
    assert ready_body["checks"]["workers"]["names"][0].startswith("mw1@")  # type: ignore[index]
    # anonymous (or a wrong token): the statuses only, no names, figures or errors
    for anon in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        anonymous = client.http.get("/ready", headers=anon)
        assert anonymous.status_code == 200
        assert anonymous.json() == {
            "status": "ok",
            "celery_enabled": True,
            "checks": {
                name: {"status": "ok"} for name in ("database", "redis", "queue", "workers")
            },
        }
        assert client.http.get("/metrics", headers=anon).status_code == 401

    # one transient failure, then success: a retry; a corrupt file: a failure
    (stack.fault_dir / trip).write_text("1")
    retried = client.upload(headers, trip, sample("tomtom-watch-run-long.gpx")).json()
    assert client.wait_done(headers, retried["gpx_file_id"])["attempts"] == 2
    broken = client.upload(headers, trip, sample(BIG)[:-200_000]).json()
    assert client.wait_done(headers, broken["gpx_file_id"])["error_code"] == "GPX_MALFORMED"
    client.upload(headers, trip, sample(BIG))  # the same bytes again: a duplicate

    text = client.http.get("/metrics", headers=OPS).text
    w = "900s"
    assert delta(text, "contravento_uploads_total", mode="celery", result="accepted") == 3
    assert delta(text, "contravento_uploads_total", mode="celery", result="duplicate") == 1
    assert metric(text, "contravento_jobs", mode="celery", status="pending") == 0
    assert metric(text, "contravento_jobs", mode="celery", status="processing") == 0
    assert 'status="completed"' not in "".join(  # finished jobs: the window families only
        line for line in text.splitlines() if line.startswith("contravento_jobs{")
    )
    assert (
        delta(text, "contravento_jobs_finished_window", mode="celery", status="completed", window=w)
        == 2
    )
    assert (
        delta(text, "contravento_jobs_finished_window", mode="celery", status="failed", window=w)
        == 1
    )
    assert (
        delta(
            text,
            "contravento_jobs_failed_window",
            mode="celery",
            error_code="GPX_MALFORMED",
            window=w,
        )
        == 1
    )
    assert delta(text, "contravento_job_retries_window", mode="celery", window=w) == 1
    assert (
        delta(text, "contravento_processing_duration_seconds_gcount", mode="celery", window=w) == 2
    )
    assert (
        delta(
            text, "contravento_processing_duration_seconds_bucket", mode="celery", window=w, le="1"
        )
        == 0
    )  # the first job slept 2 s inside its attempt
    assert metric(text, "contravento_workers_alive") == 1
    assert metric(text, "contravento_redis_up") == 1
    assert metric(text, "contravento_celery_enabled") == 1


@pytest.mark.slow
def test_ready_with_redis_down_is_degraded_and_quick(stack: Stack) -> None:
    client = stack.start_api(redis_url="redis://127.0.0.1:1/0")
    started = time.monotonic()
    r = client.http.get("/ready")
    assert time.monotonic() - started < 3
    assert r.status_code == 200 and r.json()["status"] == "degraded"
    assert r.json()["checks"]["redis"]["status"] == "error"
    assert r.json()["checks"]["database"]["status"] == "ok"
    text = client.http.get("/metrics", headers=OPS).text
    assert metric(text, "contravento_redis_up") == 0
    assert metric(text, "contravento_workers_alive") == 0


async def test_ready_without_celery_reports_it_disabled(database_url: str, tmp_path: Path) -> None:
    async with api_for(make_settings(database_url, tmp_path)) as api:
        r = await api.client.get("/ready")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "ok" and body["celery_enabled"] is False
        for name in ("redis", "queue", "workers"):
            assert body["checks"][name] == {"status": "disabled", "required": False}
        text = (await api.client.get("/metrics")).text
        assert metric(text, "contravento_celery_enabled") == 0
        assert "contravento_queue_depth" not in text
        assert metric(text, "contravento_jobs", mode="background", status="pending") >= 0


async def test_ready_with_database_down_is_503_and_bounded(tmp_path: Path) -> None:
    settings: Settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/nothing", tmp_path, ready_timeout_s=1.0
    )
    async with api_for(settings) as api:
        started = time.monotonic()
        r = await api.client.get("/ready")
        assert time.monotonic() - started < 3
        assert r.status_code == 503 and r.json()["status"] == "error"
        assert r.json()["checks"]["database"]["status"] == "error"
        text = (await api.client.get("/metrics")).text
        assert metric(text, "contravento_scrape_database_ok") == 0
        assert (await api.client.get("/health")).status_code == 200


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    return url


async def test_metrics_token(sqlite_url: str, tmp_path: Path) -> None:
    async with api_for(make_settings(sqlite_url, tmp_path, metrics_token=TOKEN)) as api:
        assert (await api.client.get("/metrics")).status_code == 401
        for wrong in (f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN):
            bad = await api.client.get("/metrics", headers={"Authorization": wrong})
            assert bad.status_code == 401 and bad.json()["error"]["code"] == "NOT_AUTHENTICATED"
        ok = await api.client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
        assert ok.status_code == 200 and "contravento_uploads_total" in ok.text
        ready = (await api.client.get("/ready")).json()
        assert ready["checks"]["database"] == {"status": "ok"}
        detailed = (await api.client.get("/ready", headers=OPS)).json()
        assert detailed["checks"]["database"]["latency_ms"] >= 0
