"""The Grade value, the Grader port, and the scoring rule shared by every grader.

The score is always computed here, from criterion levels, weights and mistake
penalties: a grader (offline or LLM) only judges levels and evidence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from bot.questions import Question, Seniority

Band = Literal["strong", "solid", "developing", "weak"]
MAX_LEVEL = 2


@dataclass(frozen=True)
class CriterionResult:
    id: str
    name: str
    level: int
    max_level: int
    evidence: str | None
    tip: str
    weight: float


@dataclass(frozen=True)
class MistakeResult:
    id: str
    name: str
    evidence: str | None
    fix: str
    penalty: int


@dataclass(frozen=True)
class Length:
    words: int
    spoken_seconds: int
    target_seconds: int
    note: str | None  # "far too long for …" / "too short for …"


@dataclass(frozen=True)
class Grade:
    question_id: str
    rubric_version: str
    grader: str
    score: int
    band: Band
    criteria: tuple[CriterionResult, ...]
    mistakes: tuple[MistakeResult, ...]
    length: Length
    model_answer_30s: str
    seniority: Seniority | None = None
    # keyword_salad, injection, off_topic, off_subject, truncated, repeated
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # short remarks shown with the feedback
    tokens_used: int = 0

    def to_json(self) -> dict[str, Any]:
        """The grading contract's JSON shape (README: Command line), plus flags and notes."""
        return {
            "question_id": self.question_id,
            "rubric_version": self.rubric_version,
            "grader": self.grader,
            "score": self.score,
            "band": self.band,
            # Field by field, not dataclasses.asdict: this runs for every graded answer, and
            # asdict deep-copies every string (a tenth of a millisecond a grade).
            "criteria": [
                {
                    "id": c.id,
                    "name": c.name,
                    "level": c.level,
                    "max_level": c.max_level,
                    "evidence": c.evidence,
                    "tip": c.tip,
                }
                for c in self.criteria
            ],
            "mistakes": [
                {"id": m.id, "name": m.name, "evidence": m.evidence, "fix": m.fix}
                for m in self.mistakes
            ],
            "length": {"words": self.length.words, "spoken_seconds": self.length.spoken_seconds},
            "model_answer_30s": self.model_answer_30s,
            "seniority": self.seniority,
            "flags": list(self.flags),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grade:
        length = data.get("length", {})
        return cls(
            question_id=data["question_id"],
            rubric_version=data["rubric_version"],
            grader=data["grader"],
            score=int(data["score"]),
            band=data["band"],
            criteria=tuple(
                CriterionResult(**{**c, "weight": c.get("weight", 1.0)}) for c in data["criteria"]
            ),
            mistakes=tuple(
                MistakeResult(**{**m, "penalty": m.get("penalty", 0)}) for m in data["mistakes"]
            ),
            length=Length(
                words=length.get("words", 0),
                spoken_seconds=length.get("spoken_seconds", 0),
                target_seconds=length.get("target_seconds", 90),
                note=length.get("note"),
            ),
            model_answer_30s=data["model_answer_30s"],
            seniority=data.get("seniority"),
            flags=tuple(data.get("flags", ())),
            notes=tuple(data.get("notes", ())),
        )

    def missed(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.level < c.max_level]

    def covered(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.level > 0]


# How grading passes drive a grader: "inline" grades on the event loop, one answer at a time
# (CPU-bound); "concurrent" grades a batch's answers side by side (I/O-bound); "batch" takes the
# whole batch in one `grade_many` call (worker processes).
Concurrency = Literal["inline", "concurrent", "batch"]
GradeJob = tuple[Question, str, Seniority | None]  # question, answer, seniority
Graded = tuple["Grade | None", float, "str | None"]  # grade, seconds, error (grade None)


class Grader(Protocol):
    """Anything that turns an answer to a question into a Grade."""

    name: str
    concurrency: Concurrency
    passes: int  # grading passes that may run side by side in one process

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade: ...

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        """(grade, seconds, error) per job, in order; grade None when grading raised. Only
        called when `concurrency` is "batch"."""
        ...

    async def warm(self) -> None:
        """Prepare what a first answer would otherwise wait for (compiled rubrics)."""
        ...

    async def aclose(self) -> None: ...


async def grade_each(grader: Grader, jobs: Sequence[GradeJob]) -> list[Graded]:
    """`grade_many` for a grader that grades one answer per call."""
    results: list[Graded] = []
    for question, answer, seniority in jobs:
        started = time.perf_counter()
        try:
            grade = await grader.grade(question, answer, seniority=seniority)
        except Exception as exc:
            results.append((None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))
        else:
            results.append((grade, time.perf_counter() - started, None))
    return results


def band_for(score: int) -> Band:
    if score >= 80:
        return "strong"
    if score >= 60:
        return "solid"
    if score >= 40:
        return "developing"
    return "weak"


def _earned(criteria: tuple[CriterionResult, ...]) -> tuple[float, float]:
    """The weighted levels earned, and the weighted top levels there were to earn."""
    earned = sum(c.weight * c.level for c in criteria)
    return earned, sum(c.weight * c.max_level for c in criteria)


def earned_share(criteria: tuple[CriterionResult, ...]) -> float:
    """The weighted share of the top level the criteria earn, 0…1."""
    earned, total = _earned(criteria)
    return earned / total if total else 0.0


def compute_score(
    criteria: tuple[CriterionResult, ...], mistakes: tuple[MistakeResult, ...], cap: int = 100
) -> int:
    """Weighted share of the top level, minus mistake penalties, within 0…cap."""
    earned, total = _earned(criteria)
    base = 100.0 * earned / total if total else 0.0
    score = round(base - sum(m.penalty for m in mistakes))
    return max(0, min(cap, score))


def with_rubric_weights(question: Question, grade: Grade) -> Grade:
    """A stored grade keeps levels, not weights or penalties (see Grade.to_json): take them
    from the rubric again, so a grade read back scores as it did when it was made."""
    criteria = []
    for c in grade.criteria:
        try:
            weight = question.weight(question.criterion(c.id), grade.seniority)
        except KeyError:  # a criterion the rubric has dropped since
            weight = c.weight
        criteria.append(replace(c, weight=weight))
    penalties = {m.id: m.penalty for m in question.mistakes}
    mistakes = tuple(replace(m, penalty=penalties.get(m.id, m.penalty)) for m in grade.mistakes)
    return replace(grade, criteria=tuple(criteria), mistakes=mistakes)
