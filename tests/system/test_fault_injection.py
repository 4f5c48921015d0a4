"""Slack failing and the bot killed with SIGKILL mid-way: every answer still gets exactly one feedback."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.playground.standin import SlackStandIn
from tests.serving import ask_question, free_port, serve_healthy
from tests.slack import payloads as p

ANSWERS = 12


async def test_outage_and_sigkill_lose_nothing_and_double_nothing(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """429s and 503s, then kill -9, then a restart: one feedback per answer, none twice."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    first = await serve_healthy(slack, database_url, port, tmp_path, LEASE_SECONDS="2")
    try:
        root = await ask_question(slack, url)

        slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=3)
        slack.fail(
            "chat.postMessage",
            status=503,
            error="service_unavailable",
            retry_after=None,
            times=10_000,
        )
        users = [f"U0USER{i:02d}" for i in range(ANSWERS)]
        for user in users:
            status, _ = await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user=user))
            assert status == 200  # acknowledged only after the answer is stored
        await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 6, within=20)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()

    slack.recover()
    second = await serve_healthy(slack, database_url, port, tmp_path, LEASE_SECONDS="2")
    try:
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= ANSWERS, within=60)
        await asyncio.sleep(1.5)  # time for any duplicate to show up
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == users
