"""Scheduled daily drills: parsing a schedule, when it fires, and the use cases that create
and change one. `scheduler.py` turns the fires into prompts.

The claim key is the local date at the schedule's wall-clock time, so the repeated hour on a
DST fall-back day fires once.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.limits import Limit, LimitProblem, checked, is_limit_word, parse_limit
from bot.questions import QuestionBank
from bot.storage import outbox_rows, schedule_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Schedule, utcnow

log = logging.getLogger(__name__)

DAYS = {"daily": "*", "weekdays": "mon-fri"}  # names, never numbers: 3.x counts Monday as 0
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleProblem(ValueError):
    """Bad schedule input; the message names the bad part and shows an example."""


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as people see it, with its next fire worked out when it was read."""

    id: int
    team: str
    channel: str
    days: str
    time: str  # HH:MM
    tz: str
    paused: bool
    created_by: str | None
    limit: Limit
    skips: tuple[date, ...]  # local dates it does not post on
    next_fire: datetime | None  # None: it has no next fire


class DuplicateSchedule(ScheduleProblem):
    """The channel already has a schedule on these days, at this time, in this timezone."""

    def __init__(self, existing: ScheduleView) -> None:
        self.existing = existing
        super().__init__(f"schedule #{existing.id} already posts then")


@dataclass(frozen=True)
class ScheduleSpec:
    days: str
    time: str  # HH:MM
    tz: str | None  # None: the caller's default
    limit: Limit = field(default_factory=Limit)


def parse_spec(args: tuple[str, ...]) -> ScheduleSpec:
    """`daily|weekdays HH:MM [IANA timezone] [topics a,b] [difficulty core]`."""
    example = "Example: `/deploy-question schedule weekdays 09:30 Europe/Berlin`"
    if len(args) < 2:
        raise ScheduleProblem(
            f"A schedule needs days and a time, and optionally a timezone. {example}"
        )
    days, clock = args[0].lower(), args[1]
    if days not in DAYS:
        raise ScheduleProblem(
            f"“{days[:20]}” is not a day choice: use `daily` or `weekdays`. {example}"
        )
    match = _TIME.match(clock)
    if not match:
        raise ScheduleProblem(
            f"“{clock[:20]}” is not a time: use 24-hour HH:MM, like 09:30. {example}"
        )
    time = f"{int(match.group(1)):02d}:{match.group(2)}"
    rest = args[2:]
    tz = None
    if rest and not is_limit_word(rest[0]):
        tz, rest = rest[0], rest[1:]
        zone(tz)
    return ScheduleSpec(days, time, tz, parse_schedule_limit(rest))


def parse_schedule_limit(tokens: tuple[str, ...]) -> Limit:
    """A schedule's `topics …`/`difficulty …` words (ScheduleProblem when malformed)."""
    try:
        return parse_limit(tokens)
    except LimitProblem as exc:
        raise ScheduleProblem(str(exc)) from None


def zone(name: str) -> ZoneInfo:
    try:
        if "/" not in name and name.upper() != "UTC":
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleProblem(
            f"“{name[:40]}” is not an IANA timezone. Use a name like `Europe/Berlin`, "
            "`America/New_York` or `UTC`."
        ) from None


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ScheduleProblem(
            f"“{text[:20]}” is not a date: use YYYY-MM-DD, like 2026-12-24."
        ) from None


