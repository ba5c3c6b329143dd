"""Apply Alembic migrations programmatically (used by `make run`, the API start and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking: call it where no event loop runs in this thread (it starts its own)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def database_revisions(url: str) -> tuple[str, ...]:
    """The Alembic revisions the database is stamped with (empty: never migrated)."""
    import asyncio

    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

    from .session import create_engine

    def _read(connection: Connection) -> tuple[str, ...]:
        return tuple(MigrationContext.configure(connection).get_current_heads())

    async def _go() -> tuple[str, ...]:
        engine = create_engine(url, null_pool=True)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_read)
        finally:
            await engine.dispose()

    return asyncio.run(_go())


def missing_revisions(url: str) -> list[str]:
    """Revisions this code has and the database lacks, newest first ([] when at head).

    A database stamped with a revision this code does not know was migrated by a newer release:
    that is not "behind" (an older release keeps running on an expanded schema during a
    rollback), so it also answers [].
    """
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(alembic_config(url))
    current = database_revisions(url)
    try:
        for revision in current:
            script.get_revision(revision)
    except CommandError:
        return []
    lower = current or ("base",)
    return [
        rev.revision
        for rev in script.iterate_revisions(tuple(script.get_heads()), lower)  # type: ignore[arg-type]
        if rev.revision not in current
    ]
