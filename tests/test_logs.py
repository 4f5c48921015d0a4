"""Secrets never reach the logs, even at DEBUG level through a whole drill."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bot.logs import scrub, setup_logging
from bot.playground.standin import SlackStandIn
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningBot
from tests.slack import payloads as p


def test_scrub_removes_token_shapes() -> None:
    """Slack tokens, API keys and bearer headers are redacted wherever they appear."""
    text = scrub("token=xoxb-1-2-abc key sk-abcdefghijkl Authorization: Bearer xyz", ("hunter22",))
    assert "xoxb-" not in text and "sk-abc" not in text and "xyz" not in text


async def test_full_drill_logs_no_secret(
    bot: RunningBot, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every log line of a command, an answer, feedback and /metrics is free of secrets."""
    setup_logging("DEBUG", "json", (BOT_TOKEN, SIGNING_SECRET))
    try:
        root = await p.ask(slack, bot)
        await slack.send_event(
            bot.url, p.reply(root, p.STRONG_ANSWER + f" my token is {BOT_TOKEN}")
        )
        await slack.wait_for(lambda: slack.posts("drill_feedback"))
        async with (
            aiohttp.ClientSession() as session,
            session.get(bot.base + "/metrics") as response,
        ):
            metrics = await response.text()
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "chat.postMessage" in err or "chat_postMessage" in err  # DEBUG really logged the calls
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in err
        assert secret not in metrics
