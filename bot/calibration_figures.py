"""The calibration report's figures, per question and per criterion: grades, disputes and
the dispute rate; how human interviewers and the bot agree in paired mocks; the most
disputed criteria with quotes (from people who opted in); the change since the previous
rubric or grader version. Pure: works on plain records; the text and the JSON are here too.

A grade's *version* is its rubric version and grader (`2026-11-29.1 · rubric`): a rubric
whose grading changes gets a new version (docs/architecture.md), and the grader string
names the model of the LLM grader. A dispute also records the offline model's data hash.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.agreement import spearman, weighted_kappa
from bot.grading.grade import Band
from bot.questions import QuestionBank

MAX_QUOTES = 2  # per criterion
TOP = 5  # most disputed criteria in the report (the App Home shows three)


def version_of(rubric_version: str, grader: str) -> str:
    return f"{rubric_version} · {grader}"


@dataclass(frozen=True)
class GradeRecord:
    """A grade people saw: a drill answer's feedback, or a mock interview's scorecard."""

    question_id: str
    version: str
    at: datetime


@dataclass(frozen=True)
class VerdictRecord:
    """An author's "Was this fair?": fair, or disputed with the levels they would give."""

    question_id: str
    version: str
    fair: bool
    levels: dict[str, int]  # the bot's
    disputed: dict[str, int]  # criterion -> the level the author would give
    at: datetime
    grader_version: str = ""
    proposed_score: int | None = None
    # Only for authors who opted in to share: their note, and what the answer said for
    # each disputed criterion (the grade's quote, else the answer's opening).
    note: str | None = None
    excerpts: dict[str, str] = field(default_factory=dict)

    def misjudged(self) -> dict[str, int]:
        """The criteria disputed, with a level other than the bot's."""
        if self.fair:
            return {}
        return {c: lv for c, lv in self.disputed.items() if self.levels.get(c) != lv}


@dataclass(frozen=True)
class PairRecord:
    """A paired mock: the human interviewer's view beside the bot's scorecard."""

    question_id: str
    version: str
    rating: int  # 1-5
    human_levels: dict[str, int]  # the criteria the interviewer marked (0 missed, 1, 2 met)
    human_band: Band
    bot_levels: dict[str, int]
    bot_score: int
    bot_band: Band


@dataclass(frozen=True)
class Change:
    """The dispute rate under the previous version and under the current one."""

    previous: str
    current: str
    previous_grades: int
    previous_disputes: int
    current_grades: int
    current_disputes: int

    @property
    def previous_rate(self) -> float | None:
        return _rate(self.previous_disputes, self.previous_grades)

    @property
    def current_rate(self) -> float | None:
        return _rate(self.current_disputes, self.current_grades)

    @property
    def delta(self) -> float | None:
        if self.previous_rate is None or self.current_rate is None:
            return None
        return self.current_rate - self.previous_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "previous_version": self.previous,
            "current_version": self.current,
            "previous": {
                "grades": self.previous_grades,
                "disputes": self.previous_disputes,
                "dispute_rate": _round(self.previous_rate),
            },
            "current": {
                "grades": self.current_grades,
                "disputes": self.current_disputes,
                "dispute_rate": _round(self.current_rate),
            },
            "dispute_rate_change": _round(self.delta),
        }


@dataclass(frozen=True)
class Agreement:
    """Human vs bot in paired mocks."""

    pairs: int
    criterion_pairs: int  # (mock, criterion) pairs the human marked
    level_agreement: float | None  # exact level, over criterion pairs
    band_kappa: float | None  # weighted (quadratic) kappa on bands
    score_spearman: float | None  # the human's 1-5 against the bot's score

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "criterion_pairs": self.criterion_pairs,
            "level_agreement": _round(self.level_agreement),
            "band_weighted_kappa": _round(self.band_kappa),
            "score_spearman": _round(self.score_spearman),
        }


@dataclass(frozen=True)
class CriterionFigures:
    id: str
    name: str
    grades: int
    disputes: int  # disputes that mark this criterion
    raised: int  # … asking for a higher level
    lowered: int  # … for a lower one
    paired: int  # paired mocks where the interviewer marked it
    level_agreement: float | None
    quotes: tuple[str, ...]
    change: Change | None

    @property
    def dispute_rate(self) -> float | None:
        return _rate(self.disputes, self.grades)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "grades": self.grades,
            "disputes": self.disputes,
            "dispute_rate": _round(self.dispute_rate),
            "asked_higher": self.raised,
            "asked_lower": self.lowered,
            "paired": self.paired,
            "level_agreement": _round(self.level_agreement),
            "quotes": list(self.quotes),
            "change": self.change.to_json() if self.change else None,
        }


