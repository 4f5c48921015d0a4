"""Replicas on one PostgreSQL: requests alternate, retries cross over, one is killed mid-burst.

Two `serve` processes share the database. Scheduled fires are caught up by both at
once; commands and threaded answers alternate between them, Slack's retries of an
event land on the other replica, and one replica is SIGKILLed in the middle of the
burst while Slack is failing (so it dies holding claims; test_faults_together.py kills
one between Slack taking posts and the replica recording them). The survivor takes
over once the dead one's heartbeat stops; a replacement joining later re-posts
nothing. Every answer gets exactly one feedback; every fire posts one prompt.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col

from bot.config import Settings
from bot.playground.standin import SlackStandIn
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work
from bot.storage.tables import OutboxMessage, utcnow
from tests.serving import (
    Replica,
    burst,
    deliver_event,
    recorded_roots,
    seed_missed_fires,
    settled,
)
from tests.slack import payloads as p

LEASE_SECONDS = 2
ANSWERS = 30
FIRE_CHANNELS = ("C0FIREA", "C0FIREB", "C0FIREC")
COMMAND_CHANNEL = "C0DRILL"
TEAM = "T0TEAM"


async def _claimed(url: str) -> int:
    """Messages a replica holds a lease on right now (it is posting them)."""
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            leased = await session.execute(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending", col(OutboxMessage.lease_until) > utcnow())
            )
            return int(leased.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_replicas_answer_once_and_fire_once_when_one_is_killed_mid_burst(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """Alternating requests, cross-replica retries, SIGKILL mid-burst: one feedback per answer,
    one prompt per fire, and nothing left stuck after the lease."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await seed_missed_fires(url, team=TEAM, channels=FIRE_CHANNELS)
    first, second = (
        Replica(slack, database_url, tmp_path, "a", LEASE_SECONDS=str(LEASE_SECONDS)),
        Replica(slack, database_url, tmp_path, "b", LEASE_SECONDS=str(LEASE_SECONDS)),
    )
    replacement: Replica | None = None
    await asyncio.gather(first.start(), second.start())
    replicas = (first, second)
    try:
        # Both replicas catch up the same missed fires at start: one prompt each.
        await slack.wait_for(lambda: len(slack.posts("drill_prompt")) >= len(FIRE_CHANNELS), 20)
        for replica in replicas:  # a command to each
            status, _ = await slack.send_command(replica.url, "deploy-ml-models")
            assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_prompt")) >= len(FIRE_CHANNELS) + 2)
        roots = await recorded_roots(url, slack.posts("drill_prompt"), team=TEAM)

        async def deliver(i: int) -> None:
            """Answer i to replica i % 2; a failed delivery is retried on a live replica, and
            every third one is also retried on the other replica (Slack's retry crossing over)."""
            channel, root = roots[i % len(roots)]
            event = p.reply(root, p.STRONG_ANSWER, user=f"U0USER{i:02d}", channel=channel)
            target, other = replicas[i % 2], replicas[(i + 1) % 2]
            await deliver_event(
                slack, event, f"Ev0BURST{i:03d}", (target, other, second), also_retry=i % 3 == 0
            )

        # First half: Slack is healthy; every answer gets its feedback.
        half = ANSWERS // 2
        await burst(deliver, range(half))
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= half, within=30)

        # Second half: Slack turns slow and failing, so both replicas hold claims on answers
        # and messages (and none dies between a successful post and recording it); one
        # replica is killed in the middle of the burst.
        slack.fail(
            "chat.postMessage",
            status=200,
            error="service_unavailable",
            retry_after=None,
            times=100_000,
            delay=0.5,
        )
        rest = asyncio.create_task(burst(deliver, range(half, ANSWERS)))
        for _ in range(60):  # until messages are claimed mid-post, then kill
            if await _claimed(url):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no message was being posted")
        await first.stop(signal.SIGKILL)
        await rest
        await asyncio.sleep(LEASE_SECONDS)  # the dead replica's calls to Slack have ended
        slack.recover()

        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= ANSWERS, within=90)
        await asyncio.sleep(LEASE_SECONDS + 1.5)  # time for a duplicate to show up
        assert await settled(url, within=10) == (0, 0)

        # A replacement joins: its start-up catch-up must not post the fires again.
        replacement = await Replica(
            slack, database_url, tmp_path, "c", LEASE_SECONDS=str(LEASE_SECONDS)
        ).start()
        await asyncio.sleep(1.5)
    except BaseException:
        for replica in (first, second, replacement):
            if replica is not None:
                print(f"--- {replica.name}.log ---\n{replica.log.read_text()[-4000:]}")
        raise
    finally:
        for replica in (first, second, replacement):
            if replica is not None:
                await replica.stop()

    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == [f"U0USER{i:02d}" for i in range(ANSWERS)]
    sources = [m["metadata"]["event_payload"]["source"] for m in slack.posts("drill_prompt")]
    assert sorted(sources) == ["command"] * 2 + ["scheduled"] * len(FIRE_CHANNELS)
    fired = sorted(
        m["channel"] for m in slack.posts("drill_prompt") if m["channel"] != COMMAND_CHANNEL
    )
    assert fired == sorted(FIRE_CHANNELS)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_replicas_starting_together_on_an_empty_database_all_come_up(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """Each `serve` migrates on start; on a fresh PostgreSQL they take turns instead of racing."""
    replicas = [Replica(slack, database_url, tmp_path, name) for name in "xyz"]
    try:
        await asyncio.gather(*(replica.start() for replica in replicas))
        assert all(replica.alive for replica in replicas)
    finally:
        for replica in replicas:
            await replica.stop()
