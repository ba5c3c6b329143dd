"""API fuzzing: schemathesis against the service's own OpenAPI schema, authenticated.

All checks run (no 5xx, status codes, content types, headers and bodies as documented,
negative data rejected, auth enforced...) except `positive_data_acceptance`: a schema-valid
multipart body can still carry a file that is not GPX, and that is a documented 415.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.live import BIN, ApiServer, Client, service_env
from tests.support import sample

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_schemathesis_finds_no_5xx_and_no_schema_lies(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":  # PostgreSQL refuses values SQLite stores (NUL, huge numbers)
        database_url = request.getfixturevalue("pg_database")
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    env = service_env(
        database_url=database_url,
        storage_dir=tmp_path / "storage",
        celery_enabled="false",
        log_level="WARNING",
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        client = Client(server.url)
        headers = client.signup()
        trip = client.trip(headers)
        r = client.upload(headers, trip, sample("strava-ride-power-hr-cad.gpx"))
        client.wait_done(headers, r.json()["gpx_file_id"])
        result = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"Authorization: {headers['Authorization']}",
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
                "-n",
                str(EXAMPLES),
                "--seed",
                "20261128",
                "--report-dir",
                str(tmp_path / "report"),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        summary = result.stdout[-4000:]
        print(summary)
        assert result.returncode == 0, summary
        assert "unhandled_error" not in server.output()
    finally:
        server.kill()
