"""Migrations create every table on SQLite and PostgreSQL, downgrade cleanly, and match the models."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from bot.config import Settings
from bot.storage.db import alembic_config, downgrade, make_engine, upgrade

TABLES = {
    "prompt",
    "attempt",
    "schedule",
    "schedule_run",
    "outbox_message",
    "user_profile",
    "mock_session",
    # multi-workspace mode (0003): slack-sdk's installation and OAuth state stores, and
    # the schedule for deleting an uninstalled workspace's data
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "workspace_removal",
}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_and_no_drift(database_url: str) -> None:
    """head creates all tables; base drops them; the models and migrations agree (alembic check)."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await asyncio.to_thread(upgrade, url)
    assert await _tables(url) == TABLES
    await asyncio.to_thread(command.check, alembic_config(url))
    await asyncio.to_thread(downgrade, url, "base")
    assert await _tables(url) == set()
    await asyncio.to_thread(upgrade, url)
    assert await _tables(url) == TABLES
