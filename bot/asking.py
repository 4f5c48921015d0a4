"""Asking, the use case: pick the next question for a channel and open its thread (queued in
the outbox), on request or on a schedule; remember handled slash commands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import UnknownQuestion
from bot.limits import Limit
from bot.messages import Renderer
from bot.metrics import Metrics
from bot.questions import Question, QuestionBank
from bot.storage import attempt_rows, outbox_rows, prompt_rows, schedule_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow

log = logging.getLogger(__name__)

UNSCORED = 60.0  # where a question nobody has answered yet sorts among scored ones
# How long a handled command is remembered: Slack accepts a signed request for five
# minutes either side of its timestamp.
COMMAND_MEMORY = timedelta(minutes=10)


class Asking:
    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        renderer: Renderer,
        metrics: Metrics,
        on_message: Callable[[], None] = lambda: None,
    ) -> None:
        self._bank = bank
        self._sessions = sessions
        self._renderer = renderer
        self._metrics = metrics
        self.queued = on_message  # wakes the outbox: a message was queued

    async def claim_command(self, *, team: str, trigger_id: str) -> bool:
        """True the first time a command (by its trigger id) arrives, on any replica;
        False for a replay of it."""
        async with unit_of_work(self._sessions) as session:
            return await prompt_rows.claim_command(
                session, team=team, trigger_id=trigger_id, now=utcnow(), keep=COMMAND_MEMORY
            )

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
            found = self._bank.find(wanted)
            if found is None:
                raise UnknownQuestion(wanted, self._bank.ids())
            return found
        eligible = limit.eligible(self._bank) if limit else []
        if limit and not eligible:
            # The bank no longer has what the limit names: asking anything beats silence.
            log.warning("no question in the bank matches %s; asking any", limit)
        pool = eligible or list(self._bank.questions)
        recent = await prompt_rows.recent_question_ids(
            session,
            team=team,
            channel=channel,
            limit=len(pool),
            among=[q.id for q in eligible] if eligible else None,
        )
        fresh = [q for q in pool if q.id not in recent]
        if not fresh:
            # Everything was asked in this cycle: the one asked longest ago.
            return self._bank.get(recent[-1]) or pool[0]
        scores = await attempt_rows.topic_scores(session, team=team, channel=channel)
        order = {q.id: i for i, q in enumerate(self._bank.questions)}
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
            await self.open_thread(
                session,
                question,
                team=team,
                channel=channel,
                source=source,
                requested_by=requested_by,
            )
        self._metrics.prompts.labels(source=source).inc()
        self.queued()
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
            run = await schedule_rows.claim_run(
                session, schedule_id=schedule_id, fire_time=fire_time
            )
            if run is None:
                return None
            if skip:
                run.status = "skipped"
                return None
            question = await self.choose_question(
                session, team=team, channel=channel, wanted=None, limit=limit
            )
            prompt_id = await self.open_thread(
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
        self.queued()
        return question

    async def open_thread(
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
        prompt = await prompt_rows.add_prompt(
            session,
            team=team,
            channel=channel,
            question_id=question.id,
            source=source,
            requested_by=requested_by,
            schedule_id=schedule_id,
        )
        assert prompt.id is not None
        await outbox_rows.enqueue(
            session,
            team=team,
            dedupe_key=f"prompt:{prompt.id}",
            kind="prompt",
            payload=payload,
            channel=channel,
            prompt_id=prompt.id,
        )
        return prompt.id
