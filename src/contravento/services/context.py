"""What a use-case needs from the outside world, built once per process (API or worker)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..config import Settings
from ..db.session import create_engine, session_factory
from ..storage import Storage, build_storage


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    storage: Storage

    @classmethod
    def create(cls, settings: Settings, *, pool_size: int | None = None) -> AppContext:
        engine = create_engine(
            settings.database_url,
            pool_size=pool_size or settings.db_pool_size,
            statement_timeout_s=settings.db_statement_timeout_s,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            storage=build_storage(settings),
        )

    @cached_property
    def autocommit_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions whose statements commit one by one (same pool): no BEGIN / COMMIT round
        trips. Only for work that needs no multi-statement atomicity: the upload path, whose
        reads are checks and whose one write is a single INSERT or UPDATE."""
        return session_factory(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    async def dispose(self) -> None:
        await self.engine.dispose()
