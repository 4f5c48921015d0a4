"""Use cases: ask a question, record an answer, grade it, queue the feedback.

Knows nothing of Slack: messages are rendered by an injected `Renderer` into
plain dicts (the outbox's payloads), and every side effect is a database row
first (prompt, attempt, outbox message) so nothing is lost or posted twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UnknownQuestion
from bot.grading.grade import Grade, Grader
from bot.grading.rubric import not_an_answer
from bot.metrics import Metrics
from bot.questions import Question, QuestionBank, Seniority
from bot.storage import repository as repo
from bot.storage.db import unit_of_work
from bot.storage.tables import Attempt, utcnow

log = logging.getLogger(__name__)

UNSCORED = 60.0  # where a question nobody has answered yet sorts among scored ones


class Renderer(Protocol):
    """Turns core values into message payloads (the Slack layer implements it)."""

    def prompt(
        self, question: Question, *, source: str, requested_by: str | None
    ) -> dict[str, Any]: ...

    def feedback(
        self, question: Question, grade: Grade, *, user: str, previous: Grade | None
    ) -> dict[str, Any]: ...

    def nudge(self, question: Question, *, user: str, reason: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Reply:
    """A threaded reply, already stripped of everything Slack-specific."""

    team: str
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    event_id: str | None = None


class Recorded(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same message again (Slack retry, second replica)
    NOT_A_DRILL = "not_a_drill"  # the thread is not one of our prompts


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
    ) -> None:
        self.bank = bank
        self._sessions = sessions
        self._grader = grader
        self._renderer = renderer
        self._metrics = metrics
        self._on_answer = on_answer
        self._on_message = on_message
        self._lease = timedelta(seconds=lease_seconds)

    # --- asking ----------------------------------------------------------------

    async def choose_question(
        self, session: AsyncSession, *, team: str, channel: str, wanted: str | None
    ) -> Question:
        """The question asked for, or the next one for this channel.

        Rotation: no repeat until every question was asked; among the fresh ones,
        those this channel scores lowest on come first.
        """
        if wanted:
            found = self.bank.find(wanted)
            if found is None:
                raise UnknownQuestion(wanted, self.bank.ids())
            return found
        recent = await repo.recent_question_ids(
            session, team=team, channel=channel, limit=len(self.bank.questions)
        )
        fresh = [q for q in self.bank.questions if q.id not in recent]
        if not fresh:
            # Everything was asked in this cycle: the one asked longest ago.
            return self.bank.get(recent[-1]) or self.bank.questions[0]
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
        self, *, team: str, channel: str, schedule_id: int, fire_time: datetime, skip: bool = False
    ) -> bool:
        """Claim one scheduled fire and queue its prompt, in one transaction; False if taken."""
        async with unit_of_work(self._sessions) as session:
            run = await repo.claim_run(session, schedule_id=schedule_id, fire_time=fire_time)
            if run is None:
                return False
            if skip:
                run.status = "skipped"
                return False
            question = await self.choose_question(session, team=team, channel=channel, wanted=None)
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
        return True

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
    ) -> int:
        payload = self._renderer.prompt(question, source=source, requested_by=requested_by)
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

    async def record_answer(self, reply: Reply) -> Recorded:
        """Store a threaded reply to one of our prompts, once. Grading happens later."""
        async with unit_of_work(self._sessions) as session:
            prompt = await repo.prompt_for_thread(
                session, team=reply.team, channel=reply.channel, thread_ts=reply.thread_ts
            )
            if prompt is None or prompt.id is None:
                return Recorded.NOT_A_DRILL
            stored = await repo.add_attempt(
                session,
                Attempt(
                    team=reply.team,
                    channel=reply.channel,
                    thread_ts=reply.thread_ts,
                    message_ts=reply.ts,
                    user=reply.user,
                    prompt_id=prompt.id,
                    question_id=prompt.question_id,
                    answer=reply.text,
                    event_id=reply.event_id,
                ),
            )
        if stored is None:
            self._metrics.duplicates.inc()
            return Recorded.DUPLICATE
        self._metrics.answers.inc()
        self._on_answer()
        return Recorded.STORED

    async def grade_pending(self, limit: int = 20) -> int:
        """Grade the attempts waiting for it (this process's share); returns how many."""
        async with unit_of_work(self._sessions) as session:
            claimed = await repo.claim_attempts(
                session, now=utcnow(), lease=self._lease, limit=limit
            )
        for attempt in claimed:
            try:
                await self._grade_one(attempt)
            except Exception:
                # Leave it pending: the lease expires and it is tried again.
                log.exception("grading attempt %s failed", attempt.id)
        return len(claimed)

    async def _grade_one(self, attempt: Attempt) -> None:
        assert attempt.id is not None
        question = self.bank.get(attempt.question_id)
        if question is None:
            log.warning(
                "attempt %s: question %s is no longer in the bank", attempt.id, attempt.question_id
            )
            async with unit_of_work(self._sessions) as session:
                await repo.mark_attempt_failed(session, attempt.id)
            return
        reason = not_an_answer(attempt.answer)
        seniority = await self._seniority(attempt.team, attempt.user)
        started = time.perf_counter()
        grade = None
        if reason is None:
            grade = await self._grader.grade(
                question, attempt.answer, seniority=seniority, team=attempt.team
            )
        elapsed = time.perf_counter() - started
        async with unit_of_work(self._sessions) as session:
            fresh = await repo.get_attempt(session, attempt.id)
            if fresh is None or fresh.status != "pending":
                return  # deleted (forget-me) or finished by another worker meanwhile
            if grade is None:
                payload = self._renderer.nudge(question, user=attempt.user, reason=reason or "")
                fresh.reason = reason
                kind = "nudge"
            else:
                previous_row = await repo.previous_graded_attempt(
                    session,
                    team=attempt.team,
                    channel=attempt.channel,
                    thread_ts=attempt.thread_ts,
                    user=attempt.user,
                    before_id=attempt.id,
                )
                previous = (
                    Grade.from_json(json.loads(previous_row.grade_json))
                    if previous_row and previous_row.grade_json
                    else None
                )
                payload = self._renderer.feedback(
                    question, grade, user=attempt.user, previous=previous
                )
                fresh.grade_json = json.dumps(grade.to_json())
                fresh.grader = grade.grader
                fresh.score = grade.score
                fresh.band = grade.band
                fresh.tokens_used = grade.tokens_used
                kind = "feedback"
            payload["channel"] = attempt.channel
            payload["thread_ts"] = attempt.thread_ts
            fresh.status = "graded"
            fresh.graded_at = utcnow()
            fresh.lease_until = None
            await repo.enqueue(
                session,
                team=attempt.team,
                dedupe_key=f"{kind}:{attempt.id}",
                kind=kind,
                payload=payload,
                attempt_id=attempt.id,
            )
        if grade is not None:
            self._metrics.graded.labels(grader=grade.grader.split(":")[0], band=grade.band).inc()
            self._metrics.grading_seconds.observe(elapsed)
        else:
            self._metrics.nudges.inc()
        self._on_message()

    async def _seniority(self, team: str, user: str) -> Seniority | None:
        async with unit_of_work(self._sessions) as session:
            profile = await repo.get_profile(session, team=team, user=user)
        level = profile.level if profile else None
        return level if level in ("entry", "mid", "senior") else None  # type: ignore[return-value]

    async def set_level(self, *, team: str, user: str, level: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await repo.set_level(session, team=team, user=user, level=level)

    # --- privacy -----------------------------------------------------------------

    async def forget(self, *, team: str, user: str) -> int:
        async with unit_of_work(self._sessions) as session:
            return await repo.delete_user_data(session, team=team, user=user)

    async def purge_older_than(self, days: int) -> int:
        if days <= 0:
            return 0
        async with unit_of_work(self._sessions) as session:
            return await repo.delete_attempts_before(session, utcnow() - timedelta(days=days))
