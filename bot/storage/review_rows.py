"""Queries on spaced review: who opted in, each person's memory cards, the reviews sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import add_unless_taken, claim_rows, claim_statement
from bot.storage.tables import OutboxMessage, Review, ReviewCard, ReviewOptIn, utcnow

CardKey = tuple[str, str, str, str]  # team, user, question id, criterion
# The outbox kinds of spaced review's messages (forget-me drops those not yet sent).
REVIEW_KINDS = ("review", "review_feedback", "review_nudge", "review_paused")
OPEN = ("sent", "ignored")  # reviews whose thread still takes an answer

_CLAIM_ANSWERED = claim_statement(Review, (col(Review.status) == "answered",), (col(Review.id),))


# --- opting in ----------------------------------------------------------------------------


async def get_optin(session: AsyncSession, *, team: str, user: str) -> ReviewOptIn | None:
    result = await session.execute(
        select(ReviewOptIn).where(col(ReviewOptIn.team) == team, col(ReviewOptIn.user) == user)
    )
    return result.scalars().first()


async def save_optin(session: AsyncSession, *, team: str, user: str, **fields: Any) -> ReviewOptIn:
    """Set opt-in fields, creating the row on first use (a replica that created it at the
    same moment wins, and its row is updated)."""
    optin = await get_optin(session, team=team, user=user)
    if optin is None:
        optin = ReviewOptIn(team=team, user=user, **fields)
        if await add_unless_taken(session, optin):
            return optin
        optin = await get_optin(session, team=team, user=user)
        assert optin is not None
    for name, value in fields.items():
        setattr(optin, name, value)
    optin.updated_at = utcnow()
    await session.flush()
    return optin


async def opted_in(session: AsyncSession, who: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (team, user) have spaced review on (paused or not)."""
    if not who:
        return set()
    result = await session.execute(
        select(ReviewOptIn.team, ReviewOptIn.user).where(
            sa.tuple_(ReviewOptIn.team, ReviewOptIn.user).in_(list(who)),
            col(ReviewOptIn.enabled).is_(True),
        )
    )
    return {(team, user) for team, user in result.all()}


async def people_due(session: AsyncSession, *, now: datetime, limit: int) -> list[ReviewOptIn]:
    """People with review on and not paused, whose next look is due, with a card due now."""
    card_due = (
        select(ReviewCard.id)
        .where(
            col(ReviewCard.team) == col(ReviewOptIn.team),
            col(ReviewCard.user) == col(ReviewOptIn.user),
            col(ReviewCard.due) <= now,
        )
        .exists()
    )
    result = await session.execute(
        select(ReviewOptIn)
        .where(
            col(ReviewOptIn.enabled).is_(True),
            col(ReviewOptIn.paused).is_(False),
            col(ReviewOptIn.next_at) <= now,
            card_due,
        )
        .order_by(col(ReviewOptIn.next_at), col(ReviewOptIn.id))
        .limit(limit)
    )
    return list(result.scalars().all())


async def postpone(session: AsyncSession, optin_id: int, until: datetime) -> None:
    await session.execute(
        sa.update(ReviewOptIn).where(col(ReviewOptIn.id) == optin_id).values(next_at=until)
    )


async def add_ignored(session: AsyncSession, optin_id: int, count: int) -> None:
    await session.execute(
        sa.update(ReviewOptIn)
        .where(col(ReviewOptIn.id) == optin_id)
        .values(ignored=ReviewOptIn.ignored + count)
    )


async def reset_ignored(session: AsyncSession, *, team: str, user: str) -> None:
    await session.execute(
        sa.update(ReviewOptIn)
        .where(col(ReviewOptIn.team) == team, col(ReviewOptIn.user) == user)
        .values(ignored=0)
    )


