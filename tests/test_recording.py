"""AnswerRecorder (bot/recording.py): a threaded reply to one of our prompts is stored once;
anything else is not a drill; what the database refuses on Slack's last delivery is spooled
and stored once the database takes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.errors import AnswerNotStored
from bot.messages import Recorded, Reply
from bot.metrics import Metrics
from bot.recording import AnswerRecorder
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work
from bot.storage.spool import Spool
from bot.storage.tables import Attempt, Prompt

ROOT_TS = "100.000100"


def reply(ts: str, *, thread: str = ROOT_TS, user: str = "U1") -> Reply:
    return Reply(team="T1", channel="C1", thread_ts=thread, ts=ts, user=user, text="an answer")


async def _prompt(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        session.add(
            Prompt(
                team="T1",
                channel="C1",
                ts=ROOT_TS,
                question_id="deploy-ml-models",
                source="command",
            )
        )


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with unit_of_work(sessions, read_only=True) as session:
        rows = await session.execute(sa.select(Attempt.message_ts).order_by(Attempt.message_ts))
        return [str(ts) for ts in rows.scalars()]


async def test_a_reply_is_stored_once_and_other_threads_are_not_drills(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _prompt(sessions)
    woken: list[str] = []
    recorder = AnswerRecorder(
        sessions=sessions, metrics=Metrics(), on_answer=lambda: woken.append("grade")
    )
    # The same message twice at once (Slack's retry racing the original), and a stranger.
    outcomes = await asyncio.gather(
        recorder.record(reply("100.000200")),
        recorder.record(reply("100.000200")),
        recorder.record(reply("100.000300", thread="999.000000")),
    )
    assert sorted(o.value for o in outcomes) == ["duplicate", "not_a_drill", "stored"]
    assert await recorder.record(reply("100.000200")) is Recorded.DUPLICATE  # later, too
    assert await _stored(sessions) == ["100.000200"]
    assert woken  # the grading passes were told


async def test_refused_until_slacks_last_delivery_then_spooled_and_stored_later(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _prompt(sessions)
    spool = Spool(tmp_path / "spool.db")
    nowhere = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"  # cannot be opened
    broken = make_sessionmaker(
        make_engine(Settings(_env_file=None, database_url=nowhere).async_database_url)  # type: ignore[call-arg]
    )
    down = AnswerRecorder(sessions=broken, metrics=Metrics(), spool=spool)
    with pytest.raises(AnswerNotStored):
        await down.record(reply("100.000200"))  # Slack will deliver it again
    assert await down.record(reply("100.000200"), last_delivery=True) is Recorded.SPOOLED
    assert [row["ts"] for _, row in await spool.peek(10)] == ["100.000200"]

    back = AnswerRecorder(sessions=sessions, metrics=Metrics(), spool=spool)
    assert await back.drain_spool() == 1
    assert await _stored(sessions) == ["100.000200"]
    assert await spool.peek(10) == []
