"""Nothing lost, nothing doubled: rate limits, Slack errors and restarts."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.questions import QuestionBank
from bot.runtime import Runtime
from bot.slack.standin import SlackStandIn
from bot.storage.db import unit_of_work
from bot.storage.tables import OutboxMessage
from tests.conftest import RunningBot, make_settings
from tests.slack import payloads as p


async def test_rate_limited_feedback_is_posted_once_after_retry_after(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """429s with Retry-After are honoured and the feedback still arrives, exactly once."""
    root = await p.ask(slack, bot)
    slack.fail("chat.postMessage", status=429, retry_after=0, times=3)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"), within=20)
    assert len(slack.posts("drill_feedback")) == 1
    assert len(slack.calls_to("chat.postMessage")) >= 5  # prompt + 3 refusals + the feedback


async def test_server_errors_are_retried_by_the_outbox(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A run of 503s delays the prompt but does not drop it."""
    slack.fail(
        "chat.postMessage", status=503, error="service_unavailable", retry_after=None, times=4
    )
    status, _ = await slack.send_command(bot.url, "deploy-ml-models")
    assert status == 200
    await slack.wait_for(lambda: slack.posts("drill_prompt"), within=20)
    assert len(slack.posts("drill_prompt")) == 1


async def test_undeliverable_message_is_marked_failed_not_retried(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A permanent error (bot not in channel) is recorded as failed, not retried forever."""
    slack.fail("chat.postMessage", status=200, error="not_in_channel", retry_after=None, times=1)
    await slack.send_command(bot.url, "deploy-ml-models")
    await slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
    for _ in range(50):
        async with unit_of_work(bot.runtime.sessions) as session:
            rows = (await session.execute(select(OutboxMessage))).scalars().all()
        if rows and rows[0].status == "failed":
            break
        await asyncio.sleep(0.05)
    assert [r.status for r in rows] == ["failed"]
    assert "not_in_channel" in (rows[0].last_error or "")


async def test_pending_work_resumes_after_restart(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """An answer stored while Slack was unreachable is graded and posted by the next process."""
    first = Runtime(make_settings(database_url, slack), bank=bank)
    await first.start()
    port = await first.serve_http(host="127.0.0.1", port=0)
    running = RunningBot(first, f"http://127.0.0.1:{port}/slack/events")
    root = await p.ask(slack, running)
    slack.fail(
        "chat.postMessage", status=503, error="service_unavailable", retry_after=None, times=1000
    )
    await slack.send_event(running.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 3)
    await first.stop()
    slack.recover()  # Slack is back
    second = Runtime(make_settings(database_url, slack), bank=bank)
    await second.start()
    try:
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=20)
    finally:
        await second.stop()
    assert len(slack.posts("drill_feedback")) == 1