async def pause_when_ignored(session: AsyncSession, optin_id: int, *, threshold: int) -> bool:
    """Pause the person's reviews if `threshold` went unanswered in a row; True only for the
    one transaction that paused them."""
    paused = await session.execute(
        sa.update(ReviewOptIn)
        .where(
            col(ReviewOptIn.id) == optin_id,
            col(ReviewOptIn.paused).is_(False),
            col(ReviewOptIn.ignored) >= threshold,
        )
        .values(paused=True, updated_at=utcnow())
    )
    return bool(paused.rowcount)  # type: ignore[attr-defined]


# --- memory cards ---------------------------------------------------------------------------


async def cards_of(session: AsyncSession, *, team: str, user: str) -> list[ReviewCard]:
    result = await session.execute(
        select(ReviewCard)
        .where(col(ReviewCard.team) == team, col(ReviewCard.user) == user)
        .order_by(col(ReviewCard.due), col(ReviewCard.id))
    )
    return list(result.scalars().all())


async def cards_for(session: AsyncSession, keys: set[CardKey]) -> dict[CardKey, ReviewCard]:
    """The cards of these (team, user, question, criterion) that exist, in one query."""
    if not keys:
        return {}
    people = {(team, user) for team, user, _, _ in keys}
    result = await session.execute(
        select(ReviewCard).where(
            sa.tuple_(ReviewCard.team, ReviewCard.user).in_(list(people)),
            col(ReviewCard.question_id).in_({q for _, _, q, _ in keys}),
        )
    )
    found: dict[CardKey, ReviewCard] = {}
    for card in result.scalars().all():
        key = (card.team, card.user, card.question_id, card.criterion)
        if key in keys:
            found[key] = card
    return found


async def add_card(session: AsyncSession, card: ReviewCard) -> bool:
    """Insert a new card; False (nothing written) when another writer made it meanwhile."""
    return await add_unless_taken(session, card)


async def delete_cards(session: AsyncSession, *, team: str, user: str) -> None:
    await session.execute(
        sa.delete(ReviewCard).where(col(ReviewCard.team) == team, col(ReviewCard.user) == user)
    )


# --- reviews --------------------------------------------------------------------------------


async def claim_day(session: AsyncSession, review: Review) -> bool:
    """The person's one review of that local day; False when it is taken (sent already, or
    by another replica at this moment)."""
    return await add_unless_taken(session, review)


async def drop_claim(session: AsyncSession, review_id: int) -> None:
    """Give the day back (the DM could not be opened yet): a later pass tries again."""
    await session.execute(
        sa.delete(Review).where(col(Review.id) == review_id, col(Review.status) == "claimed")
    )


async def set_review_status(
    session: AsyncSession, review_id: int, status: str, **fields: Any
) -> None:
    await session.execute(
        sa.update(Review).where(col(Review.id) == review_id).values(status=status, **fields)
    )


async def mark_ignored(session: AsyncSession, *, team: str, user: str, before_day: str) -> int:
    """Reviews sent before `before_day` and never answered become ignored; how many now."""
    ignored = await session.execute(
        sa.update(Review)
        .where(
            col(Review.team) == team,
            col(Review.user) == user,
            col(Review.status) == "sent",
            col(Review.day) < before_day,
        )
        .values(status="ignored")
    )
    return int(ignored.rowcount)  # type: ignore[attr-defined]


async def open_reviews(
    session: AsyncSession, *, team: str, user: str, channel: str
) -> list[Review]:
    """The person's reviews in this DM whose thread still takes an answer, newest first."""
    result = await session.execute(
        select(Review)
        .where(
            col(Review.team) == team,
            col(Review.user) == user,
            col(Review.channel) == channel,
            col(Review.status).in_(OPEN),
        )
        .order_by(col(Review.id).desc())
        .limit(30)
    )
    return list(result.scalars().all())


