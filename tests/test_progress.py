"""Progress figures (pure): the digest's "most improved" rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.progress import IMPROVED_BY, Scored, most_improved


def _scored(user: str, score: int, days_ago: float, now: datetime) -> Scored:
    return Scored(user, "deploy-ml-models", score, now - timedelta(days=days_ago), {}, ())


def test_most_improved_compares_with_the_weeks_before() -> None:
    """Against the weeks before when there are any, else against the first answer this week;
    only leaderboard members, and only a rise of IMPROVED_BY points or more."""
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    before = [_scored("U1", 40, 20, now), _scored("U2", 70, 20, now), _scored("U3", 10, 20, now)]
    week = [
        _scored("U1", 60, 2, now),  # +20 on the weeks before
        _scored("U2", 72, 2, now),  # +2: not enough
        _scored("U3", 90, 1, now),  # +80, but not on the leaderboard
        _scored("U4", 30, 3, now),
        _scored("U4", 80, 1, now),  # new this week: +50 on the first answer
    ]
    assert most_improved(week, before, {"U1", "U2", "U4"}) == ("U4", 50.0)
    assert most_improved(week, before, {"U1", "U2"}) == ("U1", 20.0)
    assert most_improved(week, before, {"U2"}) is None
    assert IMPROVED_BY > 2