@dataclass(frozen=True)
class QuestionFigures:
    question_id: str
    title: str
    version: str | None  # the current version (of the newest grade)
    grades: int
    fair: int  # thumbs up
    disputes: int  # thumbs down
    agreement: Agreement
    change: Change | None
    criteria: tuple[CriterionFigures, ...]

    @property
    def dispute_rate(self) -> float | None:
        return _rate(self.disputes, self.grades)

    def to_json(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "title": self.title,
            "version": self.version,
            "grades": self.grades,
            "fair": self.fair,
            "disputes": self.disputes,
            "dispute_rate": _round(self.dispute_rate),
            "agreement": self.agreement.to_json(),
            "change": self.change.to_json() if self.change else None,
            "criteria": [c.to_json() for c in self.criteria],
        }


@dataclass(frozen=True)
class Disputed:
    """One of the most disputed criteria of the workspace."""

    question_id: str
    question_title: str
    criterion: CriterionFigures

    def to_json(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "question_title": self.question_title,
            "criterion_id": self.criterion.id,
            "criterion_name": self.criterion.name,
            "disputes": self.criterion.disputes,
            "grades": self.criterion.grades,
            "dispute_rate": _round(self.criterion.dispute_rate),
            "asked_higher": self.criterion.raised,
            "asked_lower": self.criterion.lowered,
            "quotes": list(self.criterion.quotes),
        }


@dataclass(frozen=True)
class CalibrationReport:
    team: str
    since: datetime | None
    questions: tuple[QuestionFigures, ...]
    most_disputed: tuple[Disputed, ...]

    @property
    def grades(self) -> int:
        return sum(q.grades for q in self.questions)

    @property
    def disputes(self) -> int:
        return sum(q.disputes for q in self.questions)

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "since": self.since.isoformat() if self.since else None,
            "grades": self.grades,
            "disputes": self.disputes,
            "dispute_rate": _round(_rate(self.disputes, self.grades)),
            "most_disputed": [d.to_json() for d in self.most_disputed],
            "questions": [q.to_json() for q in self.questions],
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- the figures -----------------------------------------------------------------------------


def _versions(grades: Sequence[GradeRecord], verdicts: Sequence[VerdictRecord]) -> list[str]:
    """Versions from the oldest to the newest (by when each was last seen)."""
    seen: dict[str, datetime] = {}
    stamps = [(g.version, g.at) for g in grades] + [(v.version, v.at) for v in verdicts]
    for version, at in stamps:
        if version not in seen or at > seen[version]:
            seen[version] = at
    return sorted(seen, key=lambda v: seen[v])


def _change(
    versions: list[str],
    grades: Sequence[GradeRecord],
    disputes: Iterable[VerdictRecord],
) -> Change | None:
    if len(versions) < 2:
        return None
    previous, current = versions[-2], versions[-1]
    graded = Counter(g.version for g in grades)
    disputed = Counter(v.version for v in disputes)
    return Change(
        previous=previous,
        current=current,
        previous_grades=graded[previous],
        previous_disputes=disputed[previous],
        current_grades=graded[current],
        current_disputes=disputed[current],
    )


def agreement(pairs: Sequence[PairRecord]) -> Agreement:
    levels = [
        (lv, p.bot_levels[c])
        for p in pairs
        for c, lv in p.human_levels.items()
        if c in p.bot_levels
    ]
    hits = sum(1 for human, bot in levels if human == bot)
    return Agreement(
        pairs=len(pairs),
        criterion_pairs=len(levels),
        level_agreement=hits / len(levels) if levels else None,
        band_kappa=weighted_kappa([p.human_band for p in pairs], [p.bot_band for p in pairs]),
        score_spearman=(
            spearman([p.rating for p in pairs], [p.bot_score for p in pairs])
            if len(pairs) >= 2
            else None
        ),
    )


def _criterion(
    cid: str,
    name: str,
    grades: Sequence[GradeRecord],
    verdicts: Sequence[VerdictRecord],
    pairs: Sequence[PairRecord],
    versions: list[str],
) -> CriterionFigures:
    marking = [v for v in verdicts if cid in v.misjudged()]
    raised = sum(1 for v in marking if v.misjudged()[cid] > v.levels.get(cid, 0))
    marked = [p for p in pairs if cid in p.human_levels and cid in p.bot_levels]
    quotes: list[str] = []
    for v in reversed(marking):  # the newest first
        said = v.excerpts.get(cid)
        if said:
            quotes.append(f"answer: “{said}”" + (f" · note: “{v.note}”" if v.note else ""))
        elif v.note:
            quotes.append(f"note: “{v.note}”")
        if len(quotes) == MAX_QUOTES:
            break
    return CriterionFigures(
        id=cid,
        name=name,
        grades=len(grades),
        disputes=len(marking),
        raised=raised,
        lowered=len(marking) - raised,
        paired=len(marked),
        level_agreement=(
            sum(1 for p in marked if p.human_levels[cid] == p.bot_levels[cid]) / len(marked)
            if marked
            else None
        ),
        quotes=tuple(quotes),
        change=_change(versions, grades, marking),
    )


