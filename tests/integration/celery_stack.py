"""A real stack for Celery tests: uvicorn API + celery workers on real Redis and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.live import ApiServer, Client, Worker, service_env
from tests.support import REDIS_HOST, REDIS_PORT, unavailable


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """A Redis database number of its own for this test run (flushed before and after)."""
    number = 1 + os.getpid() % 14
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        unavailable("Redis", exc)
    client.flushdb()
    yield number
    client.flushdb()


def queue_only_env(tmp: Path, database_url: str, redis_db: int, **extra: Any) -> dict[str, str]:
    """An API that sends every job to a Celery queue of its own: nothing is processed inside
    it, and nothing at all until a worker listens on that queue."""
    return service_env(
        database_url=database_url,
        storage_dir=tmp / "storage",
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        celery_enabled="true",
        celery_force="true",
        celery_queue=f"gpx_{uuid.uuid4().hex[:8]}",
        log_level="WARNING",
        **extra,
    )


class Stack:
    def __init__(self, tmp: Path, database_url: str, redis_db: int, **overrides: Any) -> None:
        self.tmp = tmp
        self.fault_dir = tmp / "faults"
        self.fault_dir.mkdir(exist_ok=True)
        self.queue = f"gpx_{uuid.uuid4().hex[:8]}"
        values: dict[str, Any] = {
            "database_url": database_url,
            "storage_dir": tmp / "storage",
            "auto_migrate": "false",
            "redis_url": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
            "celery_enabled": "true",
            "celery_queue": self.queue,
            "gpx_async_threshold_mb": 0.5,
            "retry_base_s": 1,
            "retry_jitter_s": 0.2,
            "fault_dir": self.fault_dir,
            "reconcile_interval_s": 0.5,  # the API reconciles: Celery retries are carried by the row
            # short leases: a killed run's job is taken again within seconds in these tests
            "lease_s": 4,
            "lease_renew_s": 1,
            "worker_ping_cache_s": 0,  # tests watch workers come and go
        }
        values.update(overrides)
        self.env = service_env(**values)
        self.api: ApiServer | None = None
        self.workers: list[Worker] = []
        self.client: Client | None = None

    def start_api(self, **overrides: Any) -> Client:
        env = dict(self.env)
        env.update({k.upper(): str(v) for k, v in overrides.items()})
        self.api = ApiServer(env, self.tmp / "api.log")
        self.client = Client(self.api.url)
        return self.client

    def start_worker(self, name: str, concurrency: int = 1, **overrides: Any) -> Worker:
        env = dict(self.env)
        env.update({k.upper(): str(v) for k, v in overrides.items()})
        worker = Worker(env, self.tmp / f"{name}.log", name, concurrency)
        worker.wait_ready()
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        if self.api is not None:
            self.api.kill()
