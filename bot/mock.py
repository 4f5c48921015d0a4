"""Mock-interview turns (pure): combine a candidate's answers, pick the next probe, score it all."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.grading.grade import (
    CriterionResult,
    Grade,
    band_for,
    compute_score,
    with_rubric_weights,
)
from bot.questions import Question

FINISHED = "mock_finished"  # why a reply after the scorecard gets no grade (drill_nudge reason)


@dataclass(frozen=True)
class FollowUp:
    criterion_id: str
    current: CriterionResult | None
    depth: int = 0  # 0: the criterion's follow-up; n: its n-th push-back


@dataclass(frozen=True)
class Scorecard:
    grade: Grade  # the conversation's combined grade
    improved: list[str]  # criterion names that rose after the first answer


def interview_answers(grades: list[Grade], followups_asked: int) -> list[Grade]:
    """The candidate's graded answers that make up the interview: the first answer and one
    per follow-up (the scorecard came with the last of them; nothing after it counts)."""
    return grades[: 1 + followups_asked]


def combine(question: Question, grades: list[Grade]) -> Grade:
    """One grade for the whole conversation: each criterion at its best level (with that evidence),
    the latest answer's mistakes, the score recomputed in code with the rubric's weights."""
    weighted = [with_rubric_weights(question, g) for g in grades]
    latest = weighted[-1]
    best: dict[str, CriterionResult] = {}
    for grade in weighted:
        for c in grade.criteria:
            if c.id not in best or c.level > best[c.id].level:
                best[c.id] = c
    criteria = tuple(best.get(c.id, c) for c in latest.criteria)
    score = compute_score(criteria, latest.mistakes)
    return replace(latest, criteria=criteria, score=score, band=band_for(score))


def next_probe(
    question: Question,
    combined: Grade,
    asked: list[str],
    max_followups: int,
    push_back: bool = False,
) -> FollowUp | None:
    """What an interviewer asks next, or None to wrap up: with `push_back` (staff level), the
    next push-back on the point just probed while it has one; otherwise the most important
    criterion still missing."""
    if len(asked) >= max_followups:
        return None
    levels = {c.id: c for c in combined.criteria}
    if push_back and asked:
        last = asked[-1]
        depth = asked.count(last)
        if depth <= len(question.criterion(last).push_backs):
            return FollowUp(last, levels.get(last), depth)
    gaps = [
        (c.weight * (2 - levels[c.id].level), -i, c.id)
        for i, c in enumerate(question.criteria)
        if c.id in levels and levels[c.id].level < 2 and c.id not in asked
    ]
    if not gaps:
        return None
    _, _, criterion_id = max(gaps)
    return FollowUp(criterion_id, levels.get(criterion_id))


def scorecard(question: Question, grades: list[Grade]) -> Scorecard:
    combined = combine(question, grades)
    first = {c.id: c.level for c in grades[0].criteria}
    improved = [c.name for c in combined.criteria if c.level > first.get(c.id, 0)]
    return Scorecard(combined, improved)
