"""`deploy-drill eval`: the calibration set, the agreement metrics, and the rubric grader's targets."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from pathlib import Path

import pytest
import yaml

from bot.agreement import average_ranks, f1_counts, spearman
from bot.evaluation import SETS, TARGETS, EvalReport, evaluate, render_text, to_json
from bot.grading.rubric import RubricGrader
from bot.labelled_sets import ADVERSARIAL_MAX, CalibrationError, load_calibration
from bot.questions import Question, QuestionBank
from bot.second_labelling import SecondLabelling

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "tests" / "calibration"


@pytest.fixture(scope="module")
def report(bank: QuestionBank) -> EvalReport:
    return asyncio.run(evaluate(bank, RubricGrader(bank), CALIBRATION))


# --- the calibration set -----------------------------------------------------------


def test_calibration_set_is_big_and_varied(bank: QuestionBank) -> None:
    """At least 60 labelled answers over several questions, in every voice."""
    items = load_calibration(bank, CALIBRATION)
    assert len(items) >= 60
    assert len({i.question.id for i in items}) >= 4
    assert {i.label.voice for i in items} == {
        "strong",
        "solid",
        "developing",
        "weak",
        "adversarial",
    }
    assert {i.label.band for i in items} == {"strong", "solid", "developing", "weak"}
    words = [len(i.label.answer.split()) for i in items if i.label.voice != "adversarial"]
    assert min(words) <= 30 and max(words) >= 250


def test_adversarial_labels_are_below_30(bank: QuestionBank) -> None:
    """Every adversarial or empty answer is labelled below 30."""
    items = load_calibration(bank, CALIBRATION)
    assert all(i.label.score < ADVERSARIAL_MAX for i in items if i.adversarial)


# --- targets with the real rubric grader ---------------------------------------------


def test_rubric_grader_meets_every_target(report: EvalReport) -> None:
    """Criterion F1, level agreement, mistake F1, Spearman and band closeness all meet their targets."""
    metrics = report.metrics()
    missed = {k: round(v, 3) for k, v in metrics.items() if v < TARGETS[k]}
    assert not missed, render_text(report)


def test_every_adversarial_answer_scores_below_30(report: EvalReport) -> None:
    """Buzzword piles, denials, injections, repetition, off-topic and empty answers all score < 30."""
    adversarial = [r for r in report.items if r.adversarial]
    assert len(adversarial) >= 10
    assert [(r.id, r.score) for r in adversarial if r.score >= ADVERSARIAL_MAX] == []


def test_report_renders_a_table_and_the_worst_disagreements(report: EvalReport) -> None:
    """The text report has every metric, its target and five worst cases; JSON round-trips."""
    text = render_text(report)
    for label in (
        "criterion F1",
        "exact level agreement",
        "mistake F1",
        "Spearman",
        "bands within",
    ):
        assert label in text
    assert "Worst 5 disagreements" in text and text.rstrip().endswith(("PASS", "FAIL"))
    data = json.loads(json.dumps(to_json(report)))
    assert data["n"] == len(report.items) and len(data["worst"]) == 5
    assert set(data["metrics"]) == set(TARGETS) and data["ok"] is report.ok


# --- the statistics on hand-computed inputs -------------------------------------------


def test_average_ranks_share_ties() -> None:
    """Tied values share the mean of the ranks they span."""
    assert average_ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    assert average_ranks([3, 1, 2]) == [3.0, 1.0, 2.0]
    assert average_ranks([5, 5, 5]) == [2.0, 2.0, 2.0]


def test_spearman_matches_a_hand_computation() -> None:
    """rho over average ranks: a tie in ys gives 8/sqrt(95); monotone is ±1; constant is 0."""
    # ranks x = 1..5; ranks y = 1, 2, 3.5, 5, 3.5 → cov 8, var 10 and 9.5.
    assert math.isclose(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / math.sqrt(95))
    assert math.isclose(spearman([1, 2, 3], [10, 200, 3000]), 1.0)
    assert math.isclose(spearman([1, 2, 3], [3, 2, 1]), -1.0)
    assert spearman([1, 2, 3], [4, 4, 4]) == 0.0


def test_f1_matches_a_hand_computation() -> None:
    """2 hits, 1 false alarm, 1 miss: precision = recall = F1 = 2/3; nothing to find is perfect."""
    counts = f1_counts([True, True, False, False, True], [True, False, True, False, True])
    assert (counts.tp, counts.fp, counts.fn) == (2, 1, 1)
    assert math.isclose(counts.precision, 2 / 3) and math.isclose(counts.recall, 2 / 3)
    assert math.isclose(counts.f1, 2 / 3)
    assert f1_counts([False, False], [False, False]).f1 == 1.0
    assert f1_counts([True], [False]).f1 == 0.0


# --- validation of the files ------------------------------------------------------------


def _write(directory: Path, name: str, items: list[dict[str, object]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(items, sort_keys=False))
    return directory


def _item(question: Question, **changes: object) -> dict[str, object]:
    levels = {c.id: 0 for c in question.criteria}
    item: dict[str, object] = {
        "id": "t-1",
        "voice": "weak",
        "answer": "We copy the model file to a server.",
        "levels": levels,
        "mistakes": [],
        "score": 0,
        "band": "weak",
    }
    item.update(changes)
    return item


def test_unknown_question_criterion_and_mistake_ids_are_errors(
    bank: QuestionBank, tmp_path: Path
) -> None:
    """A file for an unknown question, an unknown criterion or mistake id fails with its place."""
    question = bank.get("deploy-ml-models")
    assert question is not None
    levels = {c.id: 0 for c in question.criteria} | {"vibes": 1}
    directory = _write(tmp_path, "no-such-question", [_item(question)])
    _write(directory, "deploy-ml-models", [_item(question, levels=levels, mistakes=["typo_id"])])
    with pytest.raises(CalibrationError) as caught:
        load_calibration(bank, directory)
    problems = "\n".join(caught.value.problems)
    assert "unknown question 'no-such-question'" in problems
    assert "unknown criteria ['vibes']" in problems
    assert "unknown mistakes ['typo_id']" in problems


def test_labels_must_be_consistent(bank: QuestionBank, tmp_path: Path) -> None:
    """A missing criterion, a score the levels do not give, or an adversarial label ≥ 30 is an error."""
    question = bank.get("deploy-ml-models")
    assert question is not None
    full = {c.id: 2 for c in question.criteria}
    partial = {k: v for k, v in full.items() if k != "story"}
    directory = _write(
        tmp_path,
        "deploy-ml-models",
        [
            _item(question, id="a", levels=partial),
            _item(question, id="b", levels=full, score=90, band="strong"),
            _item(question, id="c", voice="adversarial", levels=full, score=100, band="strong"),
        ],
    )
    with pytest.raises(CalibrationError) as caught:
        load_calibration(bank, directory)
    problems = "\n".join(caught.value.problems)
    assert "missing criteria ['story']" in problems
    assert "score: 90 but the levels and mistakes give 100" in problems
    assert "adversarial answers are labelled below 30" in problems


async def test_any_grader_can_be_evaluated(bank: QuestionBank) -> None:
    """A grader that agrees with every label (the labels read back as a second labelling)
    scores 1.0 on every metric, through the Grader protocol."""
    result = await evaluate(bank, SecondLabelling(bank, CALIBRATION), CALIBRATION)
    assert result.grader == "second labeller"
    assert all(math.isclose(v, 1.0) for v in result.metrics().values())
    assert result.ok


@pytest.mark.parametrize(
    "name",
    [f"heldout{n}" for n in ("", 2, *range(3, 25))] + [f"web{n}" for n in range(1, 7)],
)
def test_held_out_sets_are_valid_and_unchanged_since_frozen(bank: QuestionBank, name: str) -> None:
    """Every held-out file loads against the bank and still has the hash it was frozen with."""
    directory = ROOT / SETS[name]
    frozen = dict(
        reversed(line.split()) for line in (directory / "SHA256SUMS").read_text().splitlines()
    )
    files = sorted(p.name for p in directory.glob("*.yaml"))
    assert files == sorted(frozen)
    for file in files:
        assert hashlib.sha256((directory / file).read_bytes()).hexdigest() == frozen[file], file
    assert len(load_calibration(bank, directory)) >= (50 if name.startswith("web") else 100)
