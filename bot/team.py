"""Who practised in a channel this week and who hasn't (pure).

People on the leaderboard (they opted in to being named) are named; everyone else is
only counted. Who "hasn't" is drawn from the channel's members when Slack says who
they are, else from the people who answered there in the last eight weeks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.progress import Scored

WEEK = timedelta(days=7)
RECENT = timedelta(weeks=8)


@dataclass(frozen=True)
class People:
    named: tuple[str, ...]  # user ids of leaderboard members
    others: int  # everyone else, counted only

    @property
    def total(self) -> int:
        return len(self.named) + self.others


@dataclass(frozen=True)
class TeamWeek:
    since: date
    answers: int
    practised: People  # most answers first
    not_yet: People
    from_members: bool  # not_yet is drawn from the channel's members (else recent answerers)


def team_week(
    records: Sequence[Scored],
    *,
    members: frozenset[str] | None,
    opted_in: set[str],
    now: datetime,
) -> TeamWeek:
    """`records`: the channel's graded answers of (at least) the last eight weeks."""
    this_week = Counter(r.user for r in records if r.when >= now - WEEK)
    practised = sorted(this_week, key=lambda user: (-this_week[user], user))
    if members is None:
        roster = {r.user for r in records if r.when >= now - RECENT}
    else:
        roster = set(members)
    not_yet = sorted(roster - set(this_week))
    return TeamWeek(
        since=(now - WEEK).date(),
        answers=sum(this_week.values()),
        practised=_people(practised, opted_in),
        not_yet=_people(not_yet, opted_in),
        from_members=members is not None,
    )


def _people(users: Sequence[str], opted_in: set[str]) -> People:
    named = tuple(u for u in users if u in opted_in)
    return People(named, len(users) - len(named))
