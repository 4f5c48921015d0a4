"""How long grading waits for Slack's requests in flight depends on what holds the loop:
SQLite's statements and in-process grading do; PostgreSQL's I/O with a grading worker does
not, so there a long wait would only slow grading down."""

from __future__ import annotations

import pytest

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import make_settings


@pytest.mark.parametrize("processes", [0, 1])
async def test_give_way_is_short_only_on_postgresql_with_a_worker(
    database_url: str, slack: SlackStandIn, bank: QuestionBank, processes: int
) -> None:
    runtime = Runtime(make_settings(database_url, slack, grading_processes=processes), bank=bank)
    try:
        short = database_url.startswith("postgresql") and processes > 0
        assert runtime.in_flight.max_wait == (0.01 if short else 0.05)
    finally:
        await runtime.engine.dispose()
