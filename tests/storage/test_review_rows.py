"""review_rows.py: the claims spaced review relies on, and what forget-me deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import outbox_rows, review_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import OutboxMessage, Review, ReviewCard

NOW = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)


def _review(user: str = "U0BOB", day: str = "2027-01-05", team: str = "T1") -> Review:
    return Review(
        team=team, user=user, day=day, question_id="q", criterion="c", prompt="Why a canary?"
    )


async def test_one_review_per_person_and_day(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The day's claim is unique: a second (another replica's) is refused, without spoiling
    the transaction; another day, person or workspace is free."""
    async with unit_of_work(sessions) as session:
        assert await review_rows.claim_day(session, _review())
        assert not await review_rows.claim_day(session, _review())
        assert await review_rows.claim_day(session, _review(day="2027-01-06"))
        assert await review_rows.claim_day(session, _review(user="U0ALICE"))
        assert await review_rows.claim_day(session, _review(team="T2"))
    async with unit_of_work(sessions) as session:
        count = await session.execute(sa.select(sa.func.count()).select_from(Review))
        assert count.scalar() == 4


async def test_a_card_is_made_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    def card() -> ReviewCard:
        return ReviewCard(
            team="T1", user="U0BOB", question_id="q", criterion="c", card="{}", due=NOW
        )

    async with unit_of_work(sessions) as session:
        assert await review_rows.add_card(session, card())
        assert not await review_rows.add_card(session, card())


async def test_unanswered_reviews_become_ignored_once_and_answers_are_taken_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        for day in ("2027-01-04", "2027-01-05"):
            review = _review(day=day)
            await review_rows.claim_day(session, review)
            await review_rows.set_review_status(session, int(review.id or 0), "sent", channel="D1")
    async with unit_of_work(sessions) as session:
        ignored = await review_rows.mark_ignored(
            session, team="T1", user="U0BOB", before_day="2027-01-05"
        )
        again = await review_rows.mark_ignored(
            session, team="T1", user="U0BOB", before_day="2027-01-05"
        )
        assert (ignored, again) == (1, 0)
        [today, yesterday] = await review_rows.open_reviews(
            session, team="T1", user="U0BOB", channel="D1"
        )
        assert (today.status, yesterday.status) == ("sent", "ignored")
        taken = [
            await review_rows.take_answer(
                session, int(yesterday.id or 0), ts="1.0", answer="a", answer_ts="2.0", now=NOW
            )
            for _ in range(2)
        ]
        assert taken == [True, False]  # a late answer still counts; a retry does not


async def test_forget_me_takes_the_persons_unsent_review_messages(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        await review_rows.save_optin(session, team="T1", user="U0BOB")
        await review_rows.claim_day(session, _review())
        for user in ("U0BOB", "U0ALICE"):
            await outbox_rows.enqueue(
                session,
                team="T1",
                dedupe_key=f"review:{user}",
                kind="review",
                payload={"text": "x"},
                channel="D1",
                person=user,
            )
    async with unit_of_work(sessions) as session:
        assert await review_rows.delete_person(session, team="T1", user="U0BOB") == 1
        left = await session.execute(sa.select(OutboxMessage.person))
        assert [r[0] for r in left.all()] == ["U0ALICE"]
        assert await review_rows.get_optin(session, team="T1", user="U0BOB") is None


async def test_people_due_are_those_on_unpaused_and_with_a_card_due(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        for user, paused, due in (
            ("U0DUE", False, NOW - timedelta(hours=1)),
            ("U0LATER", False, NOW + timedelta(hours=1)),
            ("U0PAUSED", True, NOW - timedelta(hours=1)),
        ):
            await review_rows.save_optin(
                session, team="T1", user=user, paused=paused, next_at=NOW - timedelta(days=1)
            )
            session.add(
                ReviewCard(team="T1", user=user, question_id="q", criterion="c", card="{}", due=due)
            )
        await review_rows.save_optin(session, team="T1", user="U0OFF", enabled=False)
    async with unit_of_work(sessions) as session:
        due = await review_rows.people_due(session, now=NOW, limit=10)
    assert [p.user for p in due] == ["U0DUE"]
