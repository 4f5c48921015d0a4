"""Every fault at once: a burst over two replicas on one PostgreSQL, with a post hanging in
one channel, HTML 503 pages from Slack's edge, and one replica killed (SIGKILL) mid-burst
while Slack has taken posts whose answers never reached it. Every answer is graded and
answered exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.config import Settings
from bot.slack.standin import SlackStandIn
from tests.serving import Replica, burst, deliver_event, recorded_roots, settled
from tests.slack import payloads as p

TEAM = "T0TEAM"
CHANNELS = ("C0HUNG", "C0EDGE", "C0CALM")
ANSWERS = 30


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_burst_under_every_fault_is_answered_exactly_once(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """Hung post, HTML 503s, two replicas, SIGKILL mid-burst: one feedback per answer."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    first, second = (
        Replica(slack, database_url, tmp_path, name, SLACK_TIMEOUT_SECONDS="2") for name in "ab"
    )
    await asyncio.gather(first.start(), second.start())
    replicas = (first, second)
    try:
        for channel in CHANNELS:
            status, _ = await slack.send_command(first.url, "deploy-ml-models", channel=channel)
            assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == len(CHANNELS))
        roots = await recorded_roots(url, slack.posts("drill_prompt"), team=TEAM)

        async def deliver(i: int) -> None:
            """Answer i in channel i % 3, to replica i % 2 (retried on the other one if
            it is dead, as Slack does)."""
            channel, root = roots[i % len(roots)]
            event = p.reply(root, p.STRONG_ANSWER, user=f"U0USER{i:02d}", channel=channel)
            target, other = replicas[i % 2], replicas[(i + 1) % 2]
            await deliver_event(slack, event, f"Ev0ALL{i:03d}", (target, other))

        def hung() -> bool:
            return any(
                c.body.get("thread_ts") and c.body.get("channel") == "C0HUNG"
                for c in slack.calls_to("chat.postMessage")
            )

        # The first feedback to C0HUNG is posted, but Slack's answer never comes back.
        slack.stall("chat.postMessage", channel="C0HUNG", accepted=True)
        half = ANSWERS // 2
        first_half = asyncio.create_task(burst(deliver, range(half)))
        await slack.wait_for(hung, within=20)
        # Then two answers are HTML pages (mislabelled as JSON, as a proxy may send them).
        slack.fail(
            "chat.postMessage",
            status=503,
            error="Service Unavailable",
            retry_after=None,
            times=2,
            page="application/json",
        )
        await first_half
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= half // 2, within=20)

        # Slack turns slow to answer (each post is carried out at once, answered a second
        # later): replica a is killed with posts of its taken but not yet recorded.
        slack.stall("chat.postMessage", seconds=1.0, accepted=True, times=100_000)
        posted = len(slack.posts("drill_feedback"))
        second_half = asyncio.create_task(burst(deliver, range(half, ANSWERS)))
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= posted + 4, within=20)
        await first.stop(signal.SIGKILL)
        await second_half
        slack.recover()

        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= ANSWERS, within=40)
        # Every answer graded and every message recorded as sent: nothing can be posted
        # after this, so a duplicate would show now.
        assert await settled(url, within=20) == (0, 0)
    except BaseException:
        for replica in replicas:
            print(f"--- {replica.name}.log ---\n{replica.log.read_text()[-4000:]}")
        raise
    finally:
        for replica in replicas:
            await replica.stop()
    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == [f"U0USER{i:02d}" for i in range(ANSWERS)]
