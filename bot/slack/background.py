"""Work a listener starts after the ack (Web API calls, which may take their timeout)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


class AfterAck:
    """Runs coroutines once the listener has returned and Bolt has answered Slack; keeps
    the tasks from the garbage collector and logs what fails."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, work: Awaitable[object], what: str) -> None:
        async def logged() -> None:
            try:
                await work
            except Exception:
                log.exception("%s failed after the ack", what)

        task = asyncio.create_task(logged(), name=what)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
