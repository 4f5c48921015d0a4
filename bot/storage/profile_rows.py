"""Queries on people's profiles (level, leaderboard opt-in) and forget-me."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage import calibration_rows, review_rows
from bot.storage.tables import (
    Attempt,
    MockSession,
    OutboxMessage,
    UserProfile,
    utcnow,
)


async def delete_user_data(session: AsyncSession, *, team: str, user: str) -> int:
    """Delete a user's answers and profile in one workspace; returns answers deleted."""
    attempt_ids = select(Attempt.id).where(col(Attempt.team) == team, col(Attempt.user) == user)
    await session.execute(
        sa.delete(OutboxMessage).where(
            col(OutboxMessage.attempt_id).in_(attempt_ids), col(OutboxMessage.status) != "sent"
        )
    )
    deleted = await session.execute(
        sa.delete(Attempt).where(col(Attempt.team) == team, col(Attempt.user) == user)
    )
    await session.execute(
        sa.delete(UserProfile).where(col(UserProfile.team) == team, col(UserProfile.user) == user)
    )
    # The calibration loop: their verdicts on grades, paired ratings, and consent to share.
    await calibration_rows.delete_user(session, team=team, user=user)
    # Their mock interviews as the candidate; as the interviewer, their rating and notes.
    await session.execute(
        sa.delete(MockSession).where(
            col(MockSession.team) == team, col(MockSession.candidate) == user
        )
    )
    await session.execute(
        sa.update(MockSession)
        .where(col(MockSession.team) == team, col(MockSession.interviewer) == user)
        .values(interviewer=None, rating=None, rating_notes=None)
    )
    # Spaced review: the opt-in, the memory cards, the reviews and their unsent messages.
    await review_rows.delete_person(session, team=team, user=user)
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def get_profile(session: AsyncSession, *, team: str, user: str) -> UserProfile | None:
    result = await session.execute(
        select(UserProfile).where(col(UserProfile.team) == team, col(UserProfile.user) == user)
    )
    return result.scalars().first()


async def levels_of(session: AsyncSession, who: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The stored level of each (team, user) that has one, in one query."""
    if not who:
        return {}
    result = await session.execute(
        select(UserProfile.team, UserProfile.user, UserProfile.level).where(
            sa.tuple_(UserProfile.team, UserProfile.user).in_(list(who)),
            col(UserProfile.level).is_not(None),
        )
    )
    return {(team, user): str(level) for team, user, level in result.all()}


async def update_profile(session: AsyncSession, *, team: str, user: str, **fields: Any) -> None:
    """Set profile fields (level, leaderboard …), creating the profile on first use."""
    profile = await get_profile(session, team=team, user=user)
    if profile is None:
        session.add(UserProfile(team=team, user=user, **fields))
    else:
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.updated_at = utcnow()
    await session.flush()


async def leaderboard_users(session: AsyncSession, *, team: str) -> set[str]:
    result = await session.execute(
        select(UserProfile.user).where(
            col(UserProfile.team) == team, col(UserProfile.leaderboard).is_(True)
        )
    )
    return {r[0] for r in result.all()}
