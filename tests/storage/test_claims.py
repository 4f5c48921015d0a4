"""Two claims (two grading passes, two replicas) take different rows. On PostgreSQL they may
run at the same moment: neither waits for the other's locks, and neither comes back empty
while work is waiting. SQLite has one writer at a time, so there the second claim follows the
first's commit and skips the rows it leased."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async
from bot.storage.tables import utcnow

LEASE = timedelta(seconds=60)


async def test_two_claims_take_different_rows(database_url: str) -> None:
    at_once = database_url.startswith("postgresql")
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await upgrade_async(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with unit_of_work(sessions) as session:
            prompt = await repo.add_prompt(
                session, team="T1", channel="C1", question_id="deploy-ml-models", source="command"
            )
            await repo.insert_attempts(
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
                    for i in range(4)
                ],
            )
            await repo.enqueue_many(
                session,
                [
                    {"team": "T1", "dedupe_key": f"m{i}", "kind": "feedback", "payload": {"i": i}}
                    for i in range(4)
                ],
            )

        now = utcnow()

        async def claim_again() -> tuple[list[Any], list[Any]]:
            async with sessions() as second, second.begin():
                attempts = await asyncio.wait_for(
                    repo.claim_attempts(second, now=now, lease=LEASE, limit=2), timeout=5
                )
                messages = await asyncio.wait_for(
                    repo.claim_outbox(second, now=now, lease=LEASE, limit=2), timeout=5
                )
            return list(attempts), list(messages)

        async with sessions() as first, first.begin():
            attempts_a = await repo.claim_attempts(first, now=now, lease=LEASE, limit=2)
            messages_a = await repo.claim_outbox(first, now=now, lease=LEASE, limit=2)
            if at_once:  # the first claim's transaction still open, its rows locked
                attempts_b, messages_b = await claim_again()
        if not at_once:
            attempts_b, messages_b = await claim_again()
        for a, b in ((attempts_a, attempts_b), (messages_a, messages_b)):
            assert len(a) == 2 and len(b) == 2
            assert {row.id for row in a}.isdisjoint({row.id for row in b})
    finally:
        await engine.dispose()
