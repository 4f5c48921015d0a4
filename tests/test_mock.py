"""The mock-interview turn rules (bot/mock.py): which probe comes next."""

from __future__ import annotations

from bot.grading.rubric import RubricGrader
from bot.mock import next_probe
from bot.questions import Question, QuestionBank

WEAK = "We put the model behind an API."


def _with_push_backs(question: Question, criterion_id: str) -> Question:
    criteria = tuple(
        c.model_copy(update={"push_backs": ("And if the budget were halved?", "Who objects?")})
        if c.id == criterion_id
        else c
        for c in question.criteria
    )
    return question.model_copy(update={"criteria": criteria})


async def test_a_staff_mock_pushes_back_on_the_same_point_before_moving_on(
    bank: QuestionBank,
) -> None:
    plain = bank.questions[0]
    grade = await RubricGrader(bank).grade(plain, WEAK)
    first = next_probe(plain, grade, [], 3, push_back=True)
    assert first is not None and first.depth == 0
    question = _with_push_backs(plain, first.criterion_id)

    again = next_probe(question, grade, [first.criterion_id], 3, push_back=True)
    assert again is not None and (again.criterion_id, again.depth) == (first.criterion_id, 1)
    deeper = next_probe(question, grade, [first.criterion_id] * 2, 3, push_back=True)
    assert deeper is not None and (deeper.criterion_id, deeper.depth) == (first.criterion_id, 2)
    # Out of push-backs: the next most important gap.
    moved = next_probe(question, grade, [first.criterion_id] * 3, 4, push_back=True)
    assert moved is not None and moved.criterion_id != first.criterion_id and moved.depth == 0


async def test_below_staff_a_mock_never_asks_about_the_same_point_twice(
    bank: QuestionBank,
) -> None:
    plain = bank.questions[0]
    grade = await RubricGrader(bank).grade(plain, WEAK)
    first = next_probe(plain, grade, [], 3)
    assert first is not None
    question = _with_push_backs(plain, first.criterion_id)
    second = next_probe(question, grade, [first.criterion_id], 3)
    assert second is not None and second.criterion_id != first.criterion_id
    assert next_probe(question, grade, ["a", "b"], 2) is None  # the cap holds
