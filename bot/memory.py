"""A person's memory of one criterion, scheduled by FSRS through the `fsrs` package.

Every graded answer, mock-interview turn and review answer is a review of the criterion's
card, rated from the level the answer reached (0 Again, 1 Hard, 2 Good); FSRS says when the
criterion is due again. Pure: the card travels as the JSON `fsrs.Card.to_json` writes, never
pickled, so storage keeps it as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

from bot.grading.grade import MAX_LEVEL

RATINGS: dict[int, Rating] = {0: Rating.Again, 1: Rating.Hard, 2: Rating.Good}

# Interview skills come back after days, not minutes: no learning steps (a first answer goes
# straight to a schedule in days), and no fuzz, so the same answers give the same schedule.
_SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


@dataclass(frozen=True)
class Memory:
    """A card after a review: its JSON, when it is due, and how stable the memory is (days)."""

    card: str
    due: datetime
    stability: float


def rating_for(level: int) -> Rating:
    """The FSRS rating an answer at `level` (0-2) earns; out-of-range levels are clamped."""
    return RATINGS[max(0, min(MAX_LEVEL, level))]


def _card(card_json: str | None) -> Card:
    # An explicit id: `Card()` makes one from the clock and sleeps a millisecond to keep it unique.
    return Card.from_json(card_json) if card_json else Card(card_id=1)


def remember(card_json: str | None, level: int, when: datetime) -> Memory:
    """The card (None: a criterion met for the first time) reviewed at `when` with the rating
    `level` earns. A review dated before the card's last one counts as made with it."""
    card = _card(card_json)
    when = when.astimezone(UTC)
    if card.last_review is not None and when < card.last_review:
        when = card.last_review
    reviewed, _log = _SCHEDULER.review_card(card, rating_for(level), review_datetime=when)
    return Memory(reviewed.to_json(), reviewed.due, float(reviewed.stability or 0.0))


def retrievability(card_json: str, now: datetime) -> float:
    """How likely the person still recalls the criterion at `now` (0-1): lowest goes first."""
    return float(_SCHEDULER.get_card_retrievability(_card(card_json), now.astimezone(UTC)))
