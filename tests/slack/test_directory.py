"""directory.py: a person's timezone and the DM with them, through the Web API."""

from __future__ import annotations

import pytest

from bot.errors import RetryLater, Undeliverable
from bot.playground.standin import SlackStandIn
from bot.slack.app import build_client
from bot.slack.directory import SlackDirectory
from tests.conftest import BOT_TOKEN, make_settings


async def _token(team: str) -> str | None:
    return BOT_TOKEN if team == "T0TEAM" else None


def _directory(slack: SlackStandIn) -> SlackDirectory:
    client = build_client(make_settings("sqlite:///unused.db", slack))
    return SlackDirectory(client, _token)


async def test_timezone_and_dm(slack: SlackStandIn) -> None:
    slack.add_user("U0BOB", tz="Asia/Tokyo")
    directory = _directory(slack)
    assert await directory.timezone("T0TEAM", "U0BOB") == "Asia/Tokyo"
    assert await directory.open_dm("T0TEAM", "U0BOB") == slack.dm_channel("U0BOB")
    [call] = slack.calls_to("conversations.open")
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_failures_say_whether_to_try_again(slack: SlackStandIn) -> None:
    directory = _directory(slack)
    slack.fail("conversations.open", status=503, error="service_unavailable", times=2)
    with pytest.raises(RetryLater):
        await directory.open_dm("T0TEAM", "U0BOB")
    slack.fail("users.info", status=200, error="user_not_found", retry_after=None)
    with pytest.raises(Undeliverable):
        await directory.timezone("T0TEAM", "U0GONE")
    with pytest.raises(Undeliverable):  # a workspace the app is not installed in
        await directory.open_dm("T0ELSE", "U0BOB")
