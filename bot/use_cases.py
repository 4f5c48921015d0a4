"""The use cases the Slack adapter, the scheduler and the App Home call, built by Runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.asking import Asking
from bot.calibration import Calibration
from bot.grading.rubric import RubricGrader
from bot.interviews import MockInterviews
from bot.messages import Renderer
from bot.metrics import Metrics
from bot.people import People
from bot.questions import QuestionBank
from bot.recording import AnswerRecorder
from bot.reports import Reports
from bot.reviews import Reviews
from bot.storage.spool import Spool


@dataclass(frozen=True)
class UseCases:
    bank: QuestionBank
    asking: Asking  # a question into a channel, now or on a schedule
    answers: AnswerRecorder  # a threaded reply stored before the ack
    interviews: MockInterviews  # mock interviews: start, rate
    reports: Reports  # stats, leaderboard, digest, Details
    people: People  # a person's level, opt-ins and forget-me
    calibration: Calibration  # "Was this fair?", sharing for calibration, the report
    reviews: Reviews  # spaced review: opting in, the DMs, their answers


def build_use_cases(
    *,
    bank: QuestionBank,
    sessions: async_sessionmaker[AsyncSession],
    renderer: Renderer,
    metrics: Metrics,
    on_message: Callable[[], None] = lambda: None,
    on_answer: Callable[[], None] = lambda: None,
    spool: Spool | None = None,
    mock_followups: int = 2,
    reviews: Reviews | None = None,
) -> UseCases:
    """`on_message` wakes the outbox (a message was queued), `on_answer` the grading passes
    (an answer was stored). `reviews`: spaced review as the runtime wires it (its grader and
    Slack directory); by default one that grades with the rubric grader and sends nothing."""
    asking = Asking(
        bank=bank, sessions=sessions, renderer=renderer, metrics=metrics, on_message=on_message
    )
    interviews = MockInterviews(
        bank=bank,
        sessions=sessions,
        asking=asking,
        renderer=renderer,
        metrics=metrics,
        followups=mock_followups,
    )
    return UseCases(
        bank=bank,
        asking=asking,
        answers=AnswerRecorder(
            sessions=sessions, metrics=metrics, on_answer=on_answer, spool=spool
        ),
        interviews=interviews,
        reports=Reports(
            bank=bank,
            sessions=sessions,
            interviews=interviews,
            renderer=renderer,
            on_message=on_message,
        ),
        people=People(sessions),
        calibration=Calibration(bank=bank, sessions=sessions),
        reviews=reviews
        or Reviews(
            bank=bank,
            sessions=sessions,
            grader=RubricGrader(bank),
            renderer=renderer,
            on_message=on_message,
        ),
    )
