"""review_rules.py: working hours in a person's timezone, weekends, which criterion goes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.review_rules import (
    DEFAULT_HOURS,
    Candidate,
    WorkingHours,
    choose,
    in_window,
    local_day,
    next_window,
    pick_prompt,
    zone,
)

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
FRIDAY = datetime(2027, 1, 8, 16, 30, tzinfo=BERLIN)  # 2027-01-08 is a Friday


def test_working_hours_parse_and_reject() -> None:
    assert WorkingHours.parse("08:30-18:00") == WorkingHours(time(8, 30), time(18))
    assert str(WorkingHours.parse(" 09:00-24:00 ")) == "09:00-24:00"
    assert str(DEFAULT_HOURS) == "09:00-17:00"
    for bad in ("9-17", "17:00-09:00", "09:00-09:00", "25:00-26:00", "nine to five"):
        with pytest.raises(ValueError):
            WorkingHours.parse(bad)


def test_the_window_is_in_the_persons_own_time() -> None:
    """16:30 on a Friday in Berlin is within hours there, and past midnight on Saturday in
    Tokyo: out (a weekend), unless weekends were asked for - still out, at 00:30."""
    assert in_window(FRIDAY, "Europe/Berlin", DEFAULT_HOURS, weekends=False)
    assert not in_window(FRIDAY, "Asia/Tokyo", DEFAULT_HOURS, weekends=False)
    assert not in_window(FRIDAY, "Asia/Tokyo", DEFAULT_HOURS, weekends=True)
    assert not in_window(FRIDAY.replace(hour=17), "Europe/Berlin", DEFAULT_HOURS, weekends=False)
    saturday = FRIDAY + timedelta(days=1)
    assert not in_window(saturday, "Europe/Berlin", DEFAULT_HOURS, weekends=False)
    assert in_window(saturday, "Europe/Berlin", DEFAULT_HOURS, weekends=True)


def test_next_window_skips_evenings_and_weekends() -> None:
    evening = FRIDAY.replace(hour=18)
    monday = datetime(2027, 1, 11, 9, tzinfo=BERLIN).astimezone(UTC)
    saturday = datetime(2027, 1, 9, 9, tzinfo=BERLIN).astimezone(UTC)
    assert (
        next_window(evening, "Europe/Berlin", DEFAULT_HOURS, weekends=False, after_today=False)
        == monday
    )
    assert (
        next_window(evening, "Europe/Berlin", DEFAULT_HOURS, weekends=True, after_today=False)
        == saturday
    )
    early = FRIDAY.replace(hour=7)
    nine = FRIDAY.replace(hour=9, minute=0).astimezone(UTC)
    assert (
        next_window(early, "Europe/Berlin", DEFAULT_HOURS, weekends=False, after_today=False)
        == nine
    )
    assert (
        next_window(FRIDAY, "Europe/Berlin", DEFAULT_HOURS, weekends=False, after_today=False)
        == FRIDAY
    )
    assert (
        next_window(FRIDAY, "Europe/Berlin", DEFAULT_HOURS, weekends=False, after_today=True)
        == monday
    )


def test_an_unknown_timezone_is_utc() -> None:
    assert zone(None) == zone("Mars/Olympus") == zone("") == ZoneInfo("UTC")
    assert local_day(FRIDAY, "Asia/Tokyo").isoformat() == "2027-01-09"


def _card(
    criterion: str,
    *,
    level: int,
    due_hours: float,
    recall: float = 0.5,
    practised: datetime | None = None,
    question: str = "q",
) -> Candidate:
    now = FRIDAY.astimezone(UTC)
    return Candidate(
        question,
        criterion,
        now + timedelta(hours=due_hours),
        level,
        practised or now - timedelta(days=3),
        recall,
    )


def test_the_weakest_due_criterion_goes_first_then_the_most_forgotten() -> None:
    now = FRIDAY.astimezone(UTC)
    cards = [
        _card("a", level=1, due_hours=-5, recall=0.1),
        _card("b", level=0, due_hours=-1, recall=0.8),
        _card("c", level=0, due_hours=-1, recall=0.6),
        _card("d", level=0, due_hours=+1, recall=0.0),  # not due yet
    ]
    assert choose(cards, now, "Europe/Berlin") == (cards[2], False)
    assert choose(cards[3:], now, "Europe/Berlin") == (None, False)


def test_a_criterion_practised_today_waits_in_every_question() -> None:
    """A criterion practised today (in any question with a criterion of that id) is not
    reviewed today; "today" is the person's own day."""
    now = FRIDAY.astimezone(UTC)
    this_morning = FRIDAY.replace(hour=8).astimezone(UTC)
    due = _card("story", level=0, due_hours=-2)
    told_today = _card("story", level=2, due_hours=+48, practised=this_morning, question="other")
    assert choose([due, told_today], now, "Europe/Berlin") == (None, True)
    # In Tokyo, 08:00 Berlin time on Friday was Friday; now it is already Saturday there.
    assert choose([due, told_today], now, "Asia/Tokyo") == (due, False)


def test_prompts_take_turns() -> None:
    assert [pick_prompt(("a", "b"), n) for n in range(3)] == ["a", "b", "a"]
