"""Group commit and the in_flight gate: the two pieces that let a burst share its work."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.batching import GroupCommit


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    async def flush(self, items: Sequence[str]) -> list[str]:
        self.batches.append(list(items))
        await asyncio.sleep(0.01)  # a write in flight: later callers pile up meanwhile
        if self.fail_on in items:
            raise RuntimeError("disk full")
        return [item.upper() for item in items]


async def test_callers_during_a_flush_share_the_next_one() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush)
    first = asyncio.ensure_future(batcher.submit("a0"))
    await asyncio.sleep(0.001)  # its flush is now in flight
    results = await asyncio.gather(first, *(batcher.submit(f"a{i}") for i in range(1, 10)))
    assert results == [f"A{i}" for i in range(10)]
    # The first caller was flushed alone at once; the nine who came meanwhile go together.
    assert recorder.batches == [["a0"], [f"a{i}" for i in range(1, 10)]]


async def test_callers_arriving_together_are_written_together() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush)
    await asyncio.gather(*(batcher.submit(f"b{i}") for i in range(5)))
    assert recorder.batches == [[f"b{i}" for i in range(5)]]


async def test_a_quiet_caller_is_flushed_at_once() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush)
    assert await batcher.submit("x") == "X"
    assert await batcher.submit("y") == "Y"
    assert recorder.batches == [["x"], ["y"]]


async def test_a_failed_flush_fails_only_its_own_batch() -> None:
    recorder = Recorder(fail_on="bad")
    batcher = GroupCommit(recorder.flush)
    first = asyncio.ensure_future(batcher.submit("ok"))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batcher.submit(x)) for x in ("bad", "also")]
    assert await first == "OK"
    for future in rest:
        with pytest.raises(RuntimeError, match="disk full"):
            await future
    assert await batcher.submit("later") == "LATER"  # the batcher keeps working


async def test_batches_are_capped_and_drain_waits_for_all() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush, max_batch=3)
    futures = [batcher.submit_nowait(str(i)) for i in range(8)]
    assert batcher.pending == 8
    await batcher.drain()
    assert all(f.done() for f in futures)
    assert [len(b) for b in recorder.batches] == [3, 3, 2]


async def test_a_cancelled_caller_does_not_cancel_the_write() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush)
    caller = asyncio.ensure_future(batcher.submit("kept"))
    await asyncio.sleep(0)
    caller.cancel()
    await batcher.drain()
    assert recorder.batches == [["kept"]]


async def test_a_lingering_flush_gathers_items_submitted_one_by_one() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush, linger=0.05)
    futures = []
    for i in range(4):  # one at a time, as a single channel's posts complete
        futures.append(batcher.submit_nowait(f"m{i}"))
        await asyncio.sleep(0.005)
    assert recorder.batches == []  # still lingering
    await asyncio.gather(*futures)
    assert recorder.batches == [[f"m{i}" for i in range(4)]]


async def test_drain_cuts_the_linger_short() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.flush, linger=30.0)
    future = batcher.submit_nowait("urgent")
    await asyncio.wait_for(batcher.drain(), timeout=1.0)  # not 30 s
    assert future.result() == "URGENT"
    assert recorder.batches == [["urgent"]]
