"""Telling "the database is unreachable right now" from a bug."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or written for now (PostgreSQL
    down or restarting, a connection cut, SQLite locked or unwritable), rather than a bug."""
    seen: BaseException | None = error
    for _ in range(5):  # the driver's error is often the cause of SQLAlchemy's
        if seen is None:
            return False
        if isinstance(seen, OSError | asyncio.TimeoutError | OperationalError | InterfaceError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        # PostgreSQL's connection errors (08…) and shutdown or start-up (57P…), as the
        # driver raises them without SQLAlchemy's wrapper.
        if str(getattr(seen, "sqlstate", "") or "").startswith(("08", "57P")):
            return True
        if "Connect" in type(seen).__name__:  # e.g. asyncpg's ConnectionDoesNotExistError
            return True
        seen = seen.__cause__ or seen.__context__
    return False
