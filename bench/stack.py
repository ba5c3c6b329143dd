"""A real stack for the end-to-end and load benchmarks.

uvicorn API and Celery workers as subprocesses (``tests/live.py``), a PostgreSQL database
created for the run and dropped afterwards, and a Redis database number of its own (flushed
before and after). Workers load ``bench.baseline_task`` (``-I``) so the baseline pipeline runs
inside the same worker processes as ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import psutil
import redis

from contravento.db.migrate import upgrade
from tests.live import ApiServer, Client, Worker, service_env

PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "15"))
MIB = 1024 * 1024


async def admin_sql(sql: str, dsn: str = PG_ADMIN_DSN) -> None:
    """One statement on the admin database (CREATE / DROP DATABASE)."""
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def reset_peak_rss(pid: int) -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) of a process to its current RSS."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a process: its peak RSS since start or since the last reset_peak_rss."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / MIB


class BenchWorker(Worker):
    """A worker that also loads the baseline pipeline (`-I bench.baseline_task`)."""

    def __init__(
        self, env: dict[str, str], log: Path, name: str, concurrency: int = 1, nice: int = 0
    ) -> None:
        super().__init__(
            env, log, name, concurrency, loglevel="WARNING", nice=nice,
            extra=("-I", "bench.baseline_task"),
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        super().wait_ready(timeout)


class BenchStack:
    """One database, one storage dir, one Redis db; an API and workers started on demand."""

    def __init__(self, label: str, redis_url: str | None = None) -> None:
        """`redis_url` (a whole Redis of its own, e.g. one the bench started) replaces the
        shared server's BENCH_REDIS_DB."""
        self.tmp = Path(tempfile.mkdtemp(prefix=f"cv-bench-{label}-"))
        self.db_name = f"cv_bench_{label}_{uuid.uuid4().hex[:8]}"
        asyncio.run(admin_sql(f'CREATE DATABASE "{self.db_name}"'))
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        self.database_url = f"{base}/{self.db_name}"
        self.pg_dsn = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{self.db_name}"
        upgrade(self.database_url)
        self.redis_url = redis_url or f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
        self.redis = redis.Redis.from_url(self.redis_url)
        self.redis.flushdb()
        self.queue = f"gpx_bench_{uuid.uuid4().hex[:6]}"
        self.env = service_env(
            app_env="production",
            secret_key=secrets.token_urlsafe(48),
            metrics_token=secrets.token_urlsafe(32),
            database_url=self.database_url,
            storage_dir=self.tmp / "storage",
            auto_migrate="false",
            redis_url=self.redis_url,
            celery_queue=self.queue,
            reconcile_interval_s=0,
            log_level="WARNING",
        )
        self.api: ApiServer | None = None
        self.workers: list[BenchWorker] = []

    def start_api(self, **overrides: Any) -> Client:
        self.stop_api()
        env = dict(self.env)
        env.update({k.upper(): str(v) for k, v in overrides.items()})
        self.api = ApiServer(env, self.tmp / "api.log")
        return Client(self.api.url)

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.stop(timeout=30)
            self.api = None

    def start_workers(self, count: int, nice: int = 0, **overrides: Any) -> list[BenchWorker]:
        env = dict(self.env)
        env.update({k.upper(): str(v) for k, v in overrides.items()})
        started = [
            BenchWorker(
                env, self.tmp / f"w{i + 1}.log", f"w{i + 1}-{uuid.uuid4().hex[:4]}", nice=nice
            )
            for i in range(len(self.workers), len(self.workers) + count)
        ]
        for worker in started:
            worker.wait_ready()
        self.workers.extend(started)
        return started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=30)
        self.workers = []

    def query(self, sql: str, *args: Any) -> list[Any]:
        async def run() -> list[Any]:
            conn = await asyncpg.connect(self.pg_dsn, timeout=5)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def close(self) -> None:
        self.stop_workers()
        self.stop_api()
        with contextlib.suppress(Exception):
            self.redis.flushdb()
        with contextlib.suppress(Exception):
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        shutil.rmtree(self.tmp, ignore_errors=True)


def versions() -> str:
    """PostgreSQL and Redis server versions, for the machine line."""

    async def pg() -> str:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    info: Any = redis.Redis(host=REDIS_HOST, port=REDIS_PORT).info("server")
    return f"PostgreSQL {asyncio.run(pg()).split()[0]}, Redis {info['redis_version']}"
