"""The App Home dashboard of one person: progress, what to drill next and where, past answers.

The Home tab belongs to no channel, so its buttons post where the person last
practised (an answer, else a question they asked for): the bot is surely there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calibration_figures import Disputed
from bot.progress import Coverage, Stats
from bot.questions import Criterion, Question, QuestionBank
from bot.reviews import ReviewStatus
from bot.storage import attempt_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow
from bot.use_cases import UseCases

PAGE_SIZE = 8  # past answers per page
DISPUTED_DAYS = 90  # the admins' most disputed criteria: over this many days


@dataclass(frozen=True)
class Weakest:
    coverage: Coverage
    criterion: Criterion
    questions: tuple[Question, ...]  # the questions that train it, where it weighs most first


@dataclass(frozen=True)
class Dashboard:
    stats: Stats
    suggestion: Question
    weakest: Weakest | None
    channel: str | None  # where the buttons post; None until the person has practised
    review: ReviewStatus | None = None  # spaced review: what is due, the streak, what got stronger


@dataclass(frozen=True)
class PastAnswer:
    question_id: str
    title: str
    score: int
    band: str
    when: datetime
    channel: str
    mock: bool
    answer: str


@dataclass(frozen=True)
class HistoryPage:
    answers: tuple[PastAnswer, ...]
    page: int  # 0: the newest
    pages: int
    total: int


@dataclass(frozen=True)
class Started:
    question: Question
    channel: str


def weakest_of(stats: Stats, bank: QuestionBank, suggestion: Question) -> Weakest | None:
    if stats.weakest is None:
        return None
    wanted = stats.weakest.criterion_id
    training = [q for q in bank.questions if any(c.id == wanted for c in q.criteria)]
    if not training:
        return None  # a criterion no question has any more
    training.sort(key=lambda q: -q.criterion(wanted).weight)
    # Explained as the question it was measured on put it (ids repeat across questions).
    measured = bank.get(stats.weakest.question_id)
    if measured in training:
        source = measured
    else:
        source = suggestion if suggestion in training else training[0]
    assert source is not None
    return Weakest(stats.weakest, source.criterion(wanted), tuple(training))


class Dashboards:
    def __init__(self, *, use: UseCases, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._use = use
        self._sessions = sessions

    async def for_user(self, *, team: str, user: str) -> Dashboard:
        stats, suggestion = await self._use.reports.stats_and_suggestion(team=team, user=user)
        return Dashboard(
            stats=stats,
            suggestion=suggestion,
            weakest=weakest_of(stats, self._use.bank, suggestion),
            channel=await self._channel(team=team, user=user),
            review=await self._use.reviews.status(team=team, user=user),
        )

    async def _channel(self, *, team: str, user: str) -> str | None:
        async with unit_of_work(self._sessions, read_only=True) as session:
            return await attempt_rows.last_practice_channel(session, team=team, user=user)

    async def history(self, *, team: str, user: str, page: int) -> HistoryPage:
        page = max(0, page)
        async with unit_of_work(self._sessions, read_only=True) as session:
            rows, total = await attempt_rows.answer_history(
                session, team=team, user=user, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            )
        answers = []
        for attempt, source in rows:
            question = self._use.bank.get(attempt.question_id)
            answers.append(
                PastAnswer(
                    question_id=attempt.question_id,
                    title=question.title if question else attempt.question_id,
                    score=int(attempt.score or 0),
                    band=attempt.band or "weak",
                    when=attempt.received_at,
                    channel=attempt.channel,
                    mock=source == "mock",
                    answer=attempt.answer,
                )
            )
        pages = max(1, -(-total // PAGE_SIZE))
        return HistoryPage(tuple(answers), min(page, pages - 1), pages, total)

    async def drill(self, *, team: str, user: str, question_id: str) -> Started | None:
        """Post `question_id` where the person practises; None when there is no such place.
        Raises UnknownQuestion for a question the bank no longer has."""
        channel = await self._channel(team=team, user=user)
        if channel is None:
            return None
        question = await self._use.asking.ask(
            team=team, channel=channel, wanted=question_id, source="command", requested_by=user
        )
        return Started(question, channel)

    async def top_disputed(self, *, team: str) -> tuple[Disputed, ...]:
        """The three criteria whose grades the workspace disputed most in the last
        `DISPUTED_DAYS` days (admins see them)."""
        since = utcnow() - timedelta(days=DISPUTED_DAYS)
        return tuple(await self._use.calibration.top_disputed(team=team, limit=3, since=since))

    async def mock(self, *, team: str, user: str) -> Started | None:
        """A mock interview for the person where they practise; None when there is no such place."""
        channel = await self._channel(team=team, user=user)
        if channel is None:
            return None
        question = await self._use.interviews.start(
            team=team, channel=channel, candidate=user, interviewer=None, wanted=None
        )
        return Started(question, channel)
