"""A background service that repeats one step: the grading passes, storing spooled answers,
the retention purge. `start()` runs it on the loop, `stop()` lets the current step finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.loop_failures import LoopFailures

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0  # how long stop() waits for a step in progress


class PollingLoop:
    """Runs `step` (which returns how much it did) again at once while it finds work, else
    after `interval` seconds or when woken. `copies` steps may run side by side. A database
    outage is reported once for all of them (loop_failures.py)."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[int]],
        *,
        interval: float,
        copies: int = 1,
        done: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self._step = step
        self._interval = interval
        self._copies = max(1, copies)
        self._done = done  # told how much each step did, when it did something
        self._failures = LoopFailures(log, name)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._run(), name=self.name) for _ in range(self._copies)
        ]

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            for task in pending:
                task.cancel()
            self._tasks = []

    async def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the step, not after: work that arrives during a step that found
            # nothing sets it again, so the wait below returns at once.
            self._wake.clear()
            try:
                did = await self._step()
                self._failures.succeeded()
            except Exception as exc:
                self._failures.failed(exc)
                did = 0
            if did:
                if self._done is not None:
                    self._done(did)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
