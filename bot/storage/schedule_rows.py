"""Queries on schedules and their runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import add_unless_taken
from bot.storage.tables import (
    Schedule,
    ScheduleRun,
)


async def add_schedule_once(session: AsyncSession, schedule: Schedule) -> bool:
    """Insert a schedule unless its slot is taken (then False, and nothing written)."""
    return await add_unless_taken(session, schedule)


async def schedule_like(session: AsyncSession, schedule: Schedule) -> Schedule | None:
    """The channel's first other schedule on the same days, time and timezone."""
    query = select(Schedule).where(
        col(Schedule.team) == schedule.team,
        col(Schedule.channel) == schedule.channel,
        col(Schedule.days) == schedule.days,
        col(Schedule.time) == schedule.time,
        col(Schedule.tz) == schedule.tz,
    )
    if schedule.id is not None:
        query = query.where(col(Schedule.id) != schedule.id)
    result = await session.execute(query.order_by(col(Schedule.id)).limit(1))
    return result.scalars().first()


async def schedules_for_team(session: AsyncSession, *, team: str) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule).where(col(Schedule.team) == team).order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def get_team_schedule(
    session: AsyncSession, *, team: str, schedule_id: int
) -> Schedule | None:
    result = await session.execute(
        select(Schedule).where(col(Schedule.id) == schedule_id, col(Schedule.team) == team)
    )
    return result.scalars().first()


async def schedules_for_channel(
    session: AsyncSession, *, team: str, channel: str
) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule)
        .where(col(Schedule.team) == team, col(Schedule.channel) == channel)
        .order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def get_schedule(
    session: AsyncSession, *, team: str, channel: str, schedule_id: int
) -> Schedule | None:
    result = await session.execute(
        select(Schedule).where(
            col(Schedule.id) == schedule_id,
            col(Schedule.team) == team,
            col(Schedule.channel) == channel,
        )
    )
    return result.scalars().first()


async def get_schedule_by_id(session: AsyncSession, schedule_id: int) -> Schedule | None:
    return await session.get(Schedule, schedule_id)


async def active_schedules(session: AsyncSession) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule).where(col(Schedule.paused).is_(False)).order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def delete_schedule(
    session: AsyncSession, *, team: str, channel: str, schedule_id: int
) -> bool:
    schedule = await get_schedule(session, team=team, channel=channel, schedule_id=schedule_id)
    if schedule is None:
        return False
    await session.execute(sa.delete(ScheduleRun).where(col(ScheduleRun.schedule_id) == schedule_id))
    await session.delete(schedule)
    return True


async def claim_run(
    session: AsyncSession, *, schedule_id: int, fire_time: datetime
) -> ScheduleRun | None:
    """The unique claim on one fire; None when another process (or an earlier run) has it."""
    run = ScheduleRun(schedule_id=schedule_id, fire_time=fire_time)
    return run if await add_unless_taken(session, run) else None


async def has_run(session: AsyncSession, *, schedule_id: int, fire_time: datetime) -> bool:
    result = await session.execute(
        select(ScheduleRun.id).where(
            col(ScheduleRun.schedule_id) == schedule_id, col(ScheduleRun.fire_time) == fire_time
        )
    )
    return result.first() is not None


async def scheduled_channels(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(team, channel, timezone of its first active schedule) for every channel with one."""
    seen: dict[tuple[str, str], str] = {}
    for schedule in await active_schedules(session):
        seen.setdefault((schedule.team, schedule.channel), schedule.tz)
    return [(team, channel, tz) for (team, channel), tz in seen.items()]
