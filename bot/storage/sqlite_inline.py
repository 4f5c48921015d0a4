"""SQLite for the async engine, run on the event loop's own thread (`sqlite+inline://`).

aiosqlite runs every call in a worker thread: a queue put, a thread wake, and a
wake-up of the event loop through its self-pipe for each cursor, execute, fetch and
commit; four or more system calls per hop and five or more hops per transaction.
Where system calls are slow (virtual machines), that costs more than SQLite itself: a
statement on a local file takes tens of microseconds. This driver gives SQLAlchemy's
asyncio adapters aiosqlite's API over a plain `sqlite3` connection, run in place: its
coroutines finish without ever waiting, so each call is a function call.

What makes blocking the loop acceptable: writers in this process take turns before
they start (`storage.db.unit_of_work`), and readers never wait in WAL mode, so a call
only waits on SQLite's lock when another process writes the same file at that moment.
Such waits hold the loop, and are bounded by `BUSY_TIMEOUT_SECONDS` (then the transaction
fails and its work is retried). Several processes on one SQLite file work, but for replicas
PostgreSQL is the database to use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_module,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection

BUSY_TIMEOUT_SECONDS = 5.0


class InlineCursor:
    """An aiosqlite-style cursor whose coroutines run the sqlite3 call in place."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite-style connection over sqlite3, for SQLAlchemy's asyncio adapters."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()


class AdaptedInlineConnection(AsyncAdapt_dbapi_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection._conn.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._conn.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection._conn.create_function(*args, **kwargs)


class InlineDBAPI(AsyncAdapt_dbapi_module):
    """sqlite3 as an async DBAPI module: its exceptions, its constants, our connect()."""

    def __init__(self, sqlite: ModuleType) -> None:
        super().__init__(sqlite, dbapi_module=sqlite)
        self.sqlite = sqlite
        self.paramstyle = "qmark"
        for name in (
            "DatabaseError",
            "Error",
            "IntegrityError",
            "InterfaceError",
            "NotSupportedError",
            "OperationalError",
            "ProgrammingError",
            "sqlite_version",
            "sqlite_version_info",
            "PARSE_COLNAMES",
            "PARSE_DECLTYPES",
            "Binary",
        ):
            setattr(self, name, getattr(sqlite, name))

    def connect(self, *args: Any, **kwargs: Any) -> AdaptedInlineConnection:
        connection = InlineConnection(self.sqlite.connect(*args, **kwargs))
        # It has the async API SQLAlchemy's adapter uses (the protocol is typed loosely).
        return AdaptedInlineConnection(self, cast("AsyncIODBAPIConnection", connection))


class SQLiteDialect_inline(SQLiteDialect_pysqlite):
    driver = "inline"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return InlineDBAPI(sqlite3)

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def create_connect_args(self, url: URL) -> Any:
        args, kwargs = super().create_connect_args(url)
        kwargs.setdefault("timeout", BUSY_TIMEOUT_SECONDS)
        # Made on the loop's thread and used there; the pool may close one at exit from
        # another thread, which sqlite3 handles.
        kwargs["check_same_thread"] = False
        return args, kwargs

    def get_driver_connection(self, connection: Any) -> Any:
        return connection._connection


registry.register("sqlite.inline", __name__, "SQLiteDialect_inline")
