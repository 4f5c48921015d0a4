"""Migrations create every table on SQLite and PostgreSQL, downgrade cleanly, and match the models."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from bot.config import Settings
from bot.storage.db import (
    SCHEMA_REVISION,
    alembic_config,
    downgrade,
    make_engine,
    migrate_to_head,
    schema_revision,
    upgrade,
)
from bot.storage.tables import utcnow

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
    # the running processes that hold leases, with their heartbeats (0005)
    "lease_owner",
    # slash commands handled, for ten minutes (0006): a replayed command does nothing
    "command_claim",
    # the calibration loop (0010): "Was this fair?" verdicts, paired mocks' human views,
    # the opt-in to share disputed answers
    "grade_verdict",
    "paired_rating",
    "calibration_consent",
    # spaced review (0011): who opted in, their memory of each criterion, the reviews sent
    "review_optin",
    "review_card",
    "review",
}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: an empty database."""
    return empty_database_url


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


async def test_schema_revision_is_the_newest_migration(database_url: str) -> None:
    """SCHEMA_REVISION (what `serve` checks before loading Alembic) is the head of migrations/."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == SCHEMA_REVISION


async def test_migrate_to_head_upgrades_only_what_is_behind(database_url: str) -> None:
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    engine = make_engine(url)
    try:
        assert await schema_revision(engine) is None  # a new database
        await migrate_to_head(engine, url)
        assert await schema_revision(engine) == SCHEMA_REVISION
        assert await _tables(url) == TABLES
        await asyncio.to_thread(downgrade, url, "0003")
        assert await schema_revision(engine) == "0003"
        await migrate_to_head(engine, url)  # an older database is brought up to date
        assert await schema_revision(engine) == SCHEMA_REVISION
    finally:
        await engine.dispose()


def test_a_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    """Restarting on an up-to-date database neither imports Alembic nor runs its environment."""
    url = f"sqlite+inline:///{tmp_path / 'head.db'}"
    upgrade(url)
    script = (
        "import asyncio, sys\n"
        "import bot.runtime\n"
        "from bot.storage.db import make_engine, migrate_to_head\n"
        f"engine = make_engine({url!r})\n"
        f"asyncio.run(migrate_to_head(engine, {url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


async def _outbox_after_upgrade(
    database_url: str, before: str, rows: tuple[tuple[str, str], ...], columns: str
) -> list[tuple[object, ...]]:
    """Queue outbox rows (status, payload) at revision `before`, upgrade to head, and read
    `columns` of every row back, oldest first."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await asyncio.to_thread(upgrade, url, before)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for i, (status, payload) in enumerate(rows):
                await conn.execute(
                    sa.text(
                        "INSERT INTO outbox_message (team, dedupe_key, kind, payload, status,"
                        " attempts, next_try_at, created_at)"
                        " VALUES ('T1', :key, 'feedback', :payload, :status, 0, :now, :now)"
                    ),
                    {"key": f"m{i}", "payload": payload, "status": status, "now": utcnow()},
                )
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as conn:
            found = await conn.execute(sa.text(f"SELECT {columns} FROM outbox_message ORDER BY id"))
            return [tuple(row) for row in found]
    finally:
        await engine.dispose()


async def test_messages_waiting_at_0005_get_their_channel(database_url: str) -> None:
    """0005 fills in the channel of messages queued before it, so a sender can leave out the
    channels it is posting to; sent messages (their payload dropped) stay without one."""
    rows = (
        ("pending", '{"channel": "C0WAITING", "text": "hi"}'),
        ("sent", "{}"),
    )
    found = await _outbox_after_upgrade(database_url, "0004", rows, "status, channel")
    assert found == [("pending", "C0WAITING"), ("sent", None)]


async def test_messages_waiting_at_0009_get_their_thread_and_person(database_url: str) -> None:
    """0009 routes messages queued before it from their payload (channel, thread, the person
    named in the metadata); messages already sent keep none."""
    feedback = {
        "channel": "C0WAITING",
        "thread_ts": "171.000100",
        "text": "hi",
        "metadata": {"event_type": "drill_feedback", "event_payload": {"user": "U0ALICE"}},
    }
    rows = (
        ("pending", json.dumps(feedback)),
        ("pending", '{"channel": "C0WAITING", "text": "a prompt"}'),
        ("sent", "{}"),
    )
    found = await _outbox_after_upgrade(database_url, "0008", rows, "channel, thread_ts, person")
    assert found == [
        ("C0WAITING", "171.000100", "U0ALICE"),
        ("C0WAITING", None, None),
        (None, None, None),
    ]


async def test_schedules_made_before_0008_get_their_slot_once(database_url: str) -> None:
    """0008 gives each schedule its slot, except a repeat of an earlier one (left NULL, so
    the unique slot holds); their limits start empty, allowing any question."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await asyncio.to_thread(upgrade, url, "0006")
    engine = make_engine(url)
    rows = (("C1", "09:30"), ("C1", "09:30"), ("C1", "10:00"), ("C2", "09:30"))
    try:
        async with engine.begin() as conn:
            for channel, time in rows:
                await conn.execute(
                    sa.text(
                        "INSERT INTO schedule (team, channel, days, time, tz, paused, skip_dates,"
                        " created_by, created_at)"
                        " VALUES ('T1', :channel, 'daily', :time, 'UTC', false, '[]', 'U1', :now)"
                    ),
                    {"channel": channel, "time": time, "now": utcnow()},
                )
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text("SELECT slot, topics, difficulties FROM schedule ORDER BY id")
            )
            assert [tuple(row) for row in found] == [
                ("T1:C1:daily:09:30:UTC", "[]", "[]"),
                (None, "[]", "[]"),
                ("T1:C1:daily:10:00:UTC", "[]", "[]"),
                ("T1:C2:daily:09:30:UTC", "[]", "[]"),
            ]
    finally:
        await engine.dispose()
