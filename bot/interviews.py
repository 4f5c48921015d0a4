"""Mock interviews, the use case: start one, advance it with each graded answer (a follow-up
or the scorecard), take the human interviewer's rating. The one owner of `MockSession` rows;
the turn rules themselves are pure, in `mock.py`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.asking import Asking
from bot.grading.grade import Grade
from bot.history import mock_scorecard
from bot.messages import Outgoing, Renderer
from bot.metrics import Metrics
from bot.mock import FINISHED, combine, interview_answers, next_probe, scorecard
from bot.questions import Question, QuestionBank
from bot.storage import attempt_rows, calibration_rows, mock_rows, outbox_rows, profile_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import MockSession, PairedRating, Prompt

DEEP_FOLLOWUPS = 3  # a staff-level mock: a follow-up and up to two push-backs on it
LONG_ROUND_SECONDS = 180  # a question this long (a system design round) gets as many


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


def pushes_back(question: Question, level: str | None) -> bool:
    """Staff-level mocks push back on an answer before moving on."""
    staff = level == "staff" or question.seniority == ("staff",)
    return staff and any(c.push_backs for c in question.criteria)


class MockInterviews:
    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        asking: Asking,
        renderer: Renderer,
        metrics: Metrics,
        followups: int = 2,
    ) -> None:
        self._bank = bank
        self._sessions = sessions
        self._asking = asking
        self._renderer = renderer
        self._metrics = metrics
        self._followups = followups

    async def start(
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
            question = await self._asking.choose_question(
                session, team=team, channel=channel, wanted=wanted
            )
            levels = await profile_rows.levels_of(session, {(team, candidate)})
            # A staff-level mock pushes back; a long round (a system design) probes more.
            long = pushes_back(question, levels.get((team, candidate))) or (
                question.answer_seconds >= LONG_ROUND_SECONDS
            )
            prompt_id = await self._asking.open_thread(
                session,
                question,
                team=team,
                channel=channel,
                source="mock",
                requested_by=candidate,
                interviewer=interviewer,
            )
            mock = await mock_rows.add_mock(
                session,
                MockSession(
                    team=team,
                    channel=channel,
                    prompt_id=prompt_id,
                    question_id=question.id,
                    candidate=candidate,
                    interviewer=interviewer,
                    max_followups=max(self._followups, DEEP_FOLLOWUPS if long else 0),
                ),
            )
            if interviewer is not None:
                brief = self._renderer.interviewer_brief(
                    question,
                    candidate=candidate,
                    interviewer=interviewer,
                    mock_id=int(mock.id or 0),
                )
                await outbox_rows.enqueue(
                    session,
                    team=team,
                    dedupe_key=f"brief:{mock.id}",
                    kind="brief",
                    payload=brief,
                    channel=channel,
                )
        self._metrics.prompts.labels(source="mock").inc()
        self._asking.queued()
        return question

    def advance(
        self,
        question: Question,
        mock: MockSession,
        grades: list[Grade],
        *,
        user: str,
        answer_key: str,
        level: str | None,
    ) -> Outgoing:
        """The reply to the candidate's latest graded answer (the last of `grades`): the next
        follow-up, or the scorecard when the interview is over. Updates `mock` in place."""
        asked = list(json.loads(mock.asked or "[]"))
        deep = pushes_back(question, level)
        probe = next_probe(question, combine(question, grades), asked, mock.max_followups, deep)
        grade = grades[-1]
        if probe is not None:
            mock.asked = json.dumps([*asked, probe.criterion_id])
            payload = self._renderer.followup(
                question, probe.criterion_id, user=user, current=probe.current, depth=probe.depth
            )
            return Outgoing(payload, "followup", f"followup:{answer_key}", grade)
        card = scorecard(question, interview_answers(grades, len(asked)))
        mock.status = "done"
        payload = self._renderer.summary(
            question, card.grade, user=user, improved=card.improved, details=f"mock:{mock.id}"
        )
        return Outgoing(payload, "summary", f"summary:{answer_key}", grade)

    def closed(self, question: Question, *, user: str, prompt_id: int) -> Outgoing:
        """Whoever replies after the scorecard: not graded, and told so once per thread."""
        payload = self._renderer.mock_closed(question, user=user)
        return Outgoing(payload, "nudge", f"mock_closed:{prompt_id}", None, FINISHED)

    async def rate(
        self,
        *,
        team: str,
        mock_id: int,
        interviewer: str,
        rating: int,
        notes: str,
        criteria: dict[str, int] | None = None,
    ) -> Rated:
        """Store a human interviewer's rating and post it in the thread beside the bot's
        score, once: a mock interview has one rating (the first submitted). `criteria` is
        their optional met (2) / partly (1) / missed (0) per criterion, kept beside the bot's
        scorecard for the calibration report."""
        async with unit_of_work(self._sessions) as session:
            mock = await mock_rows.get_mock(session, team=team, mock_id=mock_id)
            if mock is None or mock.id is None or mock.interviewer != interviewer:
                return Rated.REFUSED
            prompt = await session.get(Prompt, mock.prompt_id)
            question = self._bank.get(mock.question_id)
            if prompt is None or prompt.ts is None or question is None:
                return Rated.REFUSED
            if not await mock_rows.rate_mock_once(session, mock.id, rating=rating, notes=notes):
                return Rated.ALREADY_RATED
            card = await self.scorecard_of(session, mock, question)
            await self._keep_paired_view(session, mock, question, rating, criteria or {}, card)
            payload = self._renderer.rating(
                question,
                candidate=mock.candidate,
                interviewer=interviewer,
                rating=rating,
                notes=notes,
                bot_score=card.score if card else None,
                bot_band=card.band if card else None,
            )
            await outbox_rows.enqueue(
                session,
                team=team,
                dedupe_key=f"rating:{mock.id}",
                kind="rating",
                payload=payload,
                channel=mock.channel,
                thread_ts=prompt.ts,
                person=mock.candidate,
            )
        self._asking.queued()
        return Rated.RATED

    async def _keep_paired_view(
        self,
        session: AsyncSession,
        mock: MockSession,
        question: Question,
        rating: int,
        criteria: dict[str, int],
        card: Grade | None,
    ) -> None:
        """The human's view beside the bot's: the scorecard's levels when it is posted
        already (otherwise the calibration report reads them once it is)."""
        known = {c.id for c in question.criteria}
        levels = {c: lv for c, lv in criteria.items() if c in known and lv in (0, 1, 2)}
        await calibration_rows.save_paired_rating(
            session,
            PairedRating(
                team=mock.team,
                mock_id=int(mock.id or 0),
                question_id=question.id,
                candidate=mock.candidate,
                interviewer=mock.interviewer or "",
                rating=rating,
                levels=json.dumps(levels),
                bot_levels=json.dumps({c.id: c.level for c in card.criteria}) if card else None,
                bot_score=card.score if card else None,
                bot_band=card.band if card else None,
                grader=card.grader if card else None,
                rubric_version=card.rubric_version if card else None,
            ),
        )

    async def info(self, *, team: str, mock_id: int) -> MockInfo | None:
        """Who interviews whom on what, and the rating if given (None: no such mock)."""
        async with unit_of_work(self._sessions) as session:
            mock = await mock_rows.get_mock(session, team=team, mock_id=mock_id)
        question = self._bank.get(mock.question_id) if mock else None
        if mock is None or mock.id is None or question is None:
            return None
        return MockInfo(mock.id, question, mock.candidate, mock.interviewer, mock.rating)

    async def scorecard_of(
        self, session: AsyncSession, mock: MockSession, question: Question
    ) -> Grade | None:
        """The scorecard of a finished mock interview, as posted; None while it runs."""
        key = (mock.prompt_id, mock.candidate)
        answers = (await attempt_rows.graded_attempts_in_threads(session, {key})).get(key, [])
        return mock_scorecard(question, mock, answers)
