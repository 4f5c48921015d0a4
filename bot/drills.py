"""Use cases: ask a question, record an answer, grade it, queue the feedback.

Knows nothing of Slack: messages are rendered by an injected `Renderer` into
plain dicts (the outbox's payloads), and every side effect is a database row
first (prompt, attempt, outbox message) so nothing is lost or posted twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.answering import Answering, Recorded, Reply
from bot.errors import UnknownQuestion
from bot.grading.grade import CriterionResult, Grade, Grader, with_rubric_weights
from bot.history import mock_scorecard, records
from bot.limits import Limit
from bot.liveness import Liveness
from bot.metrics import Metrics
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
from bot.storage import repository as repo
from bot.storage.db import unit_of_work
from bot.storage.spool import Spool
from bot.storage.tables import MockSession, Prompt, utcnow

log = logging.getLogger(__name__)

UNSCORED = 60.0  # where a question nobody has answered yet sorts among scored ones
# How long a handled command is remembered: Slack accepts a signed request for five
# minutes either side of its timestamp.
COMMAND_MEMORY = timedelta(minutes=10)


class Rated(Enum):
    """What became of a human interviewer's rating."""

    RATED = "rated"
    ALREADY_RATED = "already_rated"  # submitted again: the first rating stands
    REFUSED = "refused"  # not the named interviewer, or no such mock interview


@dataclass(frozen=True)
class MockInfo:
    mock_id: int
    question: Question
    candidate: str
    interviewer: str | None
    rating: int | None


@dataclass(frozen=True)
class Details:
    """Everything behind a feedback message or a scorecard."""

    question: Question
    grade: Grade
    user: str  # whose answer (or mock interview)
    scorecard: bool


class Renderer(Protocol):
    """Turns core values into message payloads (the Slack layer implements it)."""

    def prompt(
        self,
        question: Question,
        *,
        source: str,
        requested_by: str | None,
        interviewer: str | None = None,
    ) -> dict[str, Any]: ...

    def followup(
        self, question: Question, criterion_id: str, *, user: str, current: CriterionResult | None
    ) -> dict[str, Any]: ...

    def summary(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        improved: list[str],
        details: str | None = None,
    ) -> dict[str, Any]: ...

    def mock_closed(self, question: Question, *, user: str) -> dict[str, Any]: ...

    def interviewer_brief(
        self, question: Question, *, channel: str, candidate: str, interviewer: str, mock_id: int
    ) -> dict[str, Any]: ...

    def rating(
        self,
        question: Question,
        *,
        candidate: str,
        interviewer: str,
        rating: int,
        notes: str,
        bot_score: int | None,
        bot_band: str | None,
    ) -> dict[str, Any]: ...

    def digest(self, channel: str, data: Digest, png: bytes) -> dict[str, Any]: ...

    def feedback(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        previous: Grade | None,
        details: str | None = None,
    ) -> dict[str, Any]: ...

    def nudge(self, question: Question, *, user: str, reason: str) -> dict[str, Any]: ...


