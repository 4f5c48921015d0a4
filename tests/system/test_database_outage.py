"""The database goes away in the middle of a burst: no answer is lost, none is answered twice.

Answers arrive as Slack delivers them (`SlackStandIn.deliver_event`): an answer the bot
does not acknowledge with a 2xx is delivered again at once, then after Slack's minute and
five minutes (scaled down here to RETRY_DELAYS), with X-Slack-Retry-Num 1, 2, 3. While
the database is unreachable the bot refuses each delivery with a 503 - except Slack's
last one, which it keeps in its local spool and acknowledges - and every answer is
stored, graded and answered once when the database is back.

PostgreSQL is a private server of the test's own (tests/pgserver.py), really stopped and
started; SQLite is really locked by another connection, or made unwritable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from bot.storage.spool import Spool
from tests.conftest import RunningBot, make_settings
from tests.pgserver import PrivatePostgres
from tests.serving import settled
from tests.slack import payloads as p

RETRY_DELAYS = (0.0, 0.5, 2.0)  # Slack's: at once, 1 min, 5 min (scaled down)
LAST_DELIVERY = len(RETRY_DELAYS) + 1
OUTAGE_SECONDS = 4.0
BEFORE = 10  # answers before the database goes away
ANSWERS = 40
SPACING = 0.1  # between answers arriving in the burst


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, slack: SlackStandIn, bank: QuestionBank, spool: Path
) -> AsyncIterator[RunningBot]:
    runtime = Runtime(make_settings(database_url, slack, spool_path=spool), bank=bank)
    await runtime.start()
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    try:
        yield RunningBot(runtime, f"http://127.0.0.1:{port}/slack/events")
    finally:
        await runtime.stop()


async def burst_through_outage(
    bot: RunningBot,
    slack: SlackStandIn,
    *,
    fail: Callable[[], Awaitable[None]],
    recover: Callable[[], Awaitable[None]],
) -> list[list[int]]:
    """ANSWERS answers to one prompt, BEFORE of them before `fail()`, the rest during the
    outage and after `recover()` (OUTAGE_SECONDS later); returns each one's delivery statuses
    once the bot has posted feedback for all of them."""
    root = await p.ask(slack, bot)
    users = [f"U0USER{i:02d}" for i in range(ANSWERS)]

    async def answer(i: int) -> list[int]:
        event = p.reply(root, p.STRONG_ANSWER, user=users[i])
        return await slack.deliver_event(bot.url, event, retry_delays=RETRY_DELAYS)

    statuses = list(await asyncio.gather(*(answer(i) for i in range(BEFORE))))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= BEFORE, within=30)
    # Nothing in flight to Slack when the database goes away.
    assert await settled(bot.runtime.settings.async_database_url, within=15) == (0, 0)

    await fail()
    deliveries = []
    for i in range(BEFORE, ANSWERS):
        deliveries.append(asyncio.create_task(answer(i)))
        await asyncio.sleep(SPACING)
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (ANSWERS - BEFORE) * SPACING))
    await recover()
    statuses += await asyncio.gather(*deliveries)

    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= ANSWERS, within=30)
    await asyncio.sleep(1.0)  # time for a second feedback to show up
    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == users  # every answer, each once
    return statuses


def assert_kept_through_retries(statuses: list[list[int]]) -> None:
    """Each answer was acknowledged in the end; while the database was away the bot asked
    Slack to deliver again (5xx), and took Slack's last delivery into its spool."""
    assert all(s[-1] == 200 for s in statuses), statuses
    assert all(code == 200 or code >= 500 for s in statuses for code in s), statuses
    refused = [s for s in statuses if len(s) > 1]
    assert refused, "no delivery was refused while the database was away"
    assert any(len(s) == LAST_DELIVERY for s in refused), "no answer reached Slack's last try"


