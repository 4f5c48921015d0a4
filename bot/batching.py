"""Group commit: callers that arrive while a write is in flight share the next one.

The first caller starts a flush at once (no added latency when it is quiet); anyone who
arrives during that flush joins the following one. Under load, each transaction carries
as many items as piled up meanwhile, so the cost per item falls as the rate rises.

With `linger`, a flush waits that long for company first (or until someone drains): for
writes nobody waits on, where a little delay buys much larger batches.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`await submit(item)` returns `flush([..., item, ...])`'s result for that item.

    `flush` takes the items in arrival order and returns one result per item, in the same
    order. If it raises, every caller in that batch gets the exception (nothing of the
    batch was written, as `flush` runs in one transaction).
    """

    def __init__(
        self,
        flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 500,
        linger: float = 0.0,
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._linger = linger
        self._hurry: asyncio.Future[None] | None = None  # set while a flush lingers
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        # A caller that gives up (its request was cancelled) must not cancel the batch.
        return await asyncio.shield(self.submit_nowait(item))

    def submit_nowait(self, item: Item) -> asyncio.Future[Result]:
        """Queue without waiting; the returned future settles when the item is written."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        # Marks a failure as seen even when nobody awaits it any more (no "never retrieved").
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            # A fresh context: the flush must not inherit its first caller's state (such as
            # holding SQLite's turn, see storage.db), as it serves every caller after it.
            self._runner = asyncio.create_task(
                self._run(), name="group-commit", context=contextvars.Context()
            )
        return future

    @property
    def pending(self) -> int:
        return len(self._waiting)

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (or has failed)."""
        while self._runner is not None and not self._runner.done():
            if self._hurry is not None:
                _settle(self._hurry)  # no more lingering: someone is waiting
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        if self._linger > 0:
            loop = asyncio.get_running_loop()
            self._hurry = hurry = loop.create_future()
            timer = loop.call_later(self._linger, _settle, hurry)
            try:
                await hurry
            finally:
                timer.cancel()
                self._hurry = None
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
