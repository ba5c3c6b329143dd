"""How a job's state change reaches another process: PostgreSQL NOTIFY vs Redis PUBLISH.

Run from the repository root: ``python -m bench.job_events [--runs 300]``. It needs PostgreSQL
(``BENCH_PG_DSN``; a database is created for the run and dropped afterwards) and Redis
(``BENCH_REDIS_HOST``/``PORT``; a channel of its own, nothing is written or flushed).

Each run is one transition as machine.py makes it (BEGIN, a conditional UPDATE of one row of
a 1,000-row table, COMMIT), in three variants, interleaved so a noisy neighbour hits all alike:

- **baseline**: the transition alone, nobody told;
- **pg_notify**: ``SELECT pg_notify(...)`` inside the transaction (what ships: delivered at
  COMMIT, by the database, to a LISTEN connection of another client);
- **redis**: the transition, then ``PUBLISH`` after the COMMIT (what Redis pub/sub would need:
  a second service on the runner's path), to a subscriber connection.

Figures: p50/p95 of the transition's wall time on the runner's side (what a job pays) and of
the delivery (transition start to the listener's callback). No assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import asyncpg
import redis.asyncio as aioredis

from bench.domain import machine
from bench.stack import PG_ADMIN_DSN, REDIS_HOST, REDIS_PORT, admin_sql

CHANNEL = f"bench_job_events_{uuid.uuid4().hex[:8]}"
UPDATE = "UPDATE jobs SET status = $2, updated_at = now() WHERE id = $1"


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def main(runs: int) -> None:
    name = f"bench_events_{uuid.uuid4().hex[:8]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    dsn = f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    try:
        runner = await asyncpg.connect(dsn)
        listener = await asyncpg.connect(dsn)
        await runner.execute(
            "CREATE TABLE jobs (id uuid PRIMARY KEY, status text, updated_at timestamptz)"
        )
        ids = [uuid.uuid4() for _ in range(1000)]
        await runner.executemany(
            "INSERT INTO jobs VALUES ($1, 'pending', now())", [(i,) for i in ids]
        )
        heard: dict[str, float] = {}
        arrived = asyncio.Event()

        def on_notify(*args: object) -> None:
            heard[str(args[-1])] = time.perf_counter()
            arrived.set()

        await listener.add_listener(CHANNEL, on_notify)
        publisher = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        pubsub = publisher.pubsub()
        await pubsub.subscribe(CHANNEL)
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation

        async def redis_reader() -> None:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    heard[message["data"].decode()] = time.perf_counter()
                    arrived.set()

        reader = asyncio.create_task(redis_reader())
        cost: dict[str, list[float]] = {"baseline": [], "pg_notify": [], "redis": []}
        delivery: dict[str, list[float]] = {"pg_notify": [], "redis": []}
        for run in range(runs):
            for variant in cost:
                file_id = ids[run % len(ids)]
                token = f"{variant}:{run}"
                arrived.clear()
                start = time.perf_counter()
                async with runner.transaction():
                    await runner.execute(UPDATE, file_id, f"s{run}")
                    if variant == "pg_notify":
                        await runner.execute("SELECT pg_notify($1, $2)", CHANNEL, token)
                if variant == "redis":
                    await publisher.publish(CHANNEL, token)
                cost[variant].append((time.perf_counter() - start) * 1000)
                if variant in delivery:
                    while token not in heard:
                        await asyncio.wait_for(arrived.wait(), 5)
                        arrived.clear()
                    delivery[variant].append((heard.pop(token) - start) * 1000)
        reader.cancel()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await publisher.aclose()
        await listener.close()
        await runner.close()
    finally:
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"machine: {machine()}")
    print(f"{runs} transitions per variant, interleaved; milliseconds")
    print(f"{'variant':<10} {'transition p50':>15} {'p95':>7} {'delivered p50':>14} {'p95':>7}")
    for variant, values in cost.items():
        got = delivery.get(variant)
        tail = f"{_p(got, 50):>14.3f} {_p(got, 95):>7.3f}" if got else f"{'-':>14} {'-':>7}"
        print(f"{variant:<10} {_p(values, 50):>15.3f} {_p(values, 95):>7.3f} {tail}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    asyncio.run(main(parser.parse_args().runs))
