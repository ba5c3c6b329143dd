"""`contravento migrate --check`: what the Kubernetes pods wait on before they start.

Exit 1 while the database lacks a migration this code has (never migrated, one behind, or not
reachable), 0 at head and when a newer release has already migrated it (a rollback keeps
running on the expanded schema). On SQLite and on a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from contravento.cli import main
from contravento.config import get_settings
from contravento.db.migrate import alembic_config, database_revisions, upgrade
from tests.support import pg_test_database, sqlalchemy_url

# every revision, newest first (the order --check names the missing ones in)
CHAIN = [
    r.revision for r in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
]
FIRST, HEAD = CHAIN[-1], CHAIN[0]


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"
        return
    with pg_test_database("cv_check") as dsn:
        yield sqlalchemy_url(dsn)


def check(url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    try:
        return main(["migrate", "--check"])
    finally:
        get_settings.cache_clear()


def test_behind_until_head_then_ready(
    empty_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(empty_database, monkeypatch) == 1
    assert f"Faltan migraciones: {', '.join(CHAIN)}." in capsys.readouterr().err

    upgrade(empty_database, FIRST)
    assert check(empty_database, monkeypatch) == 1
    assert f"Faltan migraciones: {', '.join(CHAIN[:-1])}." in capsys.readouterr().err
    assert database_revisions(empty_database) == (FIRST,)  # --check applied nothing

    upgrade(empty_database)
    assert check(empty_database, monkeypatch) == 0
    assert "Esquema al día." in capsys.readouterr().out


def test_a_newer_release_schema_counts_as_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "newer.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:  # stamped by a release this code does not know
        conn.execute("UPDATE alembic_version SET version_num = 'aaaaaaaaaaaa'")
    assert check(f"sqlite+aiosqlite:///{path}", monkeypatch) == 0


def test_unreachable_database_is_not_ready(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+asyncpg://contravento:x@127.0.0.1:9/contravento"  # discard port: refused
    assert check(url, monkeypatch) == 1
    assert "No se puede leer la versión del esquema" in capsys.readouterr().err


def test_the_installed_command_exits_non_zero_while_behind(empty_database: str) -> None:
    """The very command the initContainer loops on, as a process."""
    env = {**os.environ, "DATABASE_URL": empty_database, "APP_ENV": "development"}
    command = [sys.executable, "-m", "contravento.cli", "migrate", "--check"]
    behind = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert behind.returncode == 1, behind.stderr
    upgrade(empty_database)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Esquema al día." in done.stdout
