"""Graded records for progress: each drill answer once, and each mock interview once, as
its scorecard (not every turn of it). Pure: works on stored rows and the question bank."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from bot.grading.grade import Grade
from bot.mock import combine, interview_answers
from bot.progress import Scored
from bot.questions import Question, QuestionBank
from bot.storage.tables import Attempt, MockSession


def grades_of(rows: Sequence[Attempt]) -> list[Grade]:
    return [Grade.from_json(json.loads(a.grade_json)) for a in rows if a.grade_json]


def followups_asked(mock: MockSession) -> int:
    return len(json.loads(mock.asked or "[]"))


def mock_scorecard(
    question: Question, mock: MockSession, answers: Sequence[Attempt]
) -> Grade | None:
    """A finished mock interview's scorecard, from its candidate's graded answers in the
    thread (oldest first); None while it is still running."""
    if mock.status == "active":
        return None
    grades = interview_answers(grades_of(answers), followups_asked(mock))
    return combine(question, grades) if grades else None


def scored(attempt: Attempt) -> Scored:
    grade = json.loads(attempt.grade_json or "{}")
    return Scored(
        user=attempt.user,
        question_id=attempt.question_id,
        score=int(attempt.score or 0),
        when=attempt.received_at,
        levels={c["id"]: int(c["level"]) for c in grade.get("criteria", [])},
        mistakes=tuple(m["id"] for m in grade.get("mistakes", [])),
    )


def records(
    attempts: Sequence[Attempt], mocks: dict[int, MockSession], bank: QuestionBank
) -> list[Scored]:
    """One record per drill answer and per finished mock interview, oldest first.

    `attempts` are graded ones, oldest first; `mocks` are the mock interviews by prompt id.
    A mock interview counts when its scorecard is posted, at the time of its last answer.
    Nothing else said in a mock thread (the interviewer, a bystander) ever counts.
    """
    out: list[Scored] = []
    interviews: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        mock = mocks.get(attempt.prompt_id)
        if mock is None:
            out.append(scored(attempt))
        elif attempt.user == mock.candidate:
            interviews[attempt.prompt_id].append(attempt)
    for prompt_id, answers in interviews.items():
        mock = mocks[prompt_id]
        question = bank.get(mock.question_id)
        card = mock_scorecard(question, mock, answers) if question else None
        if card is None:
            continue
        last = answers[min(len(answers), 1 + followups_asked(mock)) - 1]
        out.append(
            Scored(
                user=mock.candidate,
                question_id=mock.question_id,
                score=card.score,
                when=last.received_at,
                levels={c.id: c.level for c in card.criteria},
                mistakes=tuple(m.id for m in card.mistakes),
                mock=True,
            )
        )
    return sorted(out, key=lambda r: r.when)
