"""Storage: tables, the engine and sessions, and every query (repository)."""

from bot.storage import sqlite_inline  # noqa: F401 - registers the sqlite+inline dialect
