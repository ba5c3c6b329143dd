"""Async engines and session factories for SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.util.concurrency import await_


def create_engine(
    url: str, *, pool_size: int = 10, null_pool: bool = False, statement_timeout_s: float = 0
) -> AsyncEngine:
    """statement_timeout_s bounds every statement on PostgreSQL (server side, and the
    driver's wait for an answer a little longer), so one hung query cannot hold a job or a
    request forever; SQLite waits at most 30 s for a lock."""
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    elif statement_timeout_s > 0 and "+asyncpg" in url:
        milliseconds = str(int(statement_timeout_s * 1000))
        kwargs["connect_args"] = {
            "server_settings": {
                "statement_timeout": milliseconds,
                "idle_in_transaction_session_timeout": str(int(statement_timeout_s * 2000)),
            },
            "command_timeout": statement_timeout_s + 5,
        }
    if null_pool and not url.startswith("sqlite"):
        kwargs["poolclass"] = NullPool
    elif not url.startswith("sqlite"):
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _tune_sqlite(engine)
    elif engine.dialect.driver == "asyncpg":
        engine.dialect.do_ping = _asyncpg_ping  # type: ignore[method-assign]
    return engine


def _asyncpg_ping(dbapi_connection: Any) -> bool:
    """The checkout ping in one round trip.

    SQLAlchemy's asyncpg ping wraps ``;`` in BEGIN ... ROLLBACK (for pgbouncer in transaction
    mode, which we do not use): three round trips per checkout, a measurable share of the
    API's time in an upload burst. Failures go through the adapter's error translation, so a
    dead connection is still recognised as a disconnect and replaced.
    """
    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
