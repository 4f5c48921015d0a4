"""`deploy-drill grader train`: reproducible, safe to load, and in step with the rubrics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from bot.grading.claim_model import load_model
from bot.grading.model import MODEL_DIR
from bot.grading.rubric import RubricGrader
from bot.grading.training import WEIGHT_FLOOR, corpus_hash, load_corpus
from bot.questions import load_bank
from tests.serving import clean_env

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "bot"]


def _small_corpus(directory: Path) -> Path:
    """A few hundred real corpus lines: enough to fit, small enough to train in a second."""
    corpus = directory / "corpus"
    corpus.mkdir()
    lines = (ROOT / "corpus/claims/writer4.jsonl").read_text(encoding="utf-8").splitlines()
    (corpus / "part.jsonl").write_text("\n".join(lines[:400]) + "\n", encoding="utf-8")
    return corpus


def _train(corpus: Path, out: Path, rubrics: Path = ROOT / "rubrics") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "grader", "train", "--corpus", str(corpus), "--out", str(out), "--rubrics", str(rubrics)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )


def test_training_is_reproducible_and_loads_without_pickle(tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path)
    first, second = _train(corpus, tmp_path / "a"), _train(corpus, tmp_path / "b")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "trained on" in first.stdout
    meta_a = json.loads((tmp_path / "a/claims.json").read_text())
    meta_b = json.loads((tmp_path / "b/claims.json").read_text())
    assert meta_a == meta_b
    with np.load(tmp_path / "a/claims.npz", allow_pickle=False) as a, np.load(
        tmp_path / "b/claims.npz", allow_pickle=False
    ) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    model = load_model(tmp_path / "a")
    assert model is not None
    assert model.card["data_sha256"] == meta_a["card"]["data_sha256"]
    assert "rollout-strategies" in model.questions
    # No row is kept that moves nothing: every feature has a weight of at least the floor.
    for weights in [model.stance.weights, *(q.weights for q in model.questions.values())]:
        assert not len(weights) or np.abs(weights.astype(np.float32)).max(axis=1).min() >= (
            WEIGHT_FLOOR * 0.99  # the floor, as a half float
        )


def test_a_broken_corpus_is_one_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bad.jsonl").write_text('{"q": "no-such-question", "text": "x", "mode": "asserted"}\nnot json\n')
    out = _train(corpus, tmp_path / "out")
    assert out.returncode == 2
    assert "bad.jsonl:1: unknown question" in out.stderr
    assert "bad.jsonl:2: not JSON" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


def test_rubric_examples_teach_the_grader(tmp_path: Path) -> None:
    """A phrase the corpus never uses earns a criterion once a rubric lists it as an example."""
    rubrics = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", rubrics)
    answer = "Every Tuesday the bakery manager eyeballs the zorbly table before lunch."
    before = _train(_small_corpus(tmp_path), tmp_path / "before", rubrics)
    assert before.returncode == 0, before.stderr
    path = rubrics / "rollout-strategies.yaml"
    text = path.read_text(encoding="utf-8")
    example = (
        "    examples:\n      credit:\n"
        "        - The bakery manager eyeballs the zorbly table every Tuesday.\n"
        "        - Our manager eyeballs the zorbly table before lunch.\n"
        "        - Somebody eyeballs the zorbly table each morning.\n"
    )
    text = text.replace("  - id: shadow\n", "  - id: shadow\n" + example, 1)
    path.write_text(text, encoding="utf-8")
    (tmp_path / "corpus2").mkdir()
    shutil.copy(tmp_path / "corpus/part.jsonl", tmp_path / "corpus2/part.jsonl")
    after = _train(tmp_path / "corpus2", tmp_path / "after", rubrics)
    assert after.returncode == 0, after.stderr
    bank = load_bank(rubrics)
    question = bank.get("rollout-strategies")
    assert question is not None

    def shadow(model_dir: Path) -> int:
        grade = RubricGrader(bank, model=load_model(model_dir)).grade_sync(question, answer)
        return next(c.level for c in grade.criteria if c.id == "shadow")

    assert shadow(tmp_path / "before") == 0
    assert shadow(tmp_path / "after") >= 1


def test_the_shipped_model_matches_the_corpus_and_the_rubrics() -> None:
    """Change the corpus, a rubric's criteria or its version, and this asks for a retrain."""
    model = load_model(MODEL_DIR)
    assert model is not None, "no trained model: run `deploy-drill grader train`"
    bank = load_bank(ROOT / "rubrics")
    assert model.card["data_sha256"] == corpus_hash(load_corpus(ROOT / "corpus/claims", bank))
    assert model.card["rubric_versions"] == {q.id: q.version for q in bank.questions}
    for q in bank.questions:
        assert model.for_question(q.id, [c.id for c in q.criteria]) is not None, q.id


def test_half_float_weights_grade_as_full_floats_do() -> None:
    """The weights are held as float16 for memory; the grades are those of float32 weights."""
    model = load_model(MODEL_DIR)
    assert model is not None
    full = replace(
        model,
        stance=replace(model.stance, weights=model.stance.weights.astype(np.float32)),
        questions={
            qid: replace(q, weights=q.weights.astype(np.float32))
            for qid, q in model.questions.items()
        },
    )
    bank = load_bank(ROOT / "rubrics")
    half_grader, full_grader = RubricGrader(bank, model=model), RubricGrader(bank, model=full)
    labelled = ROOT / "tests/calibration"
    for path in sorted(labelled.glob("*.yaml"))[:6]:
        question = bank.get(path.stem)
        assert question is not None
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            half = half_grader.grade_sync(question, item["answer"])
            assert half == full_grader.grade_sync(question, item["answer"]), item["id"]


def test_corpus_is_large_and_covers_every_stance() -> None:
    bank = load_bank(ROOT / "rubrics")
    examples = [e for e in load_corpus(ROOT / "corpus/claims", bank) if e.source != "rubric"]
    assert len(examples) >= 3000
    assert {e.stance for e in examples} == {
        "asserted", "hypothetical", "negated", "dismissed", "question", "filler", "metaphor", "offtopic"
    }


def test_grader_train_has_help() -> None:
    out = subprocess.run([*CLI, "grader", "train", "--help"], capture_output=True, text=True, env=clean_env())
    assert out.returncode == 0 and "--corpus" in out.stdout
