"""Nothing lost, nothing doubled: rate limits, Slack errors and restarts."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from bot.playground.standin import Call, SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
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


def _prompt_calls(slack: SlackStandIn) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if (c.body.get("metadata") or {}).get("event_type") == "drill_prompt"
    ]


async def test_a_workspace_limit_holds_every_channel_until_retry_after(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A 429 for a channel nothing was posted to cannot be that channel's limit: the whole
    workspace waits out Retry-After instead of each channel being refused in turn."""
    slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    await slack.send_command(bot.url, "deploy-ml-models", channel="C0FAN00")
    await slack.wait_for(lambda: any(not c.body.get("_ok") for c in _prompt_calls(slack)))
    refused_at = next(c.at for c in _prompt_calls(slack) if not c.body.get("_ok"))
    channels = [f"C0FAN{i:02d}" for i in range(12)]
    for channel in channels[1:]:
        status, _ = await slack.send_command(bot.url, "deploy-ml-models", channel=channel)
        assert status == 200
    await slack.wait_for(
        lambda: {p["channel"] for p in slack.posts("drill_prompt")} == set(channels), within=20
    )
    calls = _prompt_calls(slack)
    assert len(calls) == len(channels) + 1  # one refusal, then each channel once
    assert min(c.at for c in calls if c.body.get("_ok")) >= refused_at + 1.0
    assert sorted(p["channel"] for p in slack.posts("drill_prompt")) == channels


async def test_a_channel_limit_holds_only_that_channel(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A 429 right after a post to the same channel is that channel's limit: it waits, while
    prompts for other channels go out at once."""
    await p.ask(slack, bot, channel="C0BUSY")
    slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    await slack.send_command(bot.url, "deploy-ml-models", channel="C0BUSY")
    await slack.wait_for(lambda: any(not c.body.get("_ok") for c in _prompt_calls(slack)))
    refused_at = next(c.at for c in _prompt_calls(slack) if not c.body.get("_ok"))
    for channel in ("C0QUIET1", "C0QUIET2"):
        await slack.send_command(bot.url, "deploy-ml-models", channel=channel)
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == 4, within=20)
    posted = {c.body["channel"]: c.at for c in _prompt_calls(slack) if c.body.get("_ok")}
    assert posted["C0QUIET1"] < refused_at + 0.9 and posted["C0QUIET2"] < refused_at + 0.9
    assert posted["C0BUSY"] >= refused_at + 1.0  # its second prompt waited out Retry-After


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


@pytest.mark.parametrize("page", ["text/html", "text/plain", "application/json"])
async def test_an_html_server_error_is_retried_with_backoff(
    bot: RunningBot, slack: SlackStandIn, page: str
) -> None:
    """A 503 whose body is an HTML page (as Slack's edge may answer, whatever its content
    type says) is a transient error: the feedback follows after the usual backoff of a few
    seconds, not after the lease has run out."""
    root = await p.ask(slack, bot)
    slack.fail(
        "chat.postMessage",
        status=503,
        error="Service Unavailable",
        retry_after=None,
        times=2,
        page=page,
    )
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"), within=10)
    await asyncio.sleep(0.5)
    assert len(slack.posts("drill_feedback")) == 1
