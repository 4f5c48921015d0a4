"""A second, independent labelling of a labelled set, read as if it were a grader: `deploy-drill
eval --second DIR` then reports how far two careful people agree on the same answers, which
is the ceiling any grader can be expected to reach on those labels. Pure apart from reading
the files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.grading.grade import (
    Concurrency,
    Grade,
    Graded,
    GradeJob,
    Length,
    band_for,
    grade_each,
)
from bot.labelled_sets import (
    CalibrationError,
    LabelledAnswer,
    labelled_results,
    load_calibration,
)
from bot.questions import Question, QuestionBank, Seniority


def _key(answer: str) -> str:
    return " ".join(answer.split())


class SecondLabelling:
    """Grades an answer with the levels, mistakes and first evidence sentence a second labeller
    gave it. Answers are matched on their text, whitespace aside."""

    name = "second labeller"
    concurrency: Concurrency = "inline"
    passes = 1

    def __init__(self, bank: QuestionBank, directory: Path) -> None:
        self._labels: dict[tuple[str, str], LabelledAnswer] = {
            (item.question.id, _key(item.label.answer)): item.label
            for item in load_calibration(bank, directory)
        }

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        label = self._labels.get((question.id, _key(answer)))
        if label is None:
            raise CalibrationError(
                [f"the second labelling has no answer to {question.id} reading {answer[:60]!r}"]
            )
        criteria, mistakes = labelled_results(
            question, label.levels, label.mistakes, label.evidence
        )
        score = label.score  # checked against the levels and mistakes on loading
        return Grade(
            question_id=question.id,
            rubric_version=question.version,
            grader=self.name,
            score=score,
            band=band_for(score),
            criteria=criteria,
            mistakes=mistakes,
            length=Length(len(answer.split()), 0, question.answer_seconds, None),
            model_answer_30s=question.model_answer_30s,
        )

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        return await grade_each(self, jobs)

    async def warm(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
