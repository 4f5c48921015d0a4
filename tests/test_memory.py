"""memory.py: a criterion's FSRS card, rated from the level an answer reached."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fsrs import Rating

from bot.memory import rating_for, remember, retrievability

MONDAY = datetime(2027, 1, 4, 9, tzinfo=UTC)


def test_levels_map_to_fsrs_ratings() -> None:
    assert [rating_for(level) for level in (0, 1, 2)] == [Rating.Again, Rating.Hard, Rating.Good]
    assert rating_for(-1) == Rating.Again and rating_for(5) == Rating.Good


def test_a_missed_criterion_comes_back_sooner_than_a_covered_one() -> None:
    """Days, not minutes: a miss is due the next day, a full answer later, and every further
    full answer pushes it further out."""
    missed = remember(None, 0, MONDAY)
    covered = remember(None, 2, MONDAY)
    assert missed.due == MONDAY + timedelta(days=1)
    assert covered.due > missed.due and covered.stability > missed.stability
    again = remember(covered.card, 2, covered.due)
    assert again.due - covered.due > covered.due - MONDAY


def test_the_card_is_json_and_deterministic() -> None:
    """Stored as fsrs's own JSON (never pickled); the same answers give the same schedule."""
    first = remember(None, 1, MONDAY)
    data = json.loads(first.card)
    assert data["stability"] == first.stability and data["last_review"].startswith("2027-01-04")
    assert remember(None, 1, MONDAY) == first
    later = remember(first.card, 2, MONDAY + timedelta(days=2))
    assert json.loads(later.card)["last_review"].startswith("2027-01-06")


def test_a_review_dated_before_the_last_one_counts_as_made_with_it() -> None:
    """Any timezone-aware time is taken; one earlier than the card's last review does not
    travel back in time."""
    first = remember(None, 2, MONDAY)
    berlin = MONDAY.astimezone(ZoneInfo("Europe/Berlin")) - timedelta(hours=3)
    late = remember(first.card, 0, berlin)
    assert json.loads(late.card)["last_review"] == json.loads(first.card)["last_review"]


def test_recall_fades_with_time() -> None:
    card = remember(None, 2, MONDAY).card
    soon, later = (retrievability(card, MONDAY + timedelta(days=d)) for d in (1, 10))
    assert 1.0 >= soon > later > 0.0