class Drills:
    """The drill loop's use cases, shared by the Slack listeners, scheduler and CLI."""

    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        grader: Grader,
        renderer: Renderer,
        metrics: Metrics,
        on_answer: Callable[[], None] = lambda: None,
        on_message: Callable[[], None] = lambda: None,
        lease_seconds: float = 60.0,
        mock_followups: int = 2,
        give_way: Callable[[], Awaitable[None]] | None = None,
        spool: Spool | None = None,
        owner: Liveness | None = None,
    ) -> None:
        self.bank = bank
        self._sessions = sessions
        self._renderer = renderer
        self._metrics = metrics
        self._on_message = on_message
        self._mock_followups = mock_followups
        self._answering = Answering(
            bank=bank,
            sessions=sessions,
            grader=grader,
            renderer=renderer,
            metrics=metrics,
            on_answer=on_answer,
            on_message=on_message,
            lease=timedelta(seconds=lease_seconds),
            give_way=give_way,
            spool=spool,
            owner=owner,
        )

    # --- commands ----------------------------------------------------------------

    async def claim_command(self, *, team: str, trigger_id: str) -> bool:
        """True the first time a command (by its trigger id) arrives, on any replica;
        False for a replay of it."""
        async with unit_of_work(self._sessions) as session:
            return await repo.claim_command(
                session, team=team, trigger_id=trigger_id, now=utcnow(), keep=COMMAND_MEMORY
            )

    # --- asking ----------------------------------------------------------------

    async def choose_question(
        self,
        session: AsyncSession,
        *,
        team: str,
        channel: str,
        wanted: str | None,
        limit: Limit | None = None,
    ) -> Question:
        """The question asked for, or the next one for this channel (within `limit`).

        Rotation: no repeat until every question (the limit allows) was asked; among the
        fresh ones, those this channel scores lowest on come first.
        """
        if wanted:
            found = self.bank.find(wanted)
            if found is None:
                raise UnknownQuestion(wanted, self.bank.ids())
            return found
        eligible = limit.eligible(self.bank) if limit else []
        if limit and not eligible:
            # The bank no longer has what the limit names: asking anything beats silence.
            log.warning("no question in the bank matches %s; asking any", limit)
        pool = eligible or list(self.bank.questions)
        recent = await repo.recent_question_ids(
            session,
            team=team,
            channel=channel,
            limit=len(pool),
            among=[q.id for q in eligible] if eligible else None,
        )
        fresh = [q for q in pool if q.id not in recent]
        if not fresh:
            # Everything was asked in this cycle: the one asked longest ago.
            return self.bank.get(recent[-1]) or pool[0]
        scores = await repo.topic_scores(session, team=team, channel=channel)
        order = {q.id: i for i, q in enumerate(self.bank.questions)}
        return min(fresh, key=lambda q: (scores.get(q.id, UNSCORED), order[q.id]))

    async def ask(
        self,
        *,
        team: str,
        channel: str,
        wanted: str | None = None,
        source: str = "command",
        requested_by: str | None = None,
    ) -> Question:
        """Queue a question as a new thread root in the channel."""
        async with unit_of_work(self._sessions) as session:
            question = await self.choose_question(
                session, team=team, channel=channel, wanted=wanted
            )
            await self._queue_prompt(
                session,
                question,
                team=team,
                channel=channel,
                source=source,
                requested_by=requested_by,
            )
        self._metrics.prompts.labels(source=source).inc()
        self._on_message()
        return question

    async def ask_scheduled(
        self,
        *,
        team: str,
        channel: str,
        schedule_id: int,
        fire_time: datetime,
        skip: bool = False,
        limit: Limit | None = None,
    ) -> Question | None:
        """Claim one scheduled fire and queue its prompt (within the schedule's `limit`), in
        one transaction; the question, or None if the fire was taken or skipped."""
        async with unit_of_work(self._sessions) as session:
            run = await repo.claim_run(session, schedule_id=schedule_id, fire_time=fire_time)
            if run is None:
                return None
            if skip:
                run.status = "skipped"
                return None
            question = await self.choose_question(
                session, team=team, channel=channel, wanted=None, limit=limit
            )
            prompt_id = await self._queue_prompt(
                session,
                question,
                team=team,
                channel=channel,
                source="scheduled",
                requested_by=None,
                schedule_id=schedule_id,
            )
            run.status = "queued"
            run.prompt_id = prompt_id
        self._metrics.prompts.labels(source="scheduled").inc()
        self._on_message()
        return question

    async def _queue_prompt(
        self,
        session: AsyncSession,
        question: Question,
        *,
        team: str,
        channel: str,
        source: str,
        requested_by: str | None,
        schedule_id: int | None = None,
        interviewer: str | None = None,
    ) -> int:
        payload = self._renderer.prompt(
            question, source=source, requested_by=requested_by, interviewer=interviewer
        )
        payload["channel"] = channel
        prompt = await repo.add_prompt(
            session,
            team=team,
            channel=channel,
            question_id=question.id,
            source=source,
            requested_by=requested_by,
            schedule_id=schedule_id,
        )
        assert prompt.id is not None
        await repo.enqueue(
            session,
            team=team,
            dedupe_key=f"prompt:{prompt.id}",
            kind="prompt",
            payload=payload,
            prompt_id=prompt.id,
        )
        return prompt.id

    # --- answering -------------------------------------------------------------

    async def record_answer(self, reply: Reply, *, last_delivery: bool = False) -> Recorded:
        """Store a threaded reply to one of our prompts, once (before Slack's ack); raises
        AnswerNotStored if the database cannot take it, unless it is Slack's last delivery
        (then it is spooled until the database is back)."""
        return await self._answering.record(reply, last_delivery=last_delivery)

    async def drain_spool(self) -> int:
        """Store the answers spooled while the database was away; returns how many."""
        return await self._answering.drain_spool()

    async def grade_pending(self, limit: int | None = None) -> int:
        """Grade the attempts waiting for it (this process's share); returns how many."""
        return await self._answering.grade_pending(limit)

    async def set_level(self, *, team: str, user: str, level: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await repo.update_profile(session, team=team, user=user, level=level)

    # --- privacy -----------------------------------------------------------------

    async def forget(self, *, team: str, user: str) -> int:
        async with unit_of_work(self._sessions) as session:
            return await repo.delete_user_data(session, team=team, user=user)

    async def purge_older_than(self, days: int) -> int:
        if days <= 0:
            return 0
        async with unit_of_work(self._sessions) as session:
            return await repo.delete_attempts_before(session, utcnow() - timedelta(days=days))

    # --- mock interviews ------------------------------------------------------------

    async def start_mock(
        self,
        *,
        team: str,
        channel: str,
        candidate: str,
        interviewer: str | None,
        wanted: str | None,
    ) -> Question:
        """Open a mock interview thread; a human interviewer gets the rubric privately."""
        async with unit_of_work(self._sessions) as session:
            question = await self.choose_question(
                session, team=team, channel=channel, wanted=wanted
            )
            prompt_id = await self._queue_prompt(
                session,
                question,
                team=team,
                channel=channel,
                source="mock",
                requested_by=candidate,
                interviewer=interviewer,
            )
            mock = await repo.add_mock(
                session,
                MockSession(
                    team=team,
                    channel=channel,
                    prompt_id=prompt_id,
                    question_id=question.id,
                    candidate=candidate,
                    interviewer=interviewer,
                    max_followups=self._mock_followups,
                ),
            )
            if interviewer is not None:
                brief = self._renderer.interviewer_brief(
                    question,
                    channel=channel,
                    candidate=candidate,
                    interviewer=interviewer,
                    mock_id=int(mock.id or 0),
                )
                await repo.enqueue(
                    session, team=team, dedupe_key=f"brief:{mock.id}", kind="brief", payload=brief
                )
        self._metrics.prompts.labels(source="mock").inc()
        self._on_message()
        return question

    async def rate_mock(
        self, *, team: str, mock_id: int, interviewer: str, rating: int, notes: str
    ) -> Rated:
        """Store a human interviewer's rating and post it in the thread beside the bot's
        score, once: a mock interview has one rating (the first submitted)."""
        async with unit_of_work(self._sessions) as session:
            mock = await repo.get_mock(session, team=team, mock_id=mock_id)
            if mock is None or mock.id is None or mock.interviewer != interviewer:
                return Rated.REFUSED
            prompt = await session.get(Prompt, mock.prompt_id)
            question = self.bank.get(mock.question_id)
            if prompt is None or prompt.ts is None or question is None:
                return Rated.REFUSED
            if not await repo.rate_mock_once(session, mock.id, rating=rating, notes=notes):
                return Rated.ALREADY_RATED
            card = await self._scorecard_of(session, mock, question)
            payload = self._renderer.rating(
                question,
                candidate=mock.candidate,
                interviewer=interviewer,
                rating=rating,
                notes=notes,
                bot_score=card.score if card else None,
                bot_band=card.band if card else None,
            )
            payload.update(channel=mock.channel, thread_ts=prompt.ts)
            await repo.enqueue(
                session, team=team, dedupe_key=f"rating:{mock.id}", kind="rating", payload=payload
            )
        self._on_message()
        return Rated.RATED

    async def mock_info(self, *, team: str, mock_id: int) -> MockInfo | None:
        """Who interviews whom on what, and the rating if given (None: no such mock)."""
        async with unit_of_work(self._sessions) as session:
            mock = await repo.get_mock(session, team=team, mock_id=mock_id)
        question = self.bank.get(mock.question_id) if mock else None
        if mock is None or mock.id is None or question is None:
            return None
        return MockInfo(mock.id, question, mock.candidate, mock.interviewer, mock.rating)

    async def details(self, *, team: str, key: str) -> Details | None:
        """What a Details button shows: `attempt:<id>` an answer's grade, `mock:<id>` a
        finished mock interview's scorecard. None when it is gone (deleted, or unknown)."""
        kind, _, number = key.partition(":")
        if not number.isdigit():
            return None
        async with unit_of_work(self._sessions) as session:
            if kind == "attempt":
                attempt = await repo.get_attempt(session, team=team, attempt_id=int(number))
                question = self.bank.get(attempt.question_id) if attempt else None
                if attempt is None or question is None or not attempt.grade_json:
                    return None
                grade = Grade.from_json(json.loads(attempt.grade_json))
                return Details(question, with_rubric_weights(question, grade), attempt.user, False)
            if kind == "mock":
                mock = await repo.get_mock(session, team=team, mock_id=int(number))
                question = self.bank.get(mock.question_id) if mock else None
                if mock is None or question is None:
                    return None
                card = await self._scorecard_of(session, mock, question)
                return Details(question, card, mock.candidate, True) if card else None
        return None

    async def _scorecard_of(
        self, session: AsyncSession, mock: MockSession, question: Question
    ) -> Grade | None:
        """The scorecard of a finished mock interview, as posted; None while it runs."""
        key = (mock.prompt_id, mock.candidate)
        answers = (await repo.graded_attempts_in_threads(session, {key})).get(key, [])
        return mock_scorecard(question, mock, answers)

    async def has_answered(self, *, team: str, channel: str, thread_ts: str, user: str) -> bool:
        async with unit_of_work(self._sessions) as session:
            return await repo.has_answered(
                session, team=team, channel=channel, thread_ts=thread_ts, user=user
            )

    # --- progress ----------------------------------------------------------------------

    async def _scored(self, **where: Any) -> list[Scored]:
        """Graded records: drill answers, and mock interviews once each (their scorecard)."""
        async with unit_of_work(self._sessions) as session:
            rows = await repo.graded_attempts(session, **where)
            mocks = await repo.mocks_of(session, team=where["team"], channel=where.get("channel"))
        return records(rows, mocks, self.bank)

    async def stats(self, *, team: str, user: str) -> Stats:
        return personal_stats(await self._scored(team=team, user=user), self.bank, utcnow())

    async def suggestion(self, *, team: str, user: str) -> Question:
        question_id = suggest_question(await self._scored(team=team, user=user), self.bank)
        return self.bank.get(question_id) or self.bank.questions[0]

    async def leaderboard(self, *, team: str, channel: str) -> list[Ranked]:
        async with unit_of_work(self._sessions) as session:
            opted = await repo.leaderboard_users(session, team=team)
        return leaderboard(await self._scored(team=team, channel=channel), opted)

    async def set_leaderboard(self, *, team: str, user: str, opted_in: bool) -> None:
        async with unit_of_work(self._sessions) as session:
            await repo.update_profile(session, team=team, user=user, leaderboard=opted_in)

    async def digest(self, *, team: str, channel: str, now: datetime | None = None) -> Digest:
        """A channel's week so far (and its eight weeks, for the chart)."""
        now = now or utcnow()
        records = await self._scored(team=team, channel=channel, since=now - timedelta(days=8 * 7))
        async with unit_of_work(self._sessions) as session:
            opted = await repo.leaderboard_users(session, team=team)
        return digest(records, self.bank, opted, now)

    async def post_digest(self, *, team: str, channel: str, now: datetime | None = None) -> bool:
        """Queue this week's digest with its chart, once per channel and week."""
        data = await self.digest(team=team, channel=channel, now=now)
        from bot.charts import digest_png  # matplotlib is heavy: load it only for digests

        png = digest_png(data, f"Deploy Drill - week of {data.week_start.isoformat()}")
        payload = self._renderer.digest(channel, data, png)
        async with unit_of_work(self._sessions) as session:
            queued = await repo.enqueue(
                session,
                team=team,
                dedupe_key=f"digest:{team}:{channel}:{data.week_start.isoformat()}",
                kind="digest",
                payload=payload,
            )
        self._on_message()
        return queued
