"""When a spaced review may reach a person, and which criterion it drills (pure).

Respecting people: only within working hours in the person's own timezone, never on a
weekend unless they asked for weekends, at most one review a day, never on a criterion they
already practised that day, and a pause after IGNORED_BEFORE_PAUSE reviews left unanswered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IGNORED_BEFORE_PAUSE = 3
WEEKEND = (5, 6)  # Saturday, Sunday
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class WorkingHours:
    """The local hours reviews may arrive in, start inclusive, end exclusive."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """`HH:MM-HH:MM`, like `09:00-17:00` (ValueError, saying why, if not)."""
        match = _HOURS.match(text.strip())
        if match is None:
            raise ValueError("use HH:MM-HH:MM in 24-hour time, like 09:00-17:00")
        start = time(int(match[1]), int(match[2]))
        end = time.max if match[3] == "24" else time(int(match[3]), int(match[4]))
        if end <= start:
            raise ValueError("the end must come after the start, within one day")
        return cls(start, end)

    def __str__(self) -> str:
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


DEFAULT_HOURS = WorkingHours(time(9), time(17))


def zone(name: str | None) -> ZoneInfo:
    """The person's timezone; UTC for one Slack did not give or this system does not know."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(now: datetime, tz: str | None) -> date:
    return now.astimezone(zone(tz)).date()


def _open_day(day: date, weekends: bool) -> bool:
    return weekends or day.weekday() not in WEEKEND


def in_window(now: datetime, tz: str | None, hours: WorkingHours, *, weekends: bool) -> bool:
    """Whether a review may arrive now: working hours on a working day, the person's time."""
    local = now.astimezone(zone(tz))
    return _open_day(local.date(), weekends) and hours.start <= local.time() < hours.end


def next_window(
    now: datetime, tz: str | None, hours: WorkingHours, *, weekends: bool, after_today: bool
) -> datetime:
    """When reviews may next arrive (UTC): now if within the window and not `after_today`,
    else the start of the next open day's working hours (today's, if still ahead)."""
    place = zone(tz)
    local = now.astimezone(place)
    if not after_today and in_window(now, tz, hours, weekends=weekends):
        return now
    day = local.date()
    if after_today or local.time() >= hours.start:
        day += timedelta(days=1)
    while not _open_day(day, weekends):
        day += timedelta(days=1)
    return datetime.combine(day, hours.start, tzinfo=place).astimezone(UTC)


@dataclass(frozen=True)
class Candidate:
    """A criterion's memory, as far as choosing the next review goes."""

    question_id: str
    criterion: str
    due: datetime
    level: int  # the latest level reached
    practised_at: datetime
    recall: float  # retrievability now (0-1)


def choose(
    cards: Sequence[Candidate], now: datetime, tz: str | None
) -> tuple[Candidate | None, bool]:
    """The criterion to review now: among those due and not practised today (in any question
    that has a criterion of that id), the weakest (lowest latest level), then the most
    forgotten. Also whether some due criterion was left out only because it was practised
    today."""
    today = local_day(now, tz)
    practised = {c.criterion for c in cards if local_day(c.practised_at, tz) == today}
    due = [c for c in cards if c.due <= now]
    fresh = [c for c in due if c.criterion not in practised]
    if not fresh:
        return None, bool(due)
    return min(fresh, key=lambda c: (c.level, c.recall, c.due, c.question_id, c.criterion)), False


def pick_prompt(prompts: Sequence[str], reviews_so_far: int) -> str:
    """The micro-drill for a criterion's next review: its prompts in turn."""
    return prompts[reviews_so_far % len(prompts)]
