"""reviews.py: the streak, and a review pass that cannot reach Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.grading.rubric import RubricGrader
from bot.metrics import Metrics
from bot.questions import QuestionBank
from bot.remembering import Practised, remember
from bot.reviews import RETRY_AFTER, NoDirectory, Reviews, streak_of
from bot.slack.blocks import SlackMessages
from bot.storage import review_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Review
from bot.use_cases import build_use_cases

NOW = datetime(2027, 1, 5, 10, 30, tzinfo=UTC)


def _reviews(*statuses: str) -> list[Review]:
    """Newest first, as `reviews_of` gives them."""
    return [
        Review(
            team="T", user="U", day=f"d{i}", question_id="q", criterion="c", prompt="p", status=s
        )
        for i, s in enumerate(statuses)
    ]


def test_the_streak_counts_answers_in_a_row() -> None:
    assert streak_of(_reviews("graded", "graded", "ignored", "graded")) == 2
    assert streak_of(_reviews("sent", "graded", "answered")) == 2  # today's is still open
    assert streak_of(_reviews("graded", "failed", "graded")) == 2  # a DM that failed is no gap
    assert streak_of(_reviews("graded", "sent", "graded")) == 1  # left unanswered
    assert streak_of([]) == 0


async def test_without_slack_no_review_is_sent_and_the_person_is_tried_later(
    sessions: async_sessionmaker[AsyncSession], bank: QuestionBank
) -> None:
    """Without a Slack directory (the use cases' default) a review pass sends nothing and
    looks at the person again RETRY_AFTER later."""
    use = build_use_cases(bank=bank, sessions=sessions, renderer=SlackMessages(), metrics=Metrics())
    assert isinstance(use.reviews.directory, NoDirectory)
    reviews = Reviews(
        bank=bank,
        sessions=sessions,
        grader=RubricGrader(bank),
        renderer=SlackMessages(),
        clock=lambda: NOW,
    )
    async with unit_of_work(sessions) as session:
        await review_rows.save_optin(session, team="T1", user="U0BOB", next_at=NOW)
        done = Practised("T1", "U0BOB", "deploy-ml-models", "rollout", 0, NOW - timedelta(days=2))
        await remember(session, [done])
    assert await reviews.send_due() == 0
    async with unit_of_work(sessions) as session:
        optin = await review_rows.get_optin(session, team="T1", user="U0BOB")
        assert optin is not None and optin.next_at == NOW + RETRY_AFTER
        assert await review_rows.reviews_of(session, team="T1", user="U0BOB") == []