async def posted_ts(session: AsyncSession, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(channel, ts) of the outbox messages with these dedupe keys that Slack has."""
    if not keys:
        return {}
    result = await session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.sent_channel, OutboxMessage.sent_ts).where(
            col(OutboxMessage.dedupe_key).in_(list(keys)),
            col(OutboxMessage.sent_ts).is_not(None),
        )
    )
    return {str(key): (str(channel or ""), str(ts)) for key, channel, ts in result.all()}


async def take_answer(
    session: AsyncSession, review_id: int, *, ts: str, answer: str, answer_ts: str, now: datetime
) -> bool:
    """Record the answer to an open review; False when it already has one (a retry)."""
    answered = await session.execute(
        sa.update(Review)
        .where(col(Review.id) == review_id, col(Review.status).in_(OPEN))
        .values(status="answered", ts=ts, answer=answer, answer_ts=answer_ts, answered_at=now)
    )
    return bool(answered.rowcount)  # type: ignore[attr-defined]


async def claim_answered(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    owner: str | None = None,
    dead_before: datetime | None = None,
) -> list[Review]:
    """Lease answered reviews nobody is grading to `owner` (see claiming.claimable)."""
    return await claim_rows(
        session,
        _CLAIM_ANSWERED,
        now=now,
        lease=lease,
        limit=limit,
        owner=owner,
        dead_before=dead_before,
    )


async def finish_review(
    session: AsyncSession, review_id: int, *, level: int, now: datetime
) -> bool:
    """Record the level of an answered review; False when it is gone or finished elsewhere."""
    graded = await session.execute(
        sa.update(Review)
        .where(col(Review.id) == review_id, col(Review.status) == "answered")
        .values(status="graded", level=level, graded_at=now, lease_until=None, owner=None)
    )
    return bool(graded.rowcount)  # type: ignore[attr-defined]


async def reopen_review(session: AsyncSession, review_id: int) -> bool:
    """An answer that was not one: the review takes the next reply in its thread."""
    reopened = await session.execute(
        sa.update(Review)
        .where(col(Review.id) == review_id, col(Review.status) == "answered")
        .values(status="sent", answer=None, answer_ts=None, lease_until=None, owner=None)
    )
    return bool(reopened.rowcount)  # type: ignore[attr-defined]


async def reviews_of(
    session: AsyncSession, *, team: str, user: str, limit: int = 60
) -> list[Review]:
    """The person's latest reviews, newest first."""
    result = await session.execute(
        select(Review)
        .where(col(Review.team) == team, col(Review.user) == user)
        .order_by(col(Review.id).desc())
        .limit(limit)
    )
    return list(result.scalars().all())


async def graded_reviews(session: AsyncSession, *, team: str, user: str) -> list[Review]:
    result = await session.execute(
        select(Review)
        .where(col(Review.team) == team, col(Review.user) == user, col(Review.status) == "graded")
        .order_by(col(Review.id))
    )
    return list(result.scalars().all())


# --- forget-me and retention -------------------------------------------------------------------


async def delete_person(session: AsyncSession, *, team: str, user: str) -> int:
    """Everything spaced review keeps about a person in one workspace, and their review
    messages not yet sent; returns the reviews deleted."""
    await session.execute(
        sa.delete(OutboxMessage).where(
            col(OutboxMessage.team) == team,
            col(OutboxMessage.person) == user,
            col(OutboxMessage.kind).in_(REVIEW_KINDS),
            col(OutboxMessage.status) != "sent",
        )
    )
    deleted = await session.execute(
        sa.delete(Review).where(col(Review.team) == team, col(Review.user) == user)
    )
    await delete_cards(session, team=team, user=user)
    await session.execute(
        sa.delete(ReviewOptIn).where(col(ReviewOptIn.team) == team, col(ReviewOptIn.user) == user)
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def delete_reviews_before(session: AsyncSession, cutoff: datetime) -> int:
    """Reviews (and the answers in them) older than `cutoff`, except one still being graded."""
    deleted = await session.execute(
        sa.delete(Review).where(col(Review.created_at) < cutoff, col(Review.status) != "answered")
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def pause_team(session: AsyncSession, *, team: str) -> None:
    """A workspace that removed the app gets no reviews until people turn them on again."""
    await session.execute(
        sa.update(ReviewOptIn).where(col(ReviewOptIn.team) == team).values(paused=True)
    )
