"""A real Redis failover under Sentinel, with uploads flowing through Celery.

A master, a replica and three sentinels (tests/integration/sentinel_set.py), the API over real
HTTP and one real celery worker, all with REDIS_URL=sentinel://...;.../0. While a stream of
uploads goes on, the master is SIGKILLed. Every upload is answered 202 (in-process while no
master answers), the sentinels promote the replica, publishing resumes against it (uploads
get processing_mode celery again and the worker processes them), and every accepted upload
ends completed (the reconciler re-publishes messages the failover lost).

The times printed (kill -> promotion, kill -> first publish) are the figures quoted in
docs/operations.md; they are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from contravento.config import Settings
from contravento.redis_conn import RedisTarget
from contravento.runner import redis_reachable
from tests.integration.celery_stack import Stack
from tests.integration.sentinel_set import MASTER_NAME, SENTINEL_PASSWORD, SentinelSet
from tests.support import sample, tiny_gpx

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

BIG = sample("osmand-hike-recording-long.gpx")  # 1.5 MB > the 0.5 MB threshold: Celery
BEFORE, MIN_AFTER, MIN_TOTAL = 4, 4, 20
PACE_S = 0.5  # between uploads
GIVE_UP_S = 90.0  # after the kill, a failover that has not resumed publishing by then failed


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSet]:
    value = SentinelSet(tmp_path)
    try:
        value.wait_ready()
        yield value
    finally:
        value.close()


@pytest.fixture
def stack(pg_database: str, sentinels: SentinelSet, tmp_path: Path) -> Iterator[Stack]:
    value = Stack(
        tmp_path,
        pg_database,
        0,
        redis_url=sentinels.url,
        redis_sentinel_master=MASTER_NAME,
        redis_sentinel_password=SENTINEL_PASSWORD,
        # the API's own reconciler, quick: a message lost with the master is re-published
        # 3 s after its dispatch, a run that lost its lease is taken again after 4 s
        reconcile_interval_s=1,
        redispatch_after_s=3,
        lease_s=4,
        lease_renew_s=1,
        redis_circuit_open_s=1,
        max_pending_jobs_per_user=200,
    )
    try:
        yield value
    finally:
        value.close()


@dataclass
class Upload:
    index: int
    big: bool
    sent: float
    answered: float
    status_code: int
    body: dict[str, Any]

    @property
    def mode(self) -> str | None:
        return self.body.get("processing_mode")


class PromotionWatch(threading.Thread):
    """Polls the sentinels until one of them names the replica as master; when it did."""

    def __init__(self, sentinels: SentinelSet) -> None:
        super().__init__(daemon=True)
        self.sentinels = sentinels
        self.seen: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if self.sentinels.replica_port in self.sentinels.master_port_seen():
                self.seen = time.monotonic()
                return
            time.sleep(0.05)


def _data(index: int, big: bool) -> bytes:
    # different bytes each (the same bytes twice would be a duplicate; the same ride too,
    # so each upload goes to a trip of its own)
    return BIG + f"<!-- upload {index} -->\n".encode() if big else tiny_gpx(seed=str(index))


def _events(log: Path, match: str) -> list[dict[str, Any]]:
    """The JSON log records whose event contains `match`."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if match in str(record.get("event", "")):
                out.append(record)
    return out


def _limiter_hits(target: RedisTarget, key: str) -> bool:
    """The `limits` storage redis_conn gives, sync and asyncio, counts on the master."""
    item = RateLimitItemPerMinute(1000)
    uri, options = target.limits_storage(connect_timeout=0.5, timeout=1)
    hit = MovingWindowRateLimiter(storage_from_string(uri, **options)).hit(item, key)
    uri, options = target.limits_storage(connect_timeout=0.5, timeout=1, asynchronous=True)

    async def hit_async() -> bool:
        limiter = AsyncMovingWindowRateLimiter(storage_from_string(uri, **options))  # type: ignore[arg-type]
        return await limiter.hit(item, key)

    return hit and asyncio.run(hit_async())


