"""SQLite for the async engine, run on the event loop's own thread (`sqlite+inline://`).

aiosqlite runs every call in a worker thread: a queue put, a thread wake, and a
wake-up of the event loop through its self-pipe for each cursor, execute, fetch and
commit; four or more system calls per hop and five or more hops per transaction.
Where system calls are slow (virtual machines), that costs more than SQLite itself: a
statement on a local file takes tens of microseconds. This driver puts SQLAlchemy's own
asyncio adapters over a plain `sqlite3` connection and makes its calls in place: each is
a function call, never a wait.

What makes blocking the loop acceptable: writers in this process take turns before
they start (`storage.db.unit_of_work`), and readers never wait in WAL mode, so a call
only waits on SQLite's lock when another process writes the same file at that moment.
Such waits hold the loop, and are bounded by `BUSY_TIMEOUT_SECONDS` (then the transaction
fails and its work is retried). Several processes on one SQLite file work, but for replicas
PostgreSQL is the database to use.
"""

from __future__ import annotations

import collections
import sqlite3
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import pool
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_cursor,
    AsyncAdapt_dbapi_module,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_

if TYPE_CHECKING:
    from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection

BUSY_TIMEOUT_SECONDS = 5.0


class InlineCursor(AsyncAdapt_dbapi_cursor):
    """SQLAlchemy's async cursor adapter over a plain sqlite3 cursor.

    The adapter runs each call as a coroutine through a greenlet round trip (`await_`),
    three or four times a statement. A sqlite3 call never waits: opening and closing the
    cursor are plain calls here, and a statement keeps the one round trip SQLAlchemy's
    asyncio API checks for (it refuses a "driver" that never awaits).
    """

    __slots__ = ()
    _awaitable_cursor_close = False  # close() calls the cursor's close() directly

    def _make_new_cursor(self, connection: Any) -> Any:
        return connection.cursor()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._run(operation, () if parameters is None else parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._run_many(operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run(self, operation: Any, parameters: Any) -> Any:
        cursor = cast(sqlite3.Cursor, self._cursor)
        cursor.execute(operation, parameters)
        if cursor.description:
            self._rows = collections.deque(cursor.fetchall())
        return cursor

    async def _run_many(self, operation: Any, seq_of_parameters: Any) -> Any:
        return cast(sqlite3.Cursor, self._cursor).executemany(operation, seq_of_parameters)


class InlineConnection(AsyncAdapt_dbapi_connection):
    """SQLAlchemy's async connection adapter over a plain sqlite3 connection."""

    __slots__ = ()
    _cursor_cls = InlineCursor
    _connection: Any  # the sqlite3.Connection

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)

    def commit(self) -> None:
        try:
            self._connection.commit()
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        try:
            self._connection.rollback()
        except Exception as error:
            self._handle_exception(error)

    def close(self) -> None:
        self._connection.close()


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

    def connect(self, *args: Any, **kwargs: Any) -> InlineConnection:
        # The adapter's protocol is an async driver's; InlineConnection calls sqlite3 directly.
        connection = self.sqlite.connect(*args, **kwargs)
        return InlineConnection(self, cast("AsyncIODBAPIConnection", connection))


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
