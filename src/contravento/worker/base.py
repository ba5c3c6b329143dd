"""DatabaseTask: each worker process owns one event loop, one engine and its pool.

They are created lazily in the child after fork (a pool shared across fork corrupts
connections), sized by WORKER_DB_POOL_SIZE, and disposed when the child exits. A task gets its
sessions from `self.ctx.sessions()`, each opened in an `async with` by the service it calls
(one per unit of work), so every session is closed whatever happens, on PostgreSQL and SQLite.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import Task
from celery.signals import worker_process_shutdown

from ..config import get_settings
from ..services.context import AppContext

T = TypeVar("T")

_state: dict[str, Any] = {}


def _process_state() -> tuple[asyncio.AbstractEventLoop, AppContext]:
    if _state.get("pid") != os.getpid():
        settings = get_settings()
        _state.clear()
        _state["pid"] = os.getpid()
        _state["loop"] = asyncio.new_event_loop()
        _state["ctx"] = AppContext.create(settings, pool_size=settings.worker_db_pool_size)
    return _state["loop"], _state["ctx"]


@worker_process_shutdown.connect
def _dispose(**_kwargs: Any) -> None:
    if _state.get("pid") == os.getpid():
        loop, ctx = _state["loop"], _state["ctx"]
        loop.run_until_complete(ctx.dispose())
        loop.close()
        _state.clear()


class DatabaseTask(Task):  # type: ignore[misc]
    abstract = True

    @property
    def ctx(self) -> AppContext:
        return _process_state()[1]

    def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        loop, _ctx = _process_state()
        return loop.run_until_complete(coro)

    def cancel_pending(self) -> None:
        """After a soft time limit interrupted the loop: cancel what was left running."""
        loop, _ctx = _process_state()
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
