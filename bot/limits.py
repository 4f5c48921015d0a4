"""A schedule's limit: the topics and difficulties of the bank it may ask (pure).

`/deploy-question schedule weekdays 09:30 topics rollout,rollback difficulty core`
keeps that schedule's rotation to those questions. Parsing checks the words; `checked`
checks the names against the bank and lists the valid ones when one is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.questions import Question, QuestionBank

DIFFICULTIES = ("intro", "core", "advanced")
_FIELDS = {
    "topic": "topics",
    "topics": "topics",
    "difficulty": "difficulties",
    "difficulties": "difficulties",
}
_SPLIT = re.compile(r"[,\s]+")
_KEYWORD = re.compile(r"^([a-z]+)(?:[=:](.*))?$", re.I)


class LimitProblem(ValueError):
    """A limit that names nothing, or names a topic or difficulty the bank does not have."""


@dataclass(frozen=True)
class Limit:
    """Empty fields allow anything; a question must match both fields that are set."""

    topics: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.topics or self.difficulties)

    def allows(self, question: Question) -> bool:
        return (not self.topics or question.topic in self.topics) and (
            not self.difficulties or question.difficulty in self.difficulties
        )

    def eligible(self, bank: QuestionBank) -> list[Question]:
        return [q for q in bank.questions if self.allows(q)]


def is_limit_word(token: str) -> bool:
    """Whether `token` starts a limit (`topics …`, `difficulty=core`)."""
    return _keyword(token)[0] is not None


def _keyword(token: str) -> tuple[str | None, str]:
    """(field, what follows it) for `topics`, `topic=a,b` or `difficulty:core`."""
    match = _KEYWORD.match(token)
    field = _FIELDS.get(match.group(1).lower()) if match else None
    return (field, (match.group(2) or "") if match and field else "")


def parse_limit(tokens: Sequence[str]) -> Limit:
    """`topics a,b difficulty core` (commas or spaces between values; either part alone)."""
    values: dict[str, list[str]] = {"topics": [], "difficulties": []}
    field: str | None = None
    named: list[str] = []
    for token in tokens:
        keyword, rest = _keyword(token)
        if keyword is not None:
            field = keyword
            named.append(keyword)
            token = rest
        elif field is None:
            raise LimitProblem(
                f"“{token[:30]}” is not a limit: use `topics a,b` and/or `difficulty core`."
            )
        for value in _SPLIT.split(token.lower()):
            if value and value not in values[field]:
                values[field].append(value)
    for keyword in named:
        if not values[keyword]:
            singular = "topic" if keyword == "topics" else "difficulty"
            raise LimitProblem(f"Name at least one {singular} after `{keyword}`.")
    return Limit(tuple(values["topics"]), tuple(values["difficulties"]))


def checked(limit: Limit, bank: QuestionBank) -> Limit:
    """`limit` if every name is in the bank and some question matches it; else LimitProblem
    naming the bad value and listing the valid ones."""
    topics = sorted({q.topic for q in bank.questions})
    for topic in limit.topics:
        if topic not in topics:
            raise LimitProblem(
                f"“{topic[:40]}” is not a topic. Topics: {', '.join(topics)} "
                "(`/deploy-question list` shows each question's)."
            )
    for difficulty in limit.difficulties:
        if difficulty not in DIFFICULTIES:
            raise LimitProblem(
                f"“{difficulty[:40]}” is not a difficulty. Difficulties: {', '.join(DIFFICULTIES)}."
            )
    if limit and not limit.eligible(bank):
        raise LimitProblem(
            f"No question matches {describe(limit)}. `/deploy-question list` shows each "
            "question's topic and difficulty."
        )
    return limit


def describe(limit: Limit) -> str:
    """`topics rollout, rollback · difficulty core`, or `any question`."""
    parts = []
    if limit.topics:
        parts.append(f"topic{'s' if len(limit.topics) > 1 else ''} {', '.join(limit.topics)}")
    if limit.difficulties:
        parts.append(
            f"difficult{'ies' if len(limit.difficulties) > 1 else 'y'} "
            f"{', '.join(limit.difficulties)}"
        )
    return " · ".join(parts) if parts else "any question"