def test_master_killed_mid_stream_no_upload_lost(sentinels: SentinelSet, stack: Stack) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=sentinels.url,
        redis_sentinel_master=MASTER_NAME,
        redis_sentinel_password=SENTINEL_PASSWORD,
    )
    target = RedisTarget.from_settings(settings)
    assert target.is_sentinel and target.master == MASTER_NAME
    assert redis_reachable(settings)
    assert _limiter_hits(target, "before")

    # each task takes a second (tests/harness): the worker is mid-task, with a backlog queued
    # behind it, when the master dies
    worker = stack.start_worker("w1", processing_delay_s=1)
    client = stack.start_api()
    assert stack.api is not None
    headers = client.signup()
    uploads: list[Upload] = []

    def upload(index: int) -> Upload:
        big = index % 4 != 3  # three large (Celery) for each small one (in-process)
        trip = client.trip(headers)  # a trip each: the same ride twice in one is a duplicate
        sent = time.monotonic()
        r = client.upload(headers, trip, _data(index, big), name=f"ruta-{index}.gpx")
        item = Upload(index, big, sent, time.monotonic(), r.status_code, r.json())
        uploads.append(item)
        return item

    for index in range(BEFORE):
        item = upload(index)
        assert item.status_code == 202 and item.mode == ("celery" if item.big else "background")
        time.sleep(PACE_S)
    ready = httpx.get(stack.api.url + "/ready", timeout=10).json()
    assert ready["checks"]["redis"]["status"] == "ok", ready

    watch = PromotionWatch(sentinels)
    watch.start()
    killed, killed_at = time.monotonic(), datetime.now(UTC)
    sentinels.master.kill()  # SIGKILL: no goodbye to the replica or the clients
    index = BEFORE
    try:
        while True:
            upload(index)
            index += 1
            resumed = [u for u in uploads if u.sent > killed and u.big and u.mode == "celery"]
            if watch.seen is not None and len(resumed) >= MIN_AFTER and index >= MIN_TOTAL:
                break
            assert time.monotonic() - killed < GIVE_UP_S, (
                f"publishing did not resume: promoted={watch.seen is not None}, "
                f"{[(u.index, u.mode) for u in uploads]}"
            )
            time.sleep(PACE_S)
    finally:
        watch.stop.set()

    # every upload was accepted, whether Redis answered or not
    assert [u.status_code for u in uploads] == [202] * len(uploads), [u.body for u in uploads]
    # the sentinels agree the replica is the master now
    assert sentinels.master_port_seen() == {sentinels.replica_port}
    # once publishing resumed it stayed resumed: every large upload after the first published
    # one went to Celery
    after = [u for u in uploads if u.sent > killed]
    first = next(u for u in after if u.big and u.mode == "celery")
    assert all(u.mode == "celery" for u in after if u.big and u.sent >= first.sent), [
        (u.index, u.mode) for u in after
    ]
    fell_back = [u.index for u in after if u.big and u.mode == "background"]

    # no accepted upload is lost: all of them complete, those published after the failover
    # processed by the worker (through the promoted replica)
    done = {u.index: client.wait_done(headers, u.body["gpx_file_id"], timeout=120) for u in uploads}
    assert {i: d["processing_status"] for i, d in done.items()} == dict.fromkeys(done, "completed")
    for u in after:
        if u.big and u.sent >= first.sent:
            assert done[u.index]["processing_mode"] == "celery", done[u.index]
            assert (done[u.index]["processed_by"] or "").startswith("w1@"), done[u.index]

    # the API's probes, `make run`'s check and the rate-limit storage follow the new master
    ready = httpx.get(stack.api.url + "/ready", timeout=10).json()
    assert ready["checks"]["redis"]["status"] == "ok", ready
    assert ready["checks"]["workers"]["alive"] == 1, ready
    assert redis_reachable(settings)
    assert _limiter_hits(target, "after")
    assert worker.proc.poll() is None

    # the task running when the master died could not be acknowledged; its job was handed
    # out again by the reconciler (lease expired, or message not found in the new master)
    reconciled = _events(stack.api.log_path, "job_reconciled")
    assert reconciled, "no job stranded by the failover was reconciled"
    reconnected = [
        datetime.fromisoformat(r["timestamp"])
        for r in _events(worker.log_path, "Connected to sentinel://")
    ]
    worker_back = min(t for t in reconnected if t > killed_at) - killed_at

    assert watch.seen is not None
    print(
        f"\nfailover figures: master SIGKILLed -> replica promoted {watch.seen - killed:.1f} s, "
        f"-> first publish answered {first.answered - killed:.1f} s (upload {first.index}), "
        f"-> worker consuming again {worker_back.total_seconds():.1f} s; "
        f"{len(fell_back)} large uploads in-process meanwhile {fell_back}; "
        f"{len(reconciled)} jobs reconciled; {len(uploads)} uploads, all completed"
    )
