"""The async engine, sessions, and bringing the schema to the latest migration."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in migrations/versions (a test keeps the two equal). A database
# already there is served without importing Alembic or running its environment: a restart
# measured 0.99 s before and 0.77 s after (BENCHMARKS.md, "Footprint").
SCHEMA_REVISION = "0011"

_PACKAGED = Path(__file__).resolve().parent.parent / "_packaged" / "migrations"
_REPO = Path(__file__).resolve().parent.parent.parent / "migrations"


def migrations_dir() -> Path:
    return _REPO if _REPO.is_dir() else _PACKAGED


def make_engine(async_url: str) -> AsyncEngine:
    if async_url.startswith("sqlite"):
        engine = create_async_engine(async_url)  # the busy timeout: see sqlite_inline.py
        _tune_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(async_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # WAL lets readers run while the worker writes; foreign keys are off by default.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer at a time and makes the others poll with growing sleeps (up to
# 100 ms each), which shows up as slow acks under load. Within one process, transactions
# on a SQLite engine take turns through an asyncio lock instead; a transaction opened
# inside another on the same task does not wait for itself.
_SQLITE_TURNS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()
_HOLDING: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "holding", default=frozenset()
)


def _turn(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    bind = sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite" or id(bind) in _HOLDING.get():
        return None
    return _SQLITE_TURNS.setdefault(bind, asyncio.Lock())


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], *, read_only: bool = False
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error.

    `read_only` promises no writes: on SQLite it does not wait for the writers' turn
    (in WAL mode readers never block, nor are they blocked).
    """
    bind = sessions.kw.get("bind")
    if bind is not None and bind.dialect.name == "sqlite":
        # SQLite statements run in place and never wait (see sqlite_inline.py): a turn of the
        # loop per transaction, so a long run of them (a catch-up of a thousand schedules)
        # cannot keep Slack's requests and the sender waiting.
        await asyncio.sleep(0)
    turn = None if read_only else _turn(sessions)
    if turn is None:
        async with sessions() as session, session.begin():
            yield session
        return
    async with turn:
        token = _HOLDING.set(_HOLDING.get() | {id(sessions.kw["bind"])})
        try:
            async with sessions() as session, session.begin():
                yield session
        finally:
            _HOLDING.reset(token)


def alembic_config(async_url: str) -> Config:
    from alembic.config import Config  # only when migrating: see SCHEMA_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", async_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(async_url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (blocking; Alembic runs its own loop)."""
    from alembic import command

    command.upgrade(alembic_config(async_url), revision)


def downgrade(async_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(async_url), revision)


async def upgrade_async(async_url: str, revision: str = "head") -> None:
    """`upgrade` from inside a running loop (Alembic's env uses asyncio.run)."""
    await asyncio.to_thread(upgrade, async_url, revision)


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at; None before the first one."""
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            version = result.scalar_one_or_none()
    except DBAPIError:  # no alembic_version table yet
        return None
    return str(version) if version is not None else None


async def migrate_to_head(engine: AsyncEngine, async_url: str) -> None:
    """Bring the database to the newest migration, unless it is there already."""
    if await schema_revision(engine) != SCHEMA_REVISION:
        await upgrade_async(async_url)


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
