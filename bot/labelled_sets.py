"""Labelled answer sets (calibration and held-out): loading and checking the YAML files
against the question bank. Pure apart from reading the files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import DrillError
from bot.grading.gradable import not_an_answer
from bot.grading.grade import (
    MAX_LEVEL,
    Band,
    CriterionResult,
    MistakeResult,
    band_for,
    compute_score,
)
from bot.questions import Question, QuestionBank

Voice = Literal["strong", "solid", "developing", "weak", "adversarial"]
ADVERSARIAL_MAX = 30  # adversarial and empty answers must score below this


class CalibrationError(DrillError):
    """One or more calibration files are malformed; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class LabelledAnswer(BaseModel):
    """One hand-labelled answer, as written in a calibration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    voice: Voice
    answer: str
    levels: dict[str, int]
    mistakes: tuple[str, ...] = ()
    score: int = Field(ge=0, le=100)
    band: Band
    # Held-out sets also say which sentences earn each credited criterion (verbatim).
    evidence: dict[str, tuple[str, ...]] | None = None
    note: str | None = None


@dataclass(frozen=True)
class CalibrationItem:
    question: Question
    label: LabelledAnswer

    @property
    def adversarial(self) -> bool:
        """Adversarial by label, or not an answer at all (empty, emoji, two words)."""
        return self.label.voice == "adversarial" or not_an_answer(self.label.answer) is not None


# --- loading -------------------------------------------------------------------


def labelled_results(
    question: Question,
    levels: dict[str, int],
    mistakes: Sequence[str],
    evidence: dict[str, tuple[str, ...]] | None = None,
) -> tuple[tuple[CriterionResult, ...], tuple[MistakeResult, ...]]:
    """Labels as a grade's results: each criterion at its labelled level, quoting the first
    sentence labelled for it; each labelled mistake with its penalty (default weights)."""
    quotes = evidence or {}
    criteria = tuple(
        CriterionResult(
            c.id,
            c.name,
            levels[c.id],
            MAX_LEVEL,
            next(iter(quotes.get(c.id, ())), None),
            c.tip,
            question.weight(c),
        )
        for c in question.criteria
    )
    found = tuple(
        MistakeResult(m.id, m.name, None, m.fix, m.penalty)
        for m in question.mistakes
        if m.id in mistakes
    )
    return criteria, found


def implied_score(question: Question, levels: dict[str, int], mistakes: Sequence[str]) -> int:
    """The score the labels imply under the shared rule (default weights, no seniority)."""
    return compute_score(*labelled_results(question, levels, mistakes))


def _check_item(question: Question, item: LabelledAnswer, where: str) -> list[str]:
    problems: list[str] = []
    criteria = {c.id for c in question.criteria}
    unknown = sorted(set(item.levels) - criteria)
    if unknown:
        problems.append(f"{where}: levels: unknown criteria {unknown}")
    missing = sorted(criteria - set(item.levels))
    if missing:
        problems.append(f"{where}: levels: missing criteria {missing}")
    bad = sorted(k for k, v in item.levels.items() if v not in (0, 1, 2))
    if bad:
        problems.append(f"{where}: levels: must be 0, 1 or 2 for {bad}")
    known_mistakes = {m.id for m in question.mistakes}
    unknown_m = sorted(set(item.mistakes) - known_mistakes)
    if unknown_m:
        problems.append(f"{where}: mistakes: unknown mistakes {unknown_m}")
    if len(set(item.mistakes)) != len(item.mistakes):
        problems.append(f"{where}: mistakes: listed twice")
    if item.evidence is not None:
        credited = {k for k, v in item.levels.items() if v >= 1}
        if set(item.evidence) != credited:
            problems.append(f"{where}: evidence: must list exactly the criteria at level 1 or 2")
        flat = " ".join(item.answer.split())
        for cid, quotes in item.evidence.items():
            problems += [
                f"{where}: evidence: {cid}: not in the answer: {q[:60]!r}"
                for q in quotes
                if " ".join(q.split()) not in flat
            ]
    if problems:
        return problems
    expected = implied_score(question, item.levels, item.mistakes)
    if item.score != expected:
        problems.append(f"{where}: score: {item.score} but the levels and mistakes give {expected}")
    if item.band != band_for(item.score):
        problems.append(
            f"{where}: band: {item.band} but a score of {item.score} is {band_for(item.score)}"
        )
    if item.voice == "adversarial" and item.score >= ADVERSARIAL_MAX:
        problems.append(f"{where}: score: adversarial answers are labelled below {ADVERSARIAL_MAX}")
    return problems


def load_calibration(bank: QuestionBank, directory: Path) -> list[CalibrationItem]:
    """Every labelled answer in ``directory``; raise CalibrationError listing all problems."""
    if not directory.is_dir():
        raise CalibrationError([f"{directory}: calibration directory not found"])
    problems: list[str] = []
    items: list[CalibrationItem] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        problems.append(f"{directory}: no calibration files (*.yaml)")
    for path in files:
        question = bank.get(path.stem)
        if question is None:
            problems.append(f"{path}: unknown question '{path.stem}' (not in the rubric bank)")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        if not isinstance(data, list):
            problems.append(f"{path}: expected a list of labelled answers")
            continue
        for i, raw in enumerate(data):
            where = f"{path}[{i}]"
            try:
                item = LabelledAnswer.model_validate(raw)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"]) or "(item)"
                    problems.append(f"{where}: {loc}: {err['msg']}")
                continue
            where = f"{path}[{i}] {item.id}"
            if item.id in seen:
                problems.append(f"{where}: id repeats the one in {seen[item.id]}")
            seen[item.id] = str(path)
            found = _check_item(question, item, where)
            problems.extend(found)
            if not found:
                items.append(CalibrationItem(question, item))
    if problems:
        raise CalibrationError(problems)
    return items