async def test_postgres_stopped_mid_burst_loses_no_answer(
    private_postgres: PrivatePostgres,
    slack: SlackStandIn,
    bank: QuestionBank,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL stopped for a few seconds mid-burst: one feedback per answer once it is back.
    The outage is logged as such, a line when a loop starts waiting and one when it is over,
    not as a traceback on every poll."""
    url = await private_postgres.create_database()
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(url, slack, bank, tmp_path / "spool.db") as bot:
        statuses = await burst_through_outage(
            bot, slack, fail=private_postgres.stop, recover=private_postgres.start
        )
    assert_kept_through_retries(statuses)
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == []
    waits = Counter(
        r.getMessage().split(" waits")[0]
        for r in caplog.records
        if " waits for the database" in r.getMessage()
    )
    assert waits and max(waits.values()) == 1, waits


class SqliteLock:
    """Another connection holding SQLite's write lock (a long write by another process)."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def take(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")

    async def release(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("COMMIT")


class SqliteReadOnly:
    """The database file and its write-ahead log made immutable: every write fails (root
    bypasses file modes, not the immutable attribute)."""

    def __init__(self, path: Path) -> None:
        self._files = [str(path), f"{path}-wal"]

    @staticmethod
    def available(directory: Path) -> str | None:
        """Why this cannot run here, or None."""
        chattr = shutil.which("chattr")
        if chattr is None:
            return "chattr is not installed"
        probe = directory / "probe"
        probe.touch()
        result = subprocess.run([chattr, "+i", str(probe)], capture_output=True, check=False)
        subprocess.run([chattr, "-i", str(probe)], capture_output=True, check=False)
        if result.returncode != 0:
            return "this filesystem or user cannot make a file immutable (chattr +i)"
        return None

    async def _chattr(self, flag: str) -> None:
        proc = await asyncio.create_subprocess_exec("chattr", flag, *self._files)
        assert await proc.wait() == 0

    async def take(self) -> None:
        await self._chattr("+i")

    async def release(self) -> None:
        await self._chattr("-i")


@pytest.mark.parametrize("fault", ["locked", "unwritable"])
async def test_sqlite_locked_or_unwritable_mid_burst_loses_no_answer(
    fault: str, slack: SlackStandIn, bank: QuestionBank, tmp_path: Path
) -> None:
    """SQLite locked by another writer, or unwritable, mid-burst: one feedback per answer."""
    path = tmp_path / "drill.db"
    if fault == "unwritable" and (why := SqliteReadOnly.available(tmp_path)):
        pytest.skip(why)
    # Writes give up on a lock after 0.2 s (5 s by default) to keep the test short.
    url = f"sqlite:///{path}?timeout=0.2"
    async with running_bot(url, slack, bank, tmp_path / "spool.db") as bot:
        outage = SqliteLock(path) if fault == "locked" else SqliteReadOnly(path)
        try:
            statuses = await burst_through_outage(
                bot, slack, fail=outage.take, recover=outage.release
            )
        finally:
            await outage.release()  # also when the test failed mid-outage
    assert_kept_through_retries(statuses)


async def test_an_answer_spooled_on_slacks_last_delivery_survives_a_restart(
    slack: SlackStandIn, bank: QuestionBank, tmp_path: Path
) -> None:
    """The spool is on disk: a bot stopped while the database is away leaves its spooled
    answer to the next one, which stores and answers it once the database is back."""
    path, spool = tmp_path / "drill.db", tmp_path / "spool.db"
    url = f"sqlite:///{path}?timeout=0.2"
    lock = SqliteLock(path)
    try:
        async with running_bot(url, slack, bank, spool) as bot:
            root = await p.ask(slack, bot)
            await lock.take()
            event = p.reply(root, p.STRONG_ANSWER)
            first, _ = await slack.send_event(bot.url, event, event_id="Ev0LAST")
            last, _ = await slack.send_event(bot.url, event, event_id="Ev0LAST", retry_num=3)
    finally:
        await lock.release()  # after the bot stopped: it could not store the answer itself
    assert (first, last) == (503, 200)
    assert [row["ts"] for _, row in await Spool(spool).peek(10)] == [event["ts"]]
    async with running_bot(url, slack, bank, spool):
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=10)
        await asyncio.sleep(0.5)
    assert len(slack.posts("drill_feedback")) == 1
    assert await Spool(spool).peek(10) == []


async def test_slacks_last_delivery_is_refused_when_the_spool_cannot_be_written(
    slack: SlackStandIn, bank: QuestionBank, tmp_path: Path
) -> None:
    """Neither the database nor the spool takes the answer: no 200, so nothing is acked
    that is not kept."""
    path = tmp_path / "drill.db"
    (tmp_path / "not-a-directory").write_text("")
    lock = SqliteLock(path)
    spool = tmp_path / "not-a-directory" / "spool.db"
    async with running_bot(f"sqlite:///{path}?timeout=0.2", slack, bank, spool) as bot:
        root = await p.ask(slack, bot)
        await lock.take()
        try:
            event = p.reply(root, p.STRONG_ANSWER)
            status, _ = await slack.send_event(bot.url, event, retry_num=3)
        finally:
            await lock.release()
    assert status == 503
