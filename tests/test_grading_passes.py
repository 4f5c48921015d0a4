"""Batches graded side by side are recorded in the order they were claimed: a second try
graded before the first still gets feedback that compares it with the first."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.grading.grade import Grade
from bot.grading.rubric import RubricGrader
from bot.grading_passes import GradingPasses
from bot.messages import Reply
from bot.metrics import Metrics
from bot.questions import Question, QuestionBank, Seniority
from bot.slack.blocks import SlackMessages
from bot.storage.db import unit_of_work
from bot.storage.tables import OutboxMessage, Prompt
from bot.use_cases import build_use_cases
from tests.slack import payloads as p

FIRST_TRY = "We'd put the model in a container and deploy it behind an API, then watch it."


class FirstBatchSlow:
    """A batch grader whose first call finishes after its second (as two workers may)."""

    name = "rubric"
    concurrency = "batch"
    passes = 2

    def __init__(self, bank: QuestionBank) -> None:
        self._rubric = RubricGrader(bank)
        self._calls = 0
        self.first_called = asyncio.Event()

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        return self._rubric.grade_sync(question, answer, seniority=seniority)

    async def grade_many(
        self, jobs: Sequence[tuple[Question, str, Seniority | None]]
    ) -> list[tuple[Grade | None, float, str | None]]:
        self._calls += 1
        self.first_called.set()
        await asyncio.sleep(0.5 if self._calls == 1 else 0.0)
        return [(self._rubric.grade_sync(q, a, seniority=s), 0.001, None) for q, a, s in jobs]


async def test_second_try_graded_first_is_still_compared_with_the_first(
    sessions: async_sessionmaker[AsyncSession], bank: QuestionBank
) -> None:
    grader = FirstBatchSlow(bank)
    use = build_use_cases(
        bank=bank, sessions=sessions, renderer=SlackMessages(), metrics=Metrics()
    )
    passes = GradingPasses(
        bank=bank,
        sessions=sessions,
        grader=grader,
        renderer=SlackMessages(),
        interviews=use.interviews,
        metrics=Metrics(),
        on_message=lambda: None,
        lease=timedelta(seconds=60),
    )
    async with unit_of_work(sessions) as session:
        session.add(
            Prompt(
                team="T1",
                channel="C1",
                ts="100.000100",
                question_id="deploy-ml-models",
                source="command",
            )
        )
    for ts, text in (("100.000200", FIRST_TRY), ("100.000300", p.STRONG_ANSWER)):
        reply = Reply(team="T1", channel="C1", thread_ts="100.000100", ts=ts, user="U1", text=text)
        await use.answers.record(reply)

    # Two passes side by side, one answer each: the first try's pass claims first and
    # finishes grading last.
    first = asyncio.create_task(passes.grade_pending(limit=1))
    await grader.first_called.wait()
    second = await passes.grade_pending(limit=1)
    assert (await first, second) == (1, 1)

    async with unit_of_work(sessions) as session:
        rows = (
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == "feedback")
                    .order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
    # By attempt (dedupe key "feedback:<attempt id>"), not by when each was queued.
    by_attempt = sorted(rows, key=lambda m: int(m.dedupe_key.split(":")[1]))
    texts = [json.dumps(json.loads(m.payload)["blocks"]) for m in by_attempt]
    assert len(texts) == 2
    assert "Since your last try" not in texts[0]  # the first try
    assert "Since your last try" in texts[1]  # the second, compared with the first
