"""Queries on mock-interview sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.tables import (
    MockSession,
)


async def add_mock(session: AsyncSession, mock: MockSession) -> MockSession:
    session.add(mock)
    await session.flush()
    return mock


async def mocks_for_prompts(session: AsyncSession, prompt_ids: set[int]) -> dict[int, MockSession]:
    if not prompt_ids:
        return {}
    result = await session.execute(
        select(MockSession).where(col(MockSession.prompt_id).in_(prompt_ids))
    )
    return {m.prompt_id: m for m in result.scalars().all()}


async def save_mock_progress(session: AsyncSession, mock: MockSession) -> None:
    """Write back a mock interview's follow-ups asked and status (it was read earlier)."""
    await session.execute(
        sa.update(MockSession)
        .where(col(MockSession.id) == mock.id)
        .values(asked=mock.asked, status=mock.status)
    )


async def rate_mock_once(session: AsyncSession, mock_id: int, *, rating: int, notes: str) -> bool:
    """Record the interviewer's rating unless the mock interview has one; False if it had."""
    rated = await session.execute(
        sa.update(MockSession)
        .where(col(MockSession.id) == mock_id, col(MockSession.rating).is_(None))
        .values(rating=rating, rating_notes=notes)
    )
    return bool(rated.rowcount)  # type: ignore[attr-defined]


async def get_mock(session: AsyncSession, *, team: str, mock_id: int) -> MockSession | None:
    result = await session.execute(
        select(MockSession).where(col(MockSession.id) == mock_id, col(MockSession.team) == team)
    )
    return result.scalars().first()


async def mocks_of(
    session: AsyncSession, *, team: str, channel: str | None = None
) -> dict[int, MockSession]:
    """A workspace's (or one channel's) mock interviews, by prompt id."""
    query = select(MockSession).where(col(MockSession.team) == team)
    if channel is not None:
        query = query.where(col(MockSession.channel) == channel)
    result = await session.execute(query)
    return {m.prompt_id: m for m in result.scalars().all()}
