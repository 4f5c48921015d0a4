"""A local, durable spool for answers the database could not take.

While the database is unreachable, an answer is refused with a 5xx so that Slack
delivers it again; Slack's last delivery, though, is not followed by another, so that
one is written here instead and acknowledged. The spool is a small SQLite file of its
own (`SPOOL_PATH`), written with `synchronous=FULL`: a row is on disk when `put`
returns. Whoever drains it stores the rows in the database and then deletes them; a
row stored twice (a crash between the two steps, two processes sharing the file) is
stored once, as answers are unique per Slack message.

The file is created on the first `put` only, so a process that never needs it writes
nothing (a read-only root filesystem is fine until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_SECONDS = 5.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spooled ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL UNIQUE,"  # one row per Slack message, however often it is delivered
    " row TEXT NOT NULL)"
)


class Spool:
    """Rows (JSON-able dicts) kept on local disk until the database takes them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(_SCHEMA)
        return connection

    async def put(self, key: str, row: dict[str, Any]) -> None:
        """Keep `row` under `key` (a key already kept is left as it is); on disk on return."""
        await asyncio.to_thread(self._put, key, json.dumps(row))

    def _put(self, key: str, row: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as connection, connection:
            connection.execute("INSERT OR IGNORE INTO spooled (key, row) VALUES (?, ?)", (key, row))

    async def peek(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Up to `limit` kept rows, oldest first, with their ids (none if there is no file)."""
        return await asyncio.to_thread(self._peek, limit)

    def _peek(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        if not self.path.exists():
            return []
        with contextlib.closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, row FROM spooled ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [(int(i), json.loads(row)) for i, row in rows]

    async def remove(self, ids: list[int]) -> None:
        """Forget rows the database now holds."""
        if ids:
            await asyncio.to_thread(self._remove, ids)

    def _remove(self, ids: list[int]) -> None:
        with contextlib.closing(self._connect()) as connection, connection:
            connection.executemany("DELETE FROM spooled WHERE id = ?", [(i,) for i in ids])
