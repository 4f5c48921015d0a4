"""Fixtures of the Slack tests: people acting in the stand-in's workspace."""

from __future__ import annotations

import pytest

from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from tests.conftest import RunningBot


@pytest.fixture
def people(slack: SlackStandIn, bot: RunningBot) -> LocalClient:
    """Alice (a workspace admin) and Bob in #C0DRILL, typing and clicking through LocalClient."""
    client = LocalClient(slack, bot_url=bot.url, channel="C0DRILL")
    client.add_person("U0ALICE", "Alice", admin=True)
    client.add_person("U0BOB", "Bob")
    return client
