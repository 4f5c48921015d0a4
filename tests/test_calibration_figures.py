"""The calibration report's figures, from plain records: rates, the most disputed criteria,
human-vs-bot agreement, and the change since the previous version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.agreement import weighted_kappa
from bot.calibration_figures import (
    GradeRecord,
    PairRecord,
    VerdictRecord,
    agreement,
    render_text,
    report,
    version_of,
)
from bot.questions import QuestionBank

T0 = datetime(2026, 12, 1, tzinfo=UTC)
OLD, NEW = version_of("2026-11-29.1", "rubric"), version_of("2026-12-10.1", "rubric")
LEVELS = {"context": 1, "monitoring": 1, "rollout": 2, "story": 0}


def grade(version: str, day: int, question: str = "deploy-ml-models") -> GradeRecord:
    return GradeRecord(question, version, T0 + timedelta(days=day))


def verdict(
    version: str, day: int, disputed: dict[str, int] | None = None, **kw: object
) -> VerdictRecord:
    return VerdictRecord(
        question_id="deploy-ml-models",
        version=version,
        fair=disputed is None,
        levels=LEVELS,
        disputed=disputed or {},
        at=T0 + timedelta(days=day),
        **kw,  # type: ignore[arg-type]
    )


def test_weighted_kappa_on_bands() -> None:
    assert weighted_kappa(["weak", "solid", "strong"], ["weak", "solid", "strong"]) == 1.0
    assert weighted_kappa([], []) is None
    assert weighted_kappa(["solid", "solid"], ["solid", "solid"]) is None  # undefined
    near = weighted_kappa(
        ["weak", "solid", "strong", "developing"], ["weak", "strong", "strong", "developing"]
    )
    far = weighted_kappa(
        ["weak", "solid", "strong", "developing"], ["strong", "weak", "weak", "strong"]
    )
    assert near is not None and far is not None and far < 0 < near < 1
    with pytest.raises(ValueError):
        weighted_kappa(["weak"], [])


def test_rates_and_the_most_disputed_criteria(bank: QuestionBank) -> None:
    """A dispute counts for the criteria it marks at another level than the bot's; one at the
    bot's own level is no disagreement. The most disputed come first, quoted where shared."""
    data = report(
        bank,
        team="T1",
        since=None,
        grades=[grade(NEW, d) for d in range(4)],
        verdicts=[
            verdict(
                NEW,
                1,
                {"monitoring": 2, "story": 0},
                note="I said drift",
                excerpts={"monitoring": "we watch drift"},
            ),
            verdict(NEW, 2, {"monitoring": 2}),
            verdict(NEW, 3),
        ],
        pairs=[],
    )
    [question] = data.questions
    assert (question.grades, question.fair, question.disputes) == (4, 1, 2)
    assert question.dispute_rate == 0.5
    figures = {c.id: c for c in question.criteria}
    assert figures["monitoring"].disputes == 2 and figures["monitoring"].raised == 2
    assert figures["story"].disputes == 0  # the level the bot gave: not a dispute
    [top] = data.most_disputed
    assert top.criterion.id == "monitoring"
    assert top.criterion.quotes == ("answer: “we watch drift” · note: “I said drift”",)
    text = render_text(data)
    assert (
        "1. Monitors the model, not just the server (deploy-ml-models): 2 of 4 grades (50%)" in text
    )
    assert data.to_json()["most_disputed"][0]["quotes"] == list(top.criterion.quotes)


def test_the_change_since_the_previous_version(bank: QuestionBank) -> None:
    """Grades and disputes split by version: the previous one's dispute rate against the
    current one's, per question and per criterion."""
    data = report(
        bank,
        team="T1",
        since=None,
        grades=[grade(OLD, d) for d in range(4)] + [grade(NEW, 10 + d) for d in range(5)],
        verdicts=[
            verdict(OLD, 1, {"monitoring": 2}),
            verdict(OLD, 2, {"monitoring": 2}),
            verdict(NEW, 11, {"monitoring": 2}),
        ],
        pairs=[],
    )
    [question] = data.questions
    assert question.version == NEW
    change = question.change
    assert change is not None and (change.previous, change.current) == (OLD, NEW)
    assert change.previous_rate == 0.5 and change.current_rate == 0.2
    assert change.delta == pytest.approx(-0.3)
    monitoring = next(c for c in question.criteria if c.id == "monitoring")
    assert monitoring.change is not None and monitoring.change.previous_disputes == 2
    assert (
        "since 2026-11-29.1 · rubric: dispute rate 50% (2/4) → 20% (1/5), -30 points"
        in render_text(data)
    )
    assert question.to_json()["change"]["dispute_rate_change"] == -0.3


def test_agreement_of_paired_mocks() -> None:
    pairs = [
        PairRecord("q", NEW, 5, {"a": 2, "b": 1}, "strong", {"a": 2, "b": 2}, 90, "strong"),
        PairRecord("q", NEW, 3, {"a": 1}, "developing", {"a": 1, "b": 0}, 50, "developing"),
        PairRecord("q", NEW, 1, {}, "weak", {"a": 0, "b": 0}, 20, "weak"),
    ]
    figures = agreement(pairs)
    assert (figures.pairs, figures.criterion_pairs) == (3, 3)
    assert figures.level_agreement == pytest.approx(2 / 3)
    assert figures.band_kappa == 1.0 and figures.score_spearman == 1.0
    one = agreement(pairs[:1])
    assert one.score_spearman is None and one.band_kappa is None


def test_nothing_yet(bank: QuestionBank) -> None:
    data = report(bank, team="T1", since=T0, grades=[], verdicts=[], pairs=[])
    assert data.questions == () and "Nothing to report yet" in render_text(data)
    assert data.to_json()["since"] == T0.isoformat()
