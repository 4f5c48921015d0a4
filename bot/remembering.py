"""Each person's memory of each criterion, kept for spaced review: the one writer of
`review_card` rows.

Every graded answer reviews the FSRS card (memory.py) of each criterion of its question; a
mock interview's follow-up answer, and a review's answer, only the criterion it was asked
about. Cards are kept for people who turned spaced review on; turning it on replays their
graded answers (`rebuild`), so nothing practised before is lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.grading.grade import Grade
from bot.memory import remember as review_card
from bot.mock import interview_answers
from bot.questions import QuestionBank
from bot.storage import attempt_rows, mock_rows, review_rows
from bot.storage.review_rows import CardKey
from bot.storage.tables import ReviewCard


@dataclass(frozen=True)
class Practised:
    """A criterion practised by a person: the level their answer reached on it, and when."""

    team: str
    user: str
    question_id: str
    criterion: str
    level: int
    when: datetime

    @property
    def key(self) -> CardKey:
        return (self.team, self.user, self.question_id, self.criterion)


def practised_in(
    grade: Grade, *, team: str, user: str, when: datetime, only: str | None = None
) -> list[Practised]:
    """What a graded answer practised: every criterion of its grade, or `only` that one."""
    return [
        Practised(team, user, grade.question_id, c.id, c.level, when)
        for c in grade.criteria
        if only is None or c.id == only
    ]


def probed(asked: Sequence[str], earlier_answers: int) -> str | None:
    """The criterion a mock-interview answer responds to: the first answer covers the whole
    question (None); the k-th after it answers the k-th follow-up asked."""
    if earlier_answers <= 0 or earlier_answers > len(asked):
        return None
    return asked[earlier_answers - 1]


def _apply(card: ReviewCard, practised: Practised) -> None:
    memory = review_card(card.card, practised.level, practised.when)
    card.card, card.due, card.stability = memory.card, memory.due, memory.stability
    card.level = practised.level
    card.reviews += 1
    card.practised_at = max(card.practised_at, practised.when)


async def _review_cards(session: AsyncSession, practised: Sequence[Practised]) -> int:
    cards = await review_rows.cards_for(session, {p.key for p in practised})
    for item in sorted(practised, key=lambda p: p.when):
        card = cards.get(item.key)
        if card is None:
            memory = review_card(None, item.level, item.when)
            card = ReviewCard(
                team=item.team,
                user=item.user,
                question_id=item.question_id,
                criterion=item.criterion,
                card=memory.card,
                due=memory.due,
                stability=memory.stability,
                level=item.level,
                first_level=item.level,
                reviews=1,
                practised_at=item.when,
            )
            if not await review_rows.add_card(session, card):
                # Another writer made it meanwhile: review theirs.
                found = await review_rows.cards_for(session, {item.key})
                card = found[item.key]
                _apply(card, item)
            cards[item.key] = card
        else:
            _apply(card, item)
    await session.flush()
    return len(practised)


async def remember(session: AsyncSession, practised: Sequence[Practised]) -> int:
    """Review the cards of what was practised, for the people with spaced review on (in the
    caller's transaction); returns how many reviews were recorded."""
    if not practised:
        return 0
    who = await review_rows.opted_in(session, {(p.team, p.user) for p in practised})
    mine = [p for p in practised if (p.team, p.user) in who]
    return await _review_cards(session, mine) if mine else 0


async def history(
    session: AsyncSession, bank: QuestionBank, *, team: str, user: str
) -> list[Practised]:
    """Everything the person practised that is still stored, oldest first: drill answers,
    mock-interview turns, review answers; criteria the bank no longer has are left out."""
    attempts = await attempt_rows.graded_attempts(session, team=team, user=user)
    mocks = await mock_rows.mocks_for_prompts(session, {a.prompt_id for a in attempts})
    threads: dict[int, list[Grade]] = defaultdict(list)
    out: list[Practised] = []
    for attempt in attempts:
        grade = Grade.from_json(json.loads(attempt.grade_json or "{}"))
        earlier = threads[attempt.prompt_id]
        threads[attempt.prompt_id].append(grade)
        mock = mocks.get(attempt.prompt_id)
        only = None
        if mock is not None:
            asked = list(json.loads(mock.asked or "[]"))
            if len(interview_answers([*earlier, grade], len(asked))) <= len(earlier):
                continue  # after the scorecard
            only = probed(asked, len(earlier))
        out += practised_in(grade, team=team, user=user, when=attempt.received_at, only=only)
    for review in await review_rows.graded_reviews(session, team=team, user=user):
        out.append(
            Practised(
                team,
                user,
                review.question_id,
                review.criterion,
                int(review.level or 0),
                review.graded_at or review.created_at,
            )
        )
    known = {(q.id, c.id) for q in bank.questions for c in q.criteria}
    return sorted((p for p in out if (p.question_id, p.criterion) in known), key=lambda p: p.when)


async def rebuild(session: AsyncSession, bank: QuestionBank, *, team: str, user: str) -> int:
    """Fresh cards from everything the person practised (they just turned review on)."""
    await review_rows.delete_cards(session, team=team, user=user)
    return await _review_cards(session, await history(session, bank, team=team, user=user))
