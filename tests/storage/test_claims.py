"""Two claims (two grading passes, two replicas) take different rows. On PostgreSQL they may
run at the same moment: neither waits for the other's locks, and neither comes back empty
while work is waiting. SQLite has one writer at a time, so there the second claim follows the
first's commit and skips the rows it leased."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.liveness import OWNER_TIMEOUT_SECONDS
from bot.storage import attempt_rows, outbox_rows, owner_rows, prompt_rows
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async
from bot.storage.tables import OutboxMessage, utcnow

LEASE = timedelta(seconds=60)


async def _queue_work(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """`count` answers waiting for a grade and `count` messages waiting to be sent."""
    async with unit_of_work(sessions) as session:
        prompt = await prompt_rows.add_prompt(
            session, team="T1", channel="C1", question_id="deploy-ml-models", source="command"
        )
        await attempt_rows.insert_attempts(
            session,
            [
                {
                    "team": "T1",
                    "channel": "C1",
                    "thread_ts": "1.0",
                    "message_ts": f"1.{i}",
                    "user": f"U{i}",
                    "prompt_id": prompt.id,
                    "question_id": "deploy-ml-models",
                    "answer": "we ship behind a canary",
                    "event_id": None,
                }
                for i in range(count)
            ],
        )
        await outbox_rows.enqueue_many(
            session,
            [
                {
                    "team": "T1",
                    "dedupe_key": f"m{i}",
                    "kind": "feedback",
                    "payload": {"i": i},
                    "channel": "C1",
                }
                for i in range(count)
            ],
        )


async def test_two_claims_take_different_rows(database_url: str) -> None:
    at_once = database_url.startswith("postgresql")
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        await _queue_work(sessions, 4)

        now = utcnow()

        async def claim_again() -> tuple[list[Any], list[Any]]:
            async with sessions() as second, second.begin():
                attempts = await asyncio.wait_for(
                    attempt_rows.claim_attempts(second, now=now, lease=LEASE, limit=2), timeout=5
                )
                messages = await asyncio.wait_for(
                    outbox_rows.claim_outbox(second, now=now, lease=LEASE, limit=2), timeout=5
                )
            return list(attempts), list(messages)

        async with sessions() as first, first.begin():
            attempts_a = await attempt_rows.claim_attempts(first, now=now, lease=LEASE, limit=2)
            messages_a = await outbox_rows.claim_outbox(first, now=now, lease=LEASE, limit=2)
            if at_once:  # the first claim's transaction still open, its rows locked
                attempts_b, messages_b = await claim_again()
        if not at_once:
            attempts_b, messages_b = await claim_again()
        for a, b in ((attempts_a, attempts_b), (messages_a, messages_b)):
            assert len(a) == 2 and len(b) == 2
            assert {row.id for row in a}.isdisjoint({row.id for row in b})
    finally:
        await engine.dispose()


async def test_a_lease_is_taken_over_when_its_owner_dies_and_never_while_it_beats(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An answer and a message leased by a live owner stay its own long after the lease has
    run out (its own next claim takes them again); the moment its heartbeat is older than
    the owner timeout, another owner takes them, the message marked as maybe posted."""
    await _queue_work(sessions, 1)
    timeout = timedelta(seconds=OWNER_TIMEOUT_SECONDS)

    async def claim(owner: str, now: datetime) -> tuple[int, list[OutboxMessage]]:
        async with unit_of_work(sessions) as session:
            attempts = await attempt_rows.claim_attempts(
                session, now=now, lease=LEASE, limit=5, owner=owner, dead_before=now - timeout
            )
            messages = await outbox_rows.claim_outbox(
                session, now=now, lease=LEASE, limit=5, owner=owner, dead_before=now - timeout
            )
        return len(attempts), messages

    async def beat(owner: str, now: datetime) -> None:
        async with unit_of_work(sessions) as session:
            if not await owner_rows.beat(session, owner=owner, now=now):
                await owner_rows.add_owner(session, owner=owner, host="h", pid=1, now=now)

    start = utcnow()
    await beat("A", start)
    await beat("B", start)
    assert (await claim("A", start))[0] == 1
    later = start + 2 * LEASE  # A's lease ran out long ago, but A is alive
    await beat("A", later)
    assert await claim("B", later) == (0, [])
    attempts, messages = await claim("A", later)  # its own: taken again
    assert (attempts, len(messages)) == (1, 1)
    dead = later + timeout + timedelta(seconds=1)  # A's last beat: `later`
    attempts, messages = await claim("B", dead)
    assert (attempts, len(messages)) == (1, 1)
    assert messages[0].owner == "B" and messages[0].maybe_sent
