"""PollingLoop (bot/polling.py): a step again at once while it finds work, else after its
interval or when woken; stop lets the step in progress finish; an outage is logged once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.polling import PollingLoop


async def test_it_repeats_while_there_is_work_then_waits_to_be_woken() -> None:
    work = [3, 2, 0, 0]
    calls: list[int] = []
    done: list[int] = []

    async def step() -> int:
        calls.append(len(calls))
        return work.pop(0) if work else 0

    loop = PollingLoop("test", step, interval=60.0, done=done.append)
    loop.start()
    await asyncio.sleep(0.05)
    assert len(calls) == 3  # two with work, one that found none; then it waits
    assert done == [3, 2]
    loop.wake()
    await asyncio.sleep(0.05)
    assert len(calls) == 4
    await loop.stop()


async def test_stop_lets_the_step_in_progress_finish() -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def step() -> int:
        started.set()
        await asyncio.sleep(0.1)
        finished.append("step")
        return 0

    loop = PollingLoop("test", step, interval=60.0, copies=2)
    loop.start()
    await started.wait()
    await loop.stop()
    assert finished == ["step", "step"]  # both copies ran their step to the end


async def test_a_database_outage_is_logged_once_until_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[Exception | int] = [
        OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused")),
        OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused")),
        OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused")),
        0,
    ]

    async def step() -> int:
        outcome = outcomes.pop(0) if outcomes else 0
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    caplog.set_level(logging.WARNING, logger="bot.polling")
    loop = PollingLoop("grading", step, interval=0.01)
    loop.start()
    await asyncio.sleep(0.2)
    await loop.stop()
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "waits for the database" in line]) == 1
    assert len([line for line in lines if "the database is back" in line]) == 1
    assert not any(r.exc_info for r in caplog.records)  # no traceback for an outage
