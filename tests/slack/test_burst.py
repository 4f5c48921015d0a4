"""Many answers at once: stored together, graded together, each answered exactly once."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from sqlmodel import select

from bot.playground.standin import SlackStandIn
from bot.storage.db import unit_of_work
from bot.storage.tables import Attempt
from tests.conftest import RunningBot
from tests.slack import payloads as p

WEAK = "I would put the model behind an API and monitor latency."


def _feedback_users(slack: SlackStandIn) -> list[str]:
    return [m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback")]


async def test_simultaneous_answers_and_retries_each_get_one_feedback(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """30 people answer at the same moment and Slack retries 5 of them before any ack."""
    root = await p.ask(slack, bot)
    events = [p.reply(root, p.STRONG_ANSWER, user=f"U{i:04d}") for i in range(30)]
    sends = [slack.send_event(bot.url, e, event_id=f"Ev{i}") for i, e in enumerate(events)]
    sends += [
        slack.send_event(bot.url, events[i], event_id=f"Ev{i}", retry_num=1) for i in range(5)
    ]
    statuses = [status for status, _ in await asyncio.gather(*sends)]
    assert statuses == [200] * 35
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= 30, within=30)
    await asyncio.sleep(0.3)  # a duplicate would arrive now
    users = _feedback_users(slack)
    assert sorted(users) == [f"U{i:04d}" for i in range(30)]
    async with unit_of_work(bot.runtime.sessions) as session:
        rows = (await session.execute(select(Attempt))).scalars().all()
    assert len(rows) == 30
    assert {r.status for r in rows} == {"posted"}
    async with aiohttp.ClientSession() as http, http.get(bot.base + "/metrics") as response:
        metrics = await response.text()
    assert "drill_answers_total 30.0" in metrics
    assert "drill_duplicate_deliveries_total 5.0" in metrics


async def test_two_tries_graded_in_one_batch_are_compared(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A weak and a strong try sent together: the later one is compared with the earlier."""
    root = await p.ask(slack, bot)
    weak, strong = p.reply(root, WEAK), p.reply(root, p.STRONG_ANSWER)
    await asyncio.gather(slack.send_event(bot.url, weak), slack.send_event(bot.url, strong))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2, within=20)
    texts = [
        json.dumps(m.get("blocks", []), ensure_ascii=False) for m in slack.posts("drill_feedback")
    ]
    assert sum("Since your last try" in t for t in texts) == 1
    assert "Since your last try" not in texts[0]  # the first one posted has nothing before it