def report(
    bank: QuestionBank,
    *,
    team: str,
    since: datetime | None,
    grades: Sequence[GradeRecord],
    verdicts: Sequence[VerdictRecord],
    pairs: Sequence[PairRecord],
) -> CalibrationReport:
    """Figures for every question with a grade, a verdict or a paired rating; questions no
    longer in the bank are left out."""
    by_question: dict[str, tuple[list[GradeRecord], list[VerdictRecord], list[PairRecord]]]
    by_question = defaultdict(lambda: ([], [], []))
    for g in grades:
        by_question[g.question_id][0].append(g)
    for v in verdicts:
        by_question[v.question_id][1].append(v)
    for p in pairs:
        by_question[p.question_id][2].append(p)
    questions: list[QuestionFigures] = []
    for question in bank.questions:
        if question.id not in by_question:
            continue
        q_grades, q_verdicts, q_pairs = by_question[question.id]
        versions = _versions(q_grades, q_verdicts)
        disputes = [v for v in q_verdicts if not v.fair]
        questions.append(
            QuestionFigures(
                question_id=question.id,
                title=question.title,
                version=versions[-1] if versions else None,
                grades=len(q_grades),
                fair=sum(1 for v in q_verdicts if v.fair),
                disputes=len(disputes),
                agreement=agreement(q_pairs),
                change=_change(versions, q_grades, disputes),
                criteria=tuple(
                    _criterion(c.id, c.name, q_grades, q_verdicts, q_pairs, versions)
                    for c in question.criteria
                ),
            )
        )
    ranked = sorted(
        (Disputed(q.question_id, q.title, c) for q in questions for c in q.criteria if c.disputes),
        key=lambda d: (-d.criterion.disputes, -(d.criterion.dispute_rate or 0.0)),
    )
    return CalibrationReport(team, since, tuple(questions), tuple(ranked[:TOP]))


# --- the text ----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _change_line(change: Change | None) -> str | None:
    if change is None:
        return None
    delta = change.delta
    moved = "-" if delta is None else f"{delta * 100:+.0f} points"
    return (
        f"since {change.previous}: dispute rate {_pct(change.previous_rate)} "
        f"({change.previous_disputes}/{change.previous_grades}) → {_pct(change.current_rate)} "
        f"({change.current_disputes}/{change.current_grades}), {moved}"
    )


def render_text(data: CalibrationReport) -> str:
    since = f" since {data.since:%Y-%m-%d}" if data.since else ""
    lines = [
        f"Calibration report for workspace {data.team or '(none yet)'}{since}",
        f"{data.grades} grades, {data.disputes} disputed "
        f"({_pct(_rate(data.disputes, data.grades))})",
        "",
    ]
    if data.most_disputed:
        lines.append("Most disputed criteria")
        for rank, d in enumerate(data.most_disputed, 1):
            c = d.criterion
            lines.append(
                f"  {rank}. {c.name} ({d.question_id}): {c.disputes} of {c.grades} grades "
                f"({_pct(c.dispute_rate)}); asked higher {c.raised}, lower {c.lowered}"
            )
            lines += [f"       {q}" for q in c.quotes]
        lines.append("")
    if not data.questions:
        lines.append("Nothing to report yet: no grades, disputes or paired ratings.")
    for q in data.questions:
        lines.append(f"{q.question_id} - {q.title}")
        lines.append(
            f"  version {q.version or '-'} · {q.grades} grades · fair {q.fair} · "
            f"disputed {q.disputes} ({_pct(q.dispute_rate)})"
        )
        change = _change_line(q.change)
        if change:
            lines.append(f"  {change}")
        a = q.agreement
        if a.pairs:
            lines.append(
                f"  paired mocks {a.pairs}: level agreement {_pct(a.level_agreement)} "
                f"over {a.criterion_pairs} criteria · weighted kappa (bands) {_num(a.band_kappa)}"
                f" · Spearman (scores) {_num(a.score_spearman)}"
            )
        lines.append(f"  {'criterion':<28} {'disputes':>8} {'rate':>6} {'paired':>6} {'agree':>6}")
        for c in q.criteria:
            lines.append(
                f"  {c.id[:28]:<28} {c.disputes:>8} {_pct(c.dispute_rate):>6} "
                f"{c.paired:>6} {_pct(c.level_agreement):>6}"
            )
            change = _change_line(c.change) if c.disputes else None
            if change:
                lines.append(f"    {change}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
