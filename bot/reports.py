"""Reports, the use case: a person's stats and next suggestion, a channel's leaderboard and
weekly digest, and what a Details button shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.grading.grade import Grade, with_rubric_weights
from bot.history import records
from bot.interviews import MockInterviews
from bot.messages import Renderer
from bot.progress import (
    Digest,
    Ranked,
    Scored,
    Stats,
    digest,
    leaderboard,
    personal_stats,
    suggest_question,
)
from bot.questions import Question, QuestionBank
from bot.storage import attempt_rows, mock_rows, outbox_rows, profile_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow


@dataclass(frozen=True)
class Details:
    """Everything behind a feedback message or a scorecard."""

    question: Question
    grade: Grade
    user: str  # whose answer (or mock interview)
    scorecard: bool


class Reports:
    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        interviews: MockInterviews,
        renderer: Renderer,
        on_message: Callable[[], None] = lambda: None,
    ) -> None:
        self.bank = bank
        self._sessions = sessions
        self._interviews = interviews
        self._renderer = renderer
        self._queued = on_message

    async def details(self, *, team: str, key: str) -> Details | None:
        """What a Details button shows: `attempt:<id>` an answer's grade, `mock:<id>` a
        finished mock interview's scorecard. None when it is gone (deleted, or unknown)."""
        kind, _, number = key.partition(":")
        if not number.isdigit():
            return None
        async with unit_of_work(self._sessions) as session:
            if kind == "attempt":
                attempt = await attempt_rows.get_attempt(session, team=team, attempt_id=int(number))
                question = self.bank.get(attempt.question_id) if attempt else None
                if attempt is None or question is None or not attempt.grade_json:
                    return None
                grade = Grade.from_json(json.loads(attempt.grade_json))
                return Details(question, with_rubric_weights(question, grade), attempt.user, False)
            if kind == "mock":
                mock = await mock_rows.get_mock(session, team=team, mock_id=int(number))
                question = self.bank.get(mock.question_id) if mock else None
                if mock is None or question is None:
                    return None
                card = await self._interviews.scorecard_of(session, mock, question)
                return Details(question, card, mock.candidate, True) if card else None
        return None

    async def _scored(self, **where: Any) -> list[Scored]:
        """Graded records: drill answers, and mock interviews once each (their scorecard)."""
        async with unit_of_work(self._sessions) as session:
            rows = await attempt_rows.graded_attempts(session, **where)
            mocks = await mock_rows.mocks_of(
                session, team=where["team"], channel=where.get("channel")
            )
        return records(rows, mocks, self.bank)

    async def stats(self, *, team: str, user: str) -> Stats:
        return personal_stats(await self._scored(team=team, user=user), self.bank, utcnow())

    async def stats_and_suggestion(self, *, team: str, user: str) -> tuple[Stats, Question]:
        """A person's stats and the question to drill next, from one read of their records."""
        scored = await self._scored(team=team, user=user)
        question_id = suggest_question(scored, self.bank)
        suggestion = self.bank.get(question_id) or self.bank.questions[0]
        return personal_stats(scored, self.bank, utcnow()), suggestion

    async def leaderboard(self, *, team: str, channel: str) -> list[Ranked]:
        async with unit_of_work(self._sessions) as session:
            opted = await profile_rows.leaderboard_users(session, team=team)
        return leaderboard(await self._scored(team=team, channel=channel), opted)

    async def digest(self, *, team: str, channel: str, now: datetime | None = None) -> Digest:
        """A channel's week so far (and its eight weeks, for the chart)."""
        now = now or utcnow()
        records = await self._scored(team=team, channel=channel, since=now - timedelta(days=8 * 7))
        async with unit_of_work(self._sessions) as session:
            opted = await profile_rows.leaderboard_users(session, team=team)
        return digest(records, self.bank, opted, now)

    async def post_digest(self, *, team: str, channel: str, now: datetime | None = None) -> bool:
        """Queue this week's digest with its chart, once per channel and week."""
        data = await self.digest(team=team, channel=channel, now=now)
        from bot.charts import digest_png  # matplotlib is heavy: load it only for digests

        png = digest_png(data, f"Deploy Drill - week of {data.week_start.isoformat()}")
        payload = self._renderer.digest(data, png)
        async with unit_of_work(self._sessions) as session:
            queued = await outbox_rows.enqueue(
                session,
                team=team,
                dedupe_key=f"digest:{team}:{channel}:{data.week_start.isoformat()}",
                kind="digest",
                payload=payload,
                channel=channel,
            )
        self._queued()
        return queued
