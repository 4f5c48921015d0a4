"""Schedule limits: the words an admin types, checked against the bank."""

from __future__ import annotations

import pytest

from bot.limits import Limit, LimitProblem, checked, describe, parse_limit
from bot.questions import QuestionBank


def test_the_forms_an_admin_may_type() -> None:
    """Commas or spaces, singular or plural, `=` or `:`, any case; repeats dropped."""
    expected = Limit(("rollout", "rollback"), ("core",))
    for words in (
        ("topics", "rollout,rollback", "difficulty", "core"),
        ("topic", "rollout", "rollback", "difficulties", "CORE"),
        ("topics=rollout,", "rollback,rollout", "difficulty:core"),
    ):
        assert parse_limit(words) == expected, words
    assert parse_limit(()) == Limit()
    assert not Limit()


def test_malformed_limits_say_what_to_type() -> None:
    """A value before any keyword, or a keyword with nothing after it."""
    with pytest.raises(LimitProblem, match="“rollout” is not a limit"):
        parse_limit(("rollout",))
    with pytest.raises(LimitProblem, match="Name at least one difficulty"):
        parse_limit(("topics", "rollout", "difficulty"))


def test_checked_lists_the_valid_values(bank: QuestionBank) -> None:
    """A topic or difficulty the bank lacks is named, with every valid one listed."""
    with pytest.raises(LimitProblem) as problem:
        checked(Limit(("rollouts",)), bank)
    assert "“rollouts” is not a topic" in str(problem.value)
    assert all(q.topic in str(problem.value) for q in bank.questions)
    with pytest.raises(LimitProblem, match="intro, core, advanced"):
        checked(Limit(difficulties=("easy",)), bank)
    limit = Limit(("rollout", "rollback"), ("core", "advanced"))
    assert checked(limit, bank) == limit
    assert {q.topic for q in limit.eligible(bank)} <= {"rollout", "rollback"}


def test_describe() -> None:
    assert describe(Limit(("rollout",), ("core", "advanced"))) == (
        "topic rollout · difficulties core, advanced"
    )
    assert describe(Limit()) == "any question"
