"""Background work waits for Slack's requests in flight, briefly. How long depends on what
holds the loop: SQLite's statements and in-process grading do; PostgreSQL's I/O with a grading
worker does not, so there a long wait would only slow grading down."""

from __future__ import annotations

import asyncio

import pytest

from bot.in_flight import RequestsInFlight
from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import make_settings


@pytest.mark.parametrize("processes", [0, 1])
async def test_the_wait_is_short_only_on_postgresql_with_a_worker(
    database_url: str, slack: SlackStandIn, bank: QuestionBank, processes: int
) -> None:
    runtime = Runtime(make_settings(database_url, slack, grading_processes=processes), bank=bank)
    try:
        short = database_url.startswith("postgresql") and processes > 0
        assert runtime.in_flight.max_wait == (0.01 if short else 0.05)
    finally:
        await runtime.engine.dispose()


async def test_background_work_waits_for_requests_in_flight() -> None:
    in_flight = RequestsInFlight(max_wait=5.0)
    order: list[str] = []

    async def request() -> None:
        with in_flight.request():
            await asyncio.sleep(0.05)
            order.append("request done")

    async def background() -> None:
        await asyncio.sleep(0)  # starts after the request
        await in_flight.wait_until_idle()
        order.append("background step")

    await asyncio.gather(request(), background())
    assert order == ["request done", "background step"]


async def test_background_work_is_delayed_at_most_max_wait() -> None:
    in_flight = RequestsInFlight(max_wait=0.02)
    with in_flight.request():  # a request that never ends (sustained load)
        started = asyncio.get_running_loop().time()
        await in_flight.wait_until_idle()
        waited = asyncio.get_running_loop().time() - started
    assert 0.015 <= waited < 1.0
