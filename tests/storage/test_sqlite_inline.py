"""The sqlite+inline driver: SQLite on the event loop's thread, with SQLAlchemy's asyncio API."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.storage.db import make_engine, make_sessionmaker, unit_of_work


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+inline:///{tmp_path / 'inline.db'}"


async def test_statements_run_on_the_loops_thread(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
            ran_on = (await conn.execute(sa.text("SELECT thread_id()"))).scalar_one()
        assert ran_on == threading.get_ident()
    finally:
        await engine.dispose()


async def test_a_refused_insert_in_a_savepoint_keeps_the_transaction(url: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(sa.text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
        async with unit_of_work(sessions) as session:
            await session.execute(sa.text("INSERT INTO t VALUES ('a')"))
            with pytest.raises(IntegrityError):
                async with session.begin_nested():
                    await session.execute(sa.text("INSERT INTO t VALUES ('a')"))
            await session.execute(sa.text("INSERT INTO t VALUES ('b')"))
        async with unit_of_work(sessions, read_only=True) as session:
            rows = (await session.execute(sa.text("SELECT k FROM t ORDER BY k"))).all()
        assert [r[0] for r in rows] == ["a", "b"]
    finally:
        await engine.dispose()


async def test_a_write_waits_for_another_process_holding_the_lock(url: str) -> None:
    """Another writer (here a plain sqlite3 connection) holds the lock briefly: we wait, then
    write, rather than fail."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    path = url.split(":///", 1)[1]
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(sa.text("CREATE TABLE t (k TEXT)"))
        other = sqlite3.connect(path, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES ('theirs')")
        releaser = threading.Timer(0.3, other.commit)
        releaser.start()
        started = time.perf_counter()
        async with unit_of_work(sessions) as session:
            await session.execute(sa.text("INSERT INTO t VALUES ('ours')"))
        waited = time.perf_counter() - started
        releaser.join()
        other.close()
        async with unit_of_work(sessions, read_only=True) as session:
            rows = (await session.execute(sa.text("SELECT k FROM t ORDER BY k"))).all()
        assert [r[0] for r in rows] == ["ours", "theirs"]
        assert waited >= 0.2
    finally:
        await engine.dispose()
