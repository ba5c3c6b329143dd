"""Which errors are worth another try: the database or storage is away, not the data is bad."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

_CONNECTION_ERRORS = (
    OperationalError,  # connection refused/reset, server shutting down, too many clients
    InterfaceError,
    ConnectionError,
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
)


def is_transient(exc: BaseException) -> bool:
    """True when a later attempt may succeed: connections lost or refused, I/O trouble.

    Data errors (IntegrityError, DataError, a value PostgreSQL refuses) are not: they fail the
    same way every time. SQLAlchemy wraps the driver's error, so the cause chain is walked.
    """
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, _CONNECTION_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
