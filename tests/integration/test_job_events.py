"""GET /gpx/{id}/events over real HTTP: several API replicas on one PostgreSQL + Redis with a
real Celery worker (the state reaches the stream through NOTIFY, whichever process changed
it), a lost listen connection, and `make run`'s SQLite without Redis (the stream polls).
No wall-clock time is asserted: only what the streams carried, and in what order."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from contravento.services.jobs.notify import APPLICATION_NAME
from tests.integration.celery_stack import Stack, redis_db  # noqa: F401  (fixture)
from tests.live import ApiServer, Client, free_port, service_env
from tests.sse import Follower, Message, Recorded, record
from tests.support import pg_admin, sample

pytestmark = pytest.mark.slow

GOOD = "strava-ride-power-hr-cad.gpx"
ORDER = ["pending", "processing", "retrying", "completed", "failed"]


def _names(events: list[Message]) -> list[str]:
    """The event names, consecutive repeats collapsed."""
    names: list[str] = []
    for event in events:
        assert event.event is not None
        if not names or names[-1] != event.event:
            names.append(event.event)
    return names


def _check_stream(got: Recorded) -> list[Message]:
    """What every stream must be: 200 text/event-stream, `retry:` first, strictly increasing
    ids, no event repeated as it was, closed by the server after a final state."""
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/event-stream")
    assert got.headers["x-accel-buffering"] == "no"
    assert got.messages[0].retry == 3000 and got.messages[0].event is None
    events = got.events
    ids = [int(e.id or "") for e in events]
    assert ids == sorted(set(ids)), ids
    pairs = [(e.event, e.data) for e in events]
    assert all(a != b for a, b in itertools.pairwise(pairs))
    for event in events:
        assert event.body["processing_status"] == (
            "pending" if event.event == "retrying" else event.event
        )
    assert got.closed_by_server
    return events


# -- several replicas on PostgreSQL + Redis, a Celery worker --------------------------------


@pytest.fixture
def replicas(pg_database: str, redis_db: int, tmp_path: Path) -> Iterator[tuple[Stack, Client]]:  # noqa: F811
    """Two APIs on one database and Redis. Their streams never re-read a row on their own
    (SSE_RECHECK_S, SSE_POLL_S of an hour): what they send, a notification made them read."""
    stack = Stack(
        tmp_path,
        pg_database,
        redis_db,
        celery_force="true",
        processing_delay_s=0.5,
        sse_recheck_s=3600,
        sse_poll_s=3600,
    )
    stack.start_api()
    other = ApiServer(stack.env, tmp_path / "api-b.log")
    try:
        yield stack, Client(other.url)
    finally:
        other.kill()
        stack.close()


def test_a_stream_on_one_replica_follows_a_job_run_by_a_celery_worker(
    replicas: tuple[Stack, Client],
) -> None:
    stack, other = replicas
    assert stack.client is not None
    uploader = stack.client
    headers = uploader.signup()
    trip = uploader.trip(headers)
    (stack.fault_dir / trip).write_text("1")  # the first attempt meets a transient fault
    r = uploader.upload(headers, trip, sample(GOOD))
    assert r.status_code == 202 and r.json()["processing_mode"] == "celery"
    file_id = r.json()["gpx_file_id"]

    follower = Follower(f"{other.http.base_url}/gpx/{file_id}/events", headers)
    follower.start()
    assert follower.first_event.wait(30)
    stack.start_worker("w1")  # nothing ran before: the job waited in the queue
    got = follower.finish()

    events = _check_stream(got)
    names = _names(events)
    # the due retry is handed out (pending again, in the queue) before the worker claims it;
    # a read that comes after the claim sees processing at once
    handed_out = ["pending", "processing", "retrying", "pending", "processing", "completed"]
    assert names in (handed_out, handed_out[:3] + handed_out[4:]), names
    retrying = next(e.body for e in events if e.event == "retrying")
    assert retrying["attempts"] == 1 and retrying["next_attempt_at"] is not None
    done = events[-1].body
    status = uploader.status(headers, file_id)
    assert done["stats"] == status["stats"] and done["stats"]["point_count"] == 314
    assert done["attempts"] == 2 and done["processing_mode"] == "celery"
    assert {k: v for k, v in done.items() if k != "next_attempt_at"} == status


def test_a_stream_outlives_its_replicas_listen_connection(
    replicas: tuple[Stack, Client], pg_database: str
) -> None:
    """The listen connection is killed while a stream waits: it reconnects and wakes the
    stream, which reads the row again (no state is lost, even though no re-read is due)."""
    stack, other = replicas
    assert stack.client is not None
    headers = stack.client.signup()
    trip = stack.client.trip(headers)
    file_id = stack.client.upload(headers, trip, sample(GOOD)).json()["gpx_file_id"]
    follower = Follower(f"{other.http.base_url}/gpx/{file_id}/events", headers)
    follower.start()
    assert follower.first_event.wait(30)
    database = urlsplit(pg_database).path.lstrip("/")
    asyncio.run(
        pg_admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND application_name = '{APPLICATION_NAME}'"
        )
    )
    stack.start_worker("w1")
    got = follower.finish()
    names = _names(_check_stream(got))
    assert names[0] == "pending" and names[-1] == "completed"
    assert all(ORDER.index(a) < ORDER.index(b) for a, b in itertools.pairwise(names))
    assert "job_listener_lost" in (stack.tmp / "api-b.log").read_text()


# -- SQLite, no Redis: `make run` ------------------------------------------------------------


def _sqlite_api(tmp: Path, name: str, **values: object) -> ApiServer:
    env = service_env(
        database_url=f"sqlite+aiosqlite:///{tmp / name}.db",
        storage_dir=tmp / f"{name}-storage",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
        sse_heartbeat_s=0.2,
        sse_poll_s=0.1,
        **values,
    )
    return ApiServer(env, tmp / f"{name}.log")


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Client]:
    api = _sqlite_api(tmp_path, "api", processing_delay_s=0.5)
    try:
        yield Client(api.url)
    finally:
        api.kill()


def _stream(client: Client, file_id: str, headers: dict[str, str]) -> Recorded:
    return record(f"{client.http.base_url}/gpx/{file_id}/events", headers)


def test_sqlite_without_redis_streams_to_completed_and_failed(sqlite_api: Client) -> None:
    headers = sqlite_api.signup()
    trip = sqlite_api.trip(headers)
    good = sqlite_api.upload(headers, trip, sample(GOOD)).json()["gpx_file_id"]
    got = _stream(sqlite_api, good, headers)
    events = _check_stream(got)
    assert _names(events)[-2:] == ["processing", "completed"]
    assert events[-1].body["stats"] == sqlite_api.status(headers, good)["stats"]
    assert got.pings >= 1  # the job sleeps 0.5 s, the heartbeat is 0.2 s

    broken = sample("osmand-hike-recording-long.gpx")[:-200_000]
    bad = sqlite_api.upload(headers, trip, broken).json()["gpx_file_id"]
    events = _check_stream(_stream(sqlite_api, bad, headers))
    assert _names(events)[-2:] == ["processing", "failed"]
    failed = events[-1].body
    assert failed["error_code"] == "GPX_MALFORMED"
    assert failed["error_message"] == sqlite_api.status(headers, bad)["error_message"]
    assert "archivo" in failed["error_message"]

    # a finished job: its state at once, then the end
    again = _check_stream(_stream(sqlite_api, good, headers))
    assert [e.event for e in again] == ["completed"]


def test_events_are_authenticated_like_the_status(sqlite_api: Client) -> None:
    headers = sqlite_api.signup()
    trip = sqlite_api.trip(headers)
    file_id = sqlite_api.upload(headers, trip, sample(GOOD)).json()["gpx_file_id"]
    url = f"/gpx/{file_id}/events"
    cases = [
        ({}, url, 401, "NOT_AUTHENTICATED"),
        ({"Authorization": "Bearer not-a-token"}, url, 401, None),
        (sqlite_api.signup(), url, 404, "GPX_FILE_NOT_FOUND"),  # another user's file
        (headers, "/gpx/not-a-uuid/events", 404, "GPX_FILE_NOT_FOUND"),
    ]
    for given, path, code, error in cases:
        r = httpx.get(f"{sqlite_api.http.base_url}{path}", headers=given, timeout=30)
        assert r.status_code == code, (path, r.text)
        assert r.headers["content-type"].startswith("application/json")
        if error is not None:
            assert r.json()["error"]["code"] == error
        status = sqlite_api.http.get(path.replace("/events", "/status"), headers=given)
        assert status.status_code == code


def test_a_stream_ends_after_its_lifetime_and_a_reconnect_repeats_nothing(
    tmp_path: Path,
) -> None:
    api = _sqlite_api(tmp_path, "slow", processing_delay_s=60, sse_max_stream_s=1)
    try:
        client = Client(api.url)
        headers = client.signup()
        trip = client.trip(headers)
        file_id = client.upload(headers, trip, sample(GOOD)).json()["gpx_file_id"]
        deadline = time.monotonic() + 30
        while client.status(headers, file_id)["processing_status"] != "processing":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        first = _stream(client, file_id, headers)
        events = _check_stream(first)  # closed by the server while the job still runs
        assert [e.event for e in events] == ["processing"]
        assert first.pings >= 2
        seen = events[0].id
        assert seen is not None

        resumed = _stream(client, file_id, {**headers, "Last-Event-ID": seen})
        assert resumed.status_code == 200 and resumed.closed_by_server
        assert resumed.events == [] and resumed.pings >= 1
        assert resumed.messages[0].retry == 3000

        stale = _stream(client, file_id, {**headers, "Last-Event-ID": "1"})
        assert [e.event for e in _check_stream(stale)] == ["processing"]
    finally:
        api.kill()
