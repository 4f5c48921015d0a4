"""Storage: tables, the engine and sessions, and the queries (one `*_rows` module per table group)."""

from bot.storage import sqlite_inline  # noqa: F401 - registers the sqlite+inline dialect
