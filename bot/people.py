"""A person's own settings and data: their level, the leaderboard opt-in, forget-me, and
whether they answered a drill thread."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import attempt_rows, profile_rows
from bot.storage.db import unit_of_work


class People:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def set_level(self, *, team: str, user: str, level: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await profile_rows.update_profile(session, team=team, user=user, level=level)

    async def set_leaderboard(self, *, team: str, user: str, opted_in: bool) -> None:
        async with unit_of_work(self._sessions) as session:
            await profile_rows.update_profile(session, team=team, user=user, leaderboard=opted_in)

    async def forget(self, *, team: str, user: str) -> int:
        """Delete everything stored about the person in this workspace; how many rows."""
        async with unit_of_work(self._sessions) as session:
            return await profile_rows.delete_user_data(session, team=team, user=user)

    async def has_answered(self, *, team: str, channel: str, thread_ts: str, user: str) -> bool:
        async with unit_of_work(self._sessions) as session:
            return await attempt_rows.has_answered(
                session, team=team, channel=channel, thread_ts=thread_ts, user=user
            )
