"""A burst of /ready or /metrics shares one worker broadcast (a unit test with a stub app)."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

from contravento.redis_conn import RedisTarget
from contravento.services.health import BrokerProbe


class _Inspector:
    calls = 0
    lock = threading.Lock()

    def active_queues(self) -> dict[str, Any]:
        with self.lock:
            _Inspector.calls += 1
        time.sleep(0.2)  # a broadcast waits for replies
        return {"w1@host": [{"name": "gpx"}], "other@host": [{"name": "another"}]}


def test_concurrent_requests_share_one_broadcast() -> None:
    app = SimpleNamespace(control=SimpleNamespace(inspect=lambda timeout: _Inspector()))
    probe = BrokerProbe(
        redis=RedisTarget.parse("redis://127.0.0.1:1/0"), queue="gpx", timeout=0.5, ping_timeout=1.0,
        celery_app=app, cache_s=60,  # type: ignore[arg-type]
    )  # fmt: skip

    async def burst() -> list[list[str]]:
        return await asyncio.gather(*(probe.live_workers() for _ in range(20)))

    results = asyncio.run(burst())
    assert all(r == ["w1@host"] for r in results)
    assert _Inspector.calls == 1
    probe.cache_s = 0
    asyncio.run(probe.live_workers())
    assert _Inspector.calls == 2
