"""The LLM grader end to end through Slack: used when it answers, never missed when it does not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import RunningBot, make_settings
from tests.grading.fake_openai import FakeOpenAI, judged
from tests.slack import payloads as p


async def _bot(
    database_url: str, slack: SlackStandIn, bank: QuestionBank, base_url: str
) -> RunningBot:
    settings = make_settings(
        database_url,
        slack,
        grader="llm",
        openai_api_key="sk-test-key-123456",
        openai_base_url=base_url,
        openai_model="gpt-test",
        openai_timeout_seconds=0.5,
    )
    runtime = Runtime(settings, bank=bank)
    await runtime.start()
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    return RunningBot(runtime, f"http://127.0.0.1:{port}/slack/events")


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI(model="gpt-test").start()
    yield server
    await server.close()


async def test_llm_grades_through_slack(
    database_url: str, slack: SlackStandIn, bank: QuestionBank, openai_server: FakeOpenAI
) -> None:
    """With the endpoint up, the feedback names the LLM grader and its tokens reach /metrics."""
    openai_server.script = judged(default_level=2)
    bot = await _bot(database_url, slack, bank, openai_server.base_url)
    try:
        root = await p.ask(slack, bot)
        await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
        await slack.wait_for(lambda: slack.posts("drill_feedback"))
        async with (
            aiohttp.ClientSession() as session,
            session.get(bot.base + "/metrics") as response,
        ):
            metrics = await response.text()
    finally:
        await bot.runtime.stop()
    [feedback] = slack.posts("drill_feedback")
    meta = feedback["metadata"]["event_payload"]
    assert meta["grader"] == "llm:gpt-test"
    assert meta["score"] >= 90  # computed in code from the model's levels
    assert len(openai_server.requests) == 1
    assert "drill_llm_tokens_total 1000.0" in metrics


async def test_openai_down_still_gets_rubric_feedback_on_time(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """With the OpenAI-compatible server down, a threaded answer still gets rubric feedback, quickly."""
    server = await FakeOpenAI().start()
    base_url = server.base_url
    await server.close()  # nothing listens there any more
    bot = await _bot(database_url, slack, bank, base_url)
    try:
        root = await p.ask(slack, bot)
        started = time.monotonic()
        await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=15)
        elapsed = time.monotonic() - started
    finally:
        await bot.runtime.stop()
    [feedback] = slack.posts("drill_feedback")
    assert feedback["metadata"]["event_payload"]["grader"] == "rubric"
    assert feedback["metadata"]["event_payload"]["score"] >= 70
    assert elapsed < 10
