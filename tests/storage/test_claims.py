"""Two claims at once on PostgreSQL (two grading passes, two replicas) take different rows:
neither waits for the other's locks, and neither comes back empty while work is waiting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.config import Settings
from bot.storage import repository as repo
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async
from bot.storage.tables import utcnow

LEASE = timedelta(seconds=60)


async def test_two_claims_at_once_take_different_rows(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: two claims never overlap")
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
        async with sessions() as first, first.begin():
            attempts_a = await repo.claim_attempts(first, now=now, lease=LEASE, limit=2)
            messages_a = await repo.claim_outbox(first, now=now, lease=LEASE, limit=2)
            # The first claim's transaction is still open, its rows locked.
            async with sessions() as second, second.begin():
                attempts_b = await asyncio.wait_for(
                    repo.claim_attempts(second, now=now, lease=LEASE, limit=2), timeout=5
                )
                messages_b = await asyncio.wait_for(
                    repo.claim_outbox(second, now=now, lease=LEASE, limit=2), timeout=5
                )
        for a, b in ((attempts_a, attempts_b), (messages_a, messages_b)):
            assert len(a) == 2 and len(b) == 2
            assert {row.id for row in a}.isdisjoint({row.id for row in b})
    finally:
        await engine.dispose()
