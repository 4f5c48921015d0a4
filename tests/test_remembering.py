"""remembering.py: which criteria an answer practised, and the cards kept for people who
turned spaced review on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from bot.grading.rubric import RubricGrader
from bot.questions import QuestionBank
from bot.remembering import Practised, practised_in, probed, remember
from bot.storage import review_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import ReviewCard
from tests.slack import payloads as p

MONDAY = datetime(2027, 1, 4, 9, tzinfo=UTC)


def test_a_mock_answer_after_the_first_practises_the_criterion_followed_up() -> None:
    asked = ["monitoring", "rollout", "rollout"]  # a follow-up, then a push-back on it
    assert probed(asked, 0) is None  # the first answer: the whole question
    assert [probed(asked, n) for n in (1, 2, 3)] == ["monitoring", "rollout", "rollout"]
    assert probed(asked, 4) is None  # nothing was asked for it


async def test_every_criterion_or_only_one(bank: QuestionBank) -> None:
    question = bank.get("deploy-ml-models")
    assert question is not None
    grade = await RubricGrader(bank).grade(question, p.WEAK_ANSWER)
    every = practised_in(grade, team="T", user="U", when=MONDAY)
    assert [x.criterion for x in every] == [c.id for c in question.criteria]
    [only] = practised_in(grade, team="T", user="U", when=MONDAY, only="packaging")
    assert (only.criterion, only.level) == ("packaging", 1)


async def _cards(sessions: async_sessionmaker[AsyncSession]) -> list[ReviewCard]:
    async with unit_of_work(sessions) as session:
        return list((await session.execute(select(ReviewCard))).scalars().all())


async def test_cards_are_kept_for_people_who_opted_in_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Bob turned review on, Alice did not: only Bob's practice is remembered; a second
    review of the same criterion updates its card (the first level stays for comparison)."""
    async with unit_of_work(sessions) as session:
        await review_rows.save_optin(session, team="T1", user="U0BOB")
    bob = Practised("T1", "U0BOB", "deploy-ml-models", "rollout", 0, MONDAY)
    alice = Practised("T1", "U0ALICE", "deploy-ml-models", "rollout", 0, MONDAY)
    async with unit_of_work(sessions) as session:
        assert await remember(session, [bob, alice]) == 1
    later = Practised("T1", "U0BOB", "deploy-ml-models", "rollout", 2, MONDAY + timedelta(days=1))
    async with unit_of_work(sessions) as session:
        assert await remember(session, [later]) == 1
    [card] = await _cards(sessions)
    assert (card.user, card.first_level, card.level, card.reviews) == ("U0BOB", 0, 2, 2)
    assert card.practised_at == later.when and card.due > later.when + timedelta(days=1)
