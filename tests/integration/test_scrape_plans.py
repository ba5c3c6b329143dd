"""A /metrics scrape stays cheap as the tables grow: PostgreSQL's plans for the statements it
really runs use indexes, never a sequential scan of gpx_files or gpx_trackpoints.

A database of its own holds 60,000 jobs (almost all finished long ago) and 200,000
trackpoints; after ANALYZE, every statement the scrape sent is EXPLAINed with its own
parameters. The count over all rows that scrapes used to run is EXPLAINed too: it does
seq-scan, so the check can tell the two apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from contravento.db.migrate import upgrade
from contravento.services.context import AppContext
from contravento.services.job_stats import job_stats
from tests.integration.conftest import make_settings
from tests.support import (
    pg_admin,
    pg_test_database,
    sqlalchemy_url,
)

JOBS = 60_000
SEED = f"""
INSERT INTO users (id, email, display_name, password_hash, created_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'plan@example.com', 'Plan', 'x', now());
INSERT INTO trips (id, owner_id, title, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001',
        'Plan', now(), now());
INSERT INTO gpx_files (id, trip_id, owner_id, original_filename, storage_key, size_bytes, sha256,
                       processing_status, processing_mode, attempts, error_code,
                       created_at, updated_at, started_at, finished_at)
SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000002',
       '00000000-0000-4000-8000-000000000001', 'r.gpx', 'k/' || i, 1000,
       md5(i::text) || md5((i + 1)::text),
       CASE WHEN i <= 30 THEN 'pending' WHEN i <= 50 THEN 'processing'
            WHEN i <= 90 THEN 'failed' ELSE 'completed' END,
       CASE WHEN i % 2 = 0 THEN 'celery' ELSE 'background' END,
       CASE WHEN i <= 10 THEN 1 WHEN i <= 30 THEN 0 ELSE 1 + i % 3 END,
       CASE WHEN i > 50 AND i <= 90 THEN 'GPX_MALFORMED' END,
       now() - interval '30 days', now() - interval '30 days',
       CASE WHEN i > 30 THEN now() - make_interval(secs => CASE WHEN i <= 250 THEN 60 ELSE 864000 END) END,
       CASE WHEN i > 50 THEN now() - make_interval(secs => CASE WHEN i <= 250 THEN 59 ELSE 863999 END) END
FROM generate_series(1, {JOBS}) AS i;
INSERT INTO gpx_trackpoints (gpx_file_id, seq, segment, lat, lon, distance_km)
SELECT f.id, s, 0, 40.0, -3.7, s * 0.005
FROM (SELECT id FROM gpx_files WHERE processing_status = 'completed' LIMIT 2000) AS f,
     generate_series(1, 100) AS s;
ANALYZE;
"""


@pytest.fixture
def big_database() -> Iterator[str]:
    with pg_test_database("cv_plans") as dsn:
        url = sqlalchemy_url(dsn)
        upgrade(url)
        asyncio.run(pg_admin(SEED, dsn))
        yield url


def _scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    if "Relation Name" in plan:
        found.append((plan["Node Type"], plan["Relation Name"]))
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


async def test_scrape_queries_use_indexes_on_a_big_table(big_database: str, tmp_path: Path) -> None:
    ctx = AppContext.create(make_settings(big_database, tmp_path))
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        stats = await job_stats(ctx, window_s=900)
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)
        assert sum(stats.by_mode_status.values()) == 50  # 30 pending + 20 processing
        assert stats.waiting_retry == 10
        assert sum(stats.finished.values()) == 200  # ids 51..250 finished a minute ago
        assert sum(stats.failed_by_code.values()) == 40

        queries = [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")]
        assert len(queries) == 2, sent
        async with ctx.engine.connect() as conn:
            for statement, parameters in queries:
                result = await conn.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) {statement}", parameters
                )
                plan = result.scalar_one()[0]["Plan"]
                scans = _scans(plan)
                assert scans, plan
                assert all(table == "gpx_files" for _, table in scans), scans
                assert not [s for s in scans if s[0] == "Seq Scan"], (statement, scans)

            # what a scrape used to run: a count over every row
            old = await conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) SELECT processing_mode, processing_status, count(*) "
                "FROM gpx_files GROUP BY processing_mode, processing_status"
            )
            assert ("Seq Scan", "gpx_files") in _scans(old.scalar_one()[0]["Plan"])
    finally:
        await ctx.dispose()
