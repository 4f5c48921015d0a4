"""Fixtures the offline grader's tests share."""

from __future__ import annotations

import pytest

from bot.grading.rubric import RubricGrader
from bot.questions import Question, QuestionBank


@pytest.fixture(scope="module")
def grader(bank: QuestionBank) -> RubricGrader:
    return RubricGrader(bank)


@pytest.fixture(scope="module")
def question(bank: QuestionBank) -> Question:
    q = bank.get("deploy-ml-models")
    assert q is not None
    return q
