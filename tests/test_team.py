"""Who practised this week: names for leaderboard members, counts for everyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.progress import Scored
from bot.team import People, team_week

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _answer(user: str, days_ago: float) -> Scored:
    return Scored(user, "deploy-ml-models", 50, NOW - timedelta(days=days_ago), {}, ())


RECORDS = [
    _answer("U0ANN", 1),
    _answer("U0ANN", 2),
    _answer("U0BEN", 3),
    _answer("U0CAT", 8),  # last week: not this week
    _answer("U0DAN", 70),  # longer ago than eight weeks
]


def test_members_who_never_answered_count_as_not_yet() -> None:
    """The roster is the channel's people; the most active are first; only opted-in are named."""
    week = team_week(
        RECORDS,
        members=frozenset({"U0ANN", "U0BEN", "U0CAT", "U0EVE"}),
        opted_in={"U0BEN", "U0EVE"},
        now=NOW,
    )
    assert week.answers == 3
    assert week.practised == People(("U0BEN",), 1)
    assert week.not_yet == People(("U0EVE",), 1)
    assert week.from_members and week.since == (NOW - timedelta(days=7)).date()


def test_without_members_the_roster_is_the_last_eight_weeks_answerers() -> None:
    """Slack would not say who is in the channel: those who answered lately stand in."""
    week = team_week(RECORDS, members=None, opted_in={"U0ANN"}, now=NOW)
    assert week.practised == People(("U0ANN",), 1)
    assert week.not_yet == People((), 1)  # U0CAT; U0DAN answered too long ago
    assert not week.from_members