def trigger_for(schedule: Schedule) -> CronTrigger:
    hour, minute = (int(x) for x in schedule.time.split(":"))
    return CronTrigger(
        day_of_week=DAYS[schedule.days], hour=hour, minute=minute, timezone=zone(schedule.tz)
    )


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The next time the schedule posts after `after`, skipping skip dates."""
    trigger = trigger_for(schedule)
    skips = skip_dates(schedule)
    current = after
    for _ in range(400):  # a year of skip dates at most
        fire = trigger.get_next_fire_time(None, current)
        if fire is None:
            return None
        if fire.astimezone(zone(schedule.tz)).date() not in skips:
            found: datetime = fire.astimezone(UTC)
            return found
        current = fire + timedelta(seconds=1)
    return None


def last_fire(schedule: Schedule, now: datetime) -> datetime | None:
    """The most recent scheduled time at or before `now` (within the last eight days)."""
    trigger = trigger_for(schedule)
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    latest = None
    for _ in range(20):  # at most nine fires in eight days, DST repeats included
        if fire is None or fire > now:
            break
        latest = fire
        # No previous_fire_time: with it, 3.x can return the same instant again around DST.
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
    return latest.astimezone(UTC) if latest else None


def claim_key(schedule: Schedule, fire: datetime) -> datetime:
    """One key per local date: both copies of a repeated DST hour map to the same claim."""
    tz = zone(schedule.tz)
    local = fire.astimezone(tz)
    hour, minute = (int(x) for x in schedule.time.split(":"))
    return datetime(local.year, local.month, local.day, hour, minute, tzinfo=tz).astimezone(UTC)


def skip_dates(schedule: Schedule) -> set[date]:
    return {date.fromisoformat(d) for d in json.loads(schedule.skip_dates or "[]")}


def limit_of(schedule: Schedule) -> Limit:
    return Limit(
        tuple(json.loads(schedule.topics or "[]")), tuple(json.loads(schedule.difficulties or "[]"))
    )


def view_of(schedule: Schedule, now: datetime) -> ScheduleView:
    return ScheduleView(
        id=int(schedule.id or 0),
        team=schedule.team,
        channel=schedule.channel,
        days=schedule.days,
        time=schedule.time,
        tz=schedule.tz,
        paused=schedule.paused,
        created_by=schedule.created_by,
        limit=limit_of(schedule),
        skips=tuple(sorted(skip_dates(schedule))),
        next_fire=next_fire(schedule, now),
    )


def slot_of(*, team: str, channel: str, days: str, time: str, tz: str) -> str:
    """What makes two schedules the same: one channel, days, time and timezone."""
    return f"{team}:{channel}:{days}:{time}:{tz}"


# --- use cases -------------------------------------------------------------------


class ScheduleRenderer(Protocol):
    """The message a channel gets when a schedule is set up in it (the Slack layer's)."""

    def schedule_announcement(self, schedule: ScheduleView) -> dict[str, Any]: ...


class Schedules:
    """Create, list and change a channel's schedules (authorisation is the caller's job)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_change: Callable[[], None],
        *,
        bank: QuestionBank,
        renderer: ScheduleRenderer | None = None,
        on_message: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._on_change = on_change
        self._bank = bank
        self._renderer = renderer
        self._on_message = on_message
        self._clock = clock

    def checked_limit(self, limit: Limit) -> Limit:
        try:
            return checked(limit, self._bank)
        except LimitProblem as exc:
            raise ScheduleProblem(str(exc)) from None

    async def create(
        self, *, team: str, channel: str, spec: ScheduleSpec, tz: str, user: str
    ) -> ScheduleView:
        """A new schedule, announced in its channel; DuplicateSchedule when the channel
        has one on the same days, time and timezone (paused or not)."""
        zone(tz)
        limit = self.checked_limit(spec.limit)
        slot = slot_of(team=team, channel=channel, days=spec.days, time=spec.time, tz=tz)
        async with unit_of_work(self._sessions) as session:
            schedule = Schedule(
                team=team,
                channel=channel,
                days=spec.days,
                time=spec.time,
                tz=tz,
                topics=json.dumps(limit.topics),
                difficulties=json.dumps(limit.difficulties),
                slot=slot,
                created_by=user,
            )
            # The unique slot decides between two admins adding it at once; the lookup
            # also finds a repeat made before slots existed (its slot is NULL).
            existing = await schedule_rows.schedule_like(session, schedule)
            if existing is None and not await schedule_rows.add_schedule_once(session, schedule):
                existing = await schedule_rows.schedule_like(session, schedule)
            if existing is None and self._renderer is not None:
                payload = self._renderer.schedule_announcement(view_of(schedule, self._clock()))
                await outbox_rows.enqueue(
                    session,
                    team=team,
                    dedupe_key=f"schedule:{schedule.id}:announce",
                    kind="announce",
                    payload=payload,
                    channel=channel,
                )
        if existing is not None:
            raise DuplicateSchedule(view_of(existing, self._clock()))  # (nothing was written)
        self._on_change()
        self._on_message()
        return view_of(schedule, self._clock())

    async def for_channel(self, *, team: str, channel: str) -> list[ScheduleView]:
        async with unit_of_work(self._sessions) as session:
            rows = await schedule_rows.schedules_for_channel(session, team=team, channel=channel)
        return [view_of(s, self._clock()) for s in rows]

    async def for_team(self, *, team: str) -> list[ScheduleView]:
        async with unit_of_work(self._sessions, read_only=True) as session:
            rows = await schedule_rows.schedules_for_team(session, team=team)
        return [view_of(s, self._clock()) for s in rows]

    async def get(self, *, team: str, schedule_id: int) -> ScheduleView | None:
        async with unit_of_work(self._sessions, read_only=True) as session:
            row = await schedule_rows.get_team_schedule(session, team=team, schedule_id=schedule_id)
        return view_of(row, self._clock()) if row else None

    async def remove(self, *, team: str, channel: str, schedule_id: int) -> bool:
        async with unit_of_work(self._sessions) as session:
            done = await schedule_rows.delete_schedule(
                session, team=team, channel=channel, schedule_id=schedule_id
            )
        self._on_change()
        return done

    async def set_paused(self, *, team: str, channel: str, schedule_id: int, paused: bool) -> bool:
        async with unit_of_work(self._sessions) as session:
            schedule = await schedule_rows.get_schedule(
                session, team=team, channel=channel, schedule_id=schedule_id
            )
            if schedule is None:
                return False
            schedule.paused = paused
        self._on_change()
        return True

    async def set_limit(
        self, *, team: str, channel: str, schedule_id: int, limit: Limit
    ) -> ScheduleView | None:
        """Keep a schedule to `limit` (an empty one: anything); None if there is no such one."""
        limit = self.checked_limit(limit)
        async with unit_of_work(self._sessions) as session:
            schedule = await schedule_rows.get_schedule(
                session, team=team, channel=channel, schedule_id=schedule_id
            )
            if schedule is None:
                return None
            schedule.topics = json.dumps(limit.topics)
            schedule.difficulties = json.dumps(limit.difficulties)
        return view_of(schedule, self._clock())

    async def skip(
        self, *, team: str, channel: str, day: date, schedule_id: int | None
    ) -> list[int]:
        """Skip `day` for one schedule, or for every schedule in the channel."""
        changed = []
        async with unit_of_work(self._sessions) as session:
            for schedule in await schedule_rows.schedules_for_channel(
                session, team=team, channel=channel
            ):
                if schedule_id is not None and schedule.id != schedule_id:
                    continue
                days = sorted({*json.loads(schedule.skip_dates or "[]"), day.isoformat()})
                schedule.skip_dates = json.dumps(days)
                changed.append(int(schedule.id or 0))
        self._on_change()
        return changed

    async def skip_next(self, schedule: ScheduleView) -> date | None:
        """Skip the local date of the schedule's next fire; that date, or None if it has none."""
        upcoming = schedule.next_fire
        if upcoming is None:
            return None
        day = upcoming.astimezone(zone(schedule.tz)).date()
        await self.skip(
            team=schedule.team, channel=schedule.channel, day=day, schedule_id=schedule.id
        )
        return day
