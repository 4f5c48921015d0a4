"""Use cases for team leads: who practised, and a schedule's next prompt (seen or posted now)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.history import scored
from bot.questions import Question
from bot.schedule import ScheduleView
from bot.storage import attempt_rows, profile_rows, schedule_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow
from bot.team import RECENT, TeamWeek, team_week
from bot.use_cases import UseCases

MAX_TEAM_CHANNELS = 10  # channels in the App Home's team view


class TeamLead:
    def __init__(
        self,
        *,
        use: UseCases,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._use = use
        self._sessions = sessions
        self._clock = clock

    async def week(self, *, team: str, channel: str, members: frozenset[str] | None) -> TeamWeek:
        """Who practised in `channel` in the last seven days, and who hasn't."""
        now = self._clock()
        async with unit_of_work(self._sessions, read_only=True) as session:
            rows = await attempt_rows.graded_attempts(
                session, team=team, channel=channel, since=now - RECENT
            )
            opted = await profile_rows.leaderboard_users(session, team=team)
        return team_week([scored(a) for a in rows], members=members, opted_in=opted, now=now)

    async def team_channels(self, *, team: str) -> list[str]:
        """The channels a team view covers: those with a schedule, then those practised in."""
        async with unit_of_work(self._sessions, read_only=True) as session:
            scheduled = [
                s.channel for s in await schedule_rows.schedules_for_team(session, team=team)
            ]
            practised = await attempt_rows.channels_with_answers(
                session, team=team, since=self._clock() - RECENT
            )
        return list(dict.fromkeys([*scheduled, *practised]))[:MAX_TEAM_CHANNELS]

    async def preview(self, schedule: ScheduleView) -> Question:
        """The question the schedule would post next, if nothing changes before then."""
        async with unit_of_work(self._sessions, read_only=True) as session:
            return await self._use.asking.choose_question(
                session,
                team=schedule.team,
                channel=schedule.channel,
                wanted=None,
                limit=schedule.limit,
            )

    async def post_now(self, schedule: ScheduleView) -> Question | None:
        """Post the schedule's next question now (its regular fires stay as they are);
        None if it already posted this minute (a double click)."""
        minute = self._clock().replace(second=0, microsecond=0)
        return await self._use.asking.ask_scheduled(
            team=schedule.team,
            channel=schedule.channel,
            schedule_id=schedule.id,
            fire_time=minute,
            limit=schedule.limit,
        )
