"""`deploy-drill grader train`: fit the claim models on the corpus and the rubric examples.

The corpus is JSON lines, one claim each (`corpus/claims/*.jsonl`):
``{"q": question id, "text": …, "mode": stance, "criteria": {criterion: 1|2}, "mistakes": [...]}``.
A rubric criterion's ``examples.credit`` lines count as asserted level-1 claims for
it, and ``examples.no_credit`` lines as asserted claims that earn nothing.

scikit-learn is needed here only (a development dependency); what is written is
plain arrays and JSON, which grading loads with numpy. The same inputs give the
same model: the solver is deterministic and every order is sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import DrillError
from bot.grading.claim_reader import read_claims
from bot.grading.claims import STANCES
from bot.grading.rubric import Prepared, prepare_question
from bot.questions import QuestionBank

DEFAULT_CORPUS = Path("corpus/claims")
STANCE_C = 1.0
SUPPORT_C = 2.0
# A feature whose every weight is smaller than this moves no probability that matters; it is
# left out of the model, which then holds a third fewer rows.
WEIGHT_FLOOR = 0.005


class TrainingError(DrillError):
    """The corpus is missing or malformed, or scikit-learn is not installed."""


@dataclass(frozen=True)
class Example:
    question: str
    text: str
    stance: str
    levels: dict[str, int]
    source: str


def load_corpus(directory: Path, bank: QuestionBank) -> list[Example]:
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise TrainingError(f"{directory}: no corpus files (*.jsonl)")
    problems: list[str] = []
    out: list[Example] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc.msg})")
                continue
            question = bank.get(str(row.get("q", "")))
            if question is None:
                problems.append(f"{where}: unknown question {row.get('q')!r}")
                continue
            known = {c.id for c in question.criteria}
            levels = {str(k): int(v) for k, v in (row.get("criteria") or {}).items()}
            unknown = sorted(set(levels) - known)
            if unknown or row.get("mode") not in STANCES or not str(row.get("text", "")).strip():
                problems.append(f"{where}: bad criteria {unknown}, mode or text")
                continue
            if row["mode"] != "asserted":
                levels = {}
            out.append(Example(question.id, str(row["text"]), row["mode"], levels, path.name))
    if problems:
        raise TrainingError("\n".join(problems[:20]))
    for question in bank.questions:
        for c in question.criteria:
            out += [Example(question.id, t, "asserted", {c.id: 1}, "rubric") for t in c.examples.credit]
            out += [Example(question.id, t, "asserted", {}, "rubric") for t in c.examples.no_credit]
    return out


def corpus_hash(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.question, e.text, e.stance, sorted(e.levels.items())]).encode())
    return digest.hexdigest()


def _features(prep: Prepared, text: str) -> list[str]:
    """One corpus line is one claim, even where the reader would cut it in two."""
    _, _, claims = read_claims(text, prep.vocab, prep.index)
    return list(dict.fromkeys(f for c in claims for f in c.features))


def _matrix(rows: Sequence[Sequence[str]], vocab: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    for feats in rows:
        indices.extend(vocab[f] for f in feats if f in vocab)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return csr_matrix((data, indices, indptr), shape=(len(rows), len(vocab)))


def _vocab(rows: Sequence[Sequence[str]], min_count: int = 1) -> dict[str, int]:
    counts: dict[str, int] = {}
    for feats in rows:
        for f in feats:
            counts[f] = counts.get(f, 0) + 1
    kept = sorted(f for f, n in counts.items() if n >= min_count)
    return {f: i for i, f in enumerate(kept)}


def _kept(weights: np.ndarray, features: list[str]) -> tuple[np.ndarray, list[str]]:
    """The rows (and their features) with a weight of at least WEIGHT_FLOOR, as half floats."""
    keep = np.abs(weights).max(axis=1) >= WEIGHT_FLOOR
    return weights[keep].astype(np.float16), [f for f, k in zip(features, keep, strict=True) if k]


def _fit_binary(x: Any, y: Sequence[int], c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:  # nothing to learn: a constant "no"
        return np.zeros(x.shape[1]), -6.0
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000, class_weight="balanced")
    model.fit(x, list(y))
    return model.coef_[0], float(model.intercept_[0])


def train(bank: QuestionBank, corpus_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Fit every model, write `claims.npz` and `claims.json` to `out_dir`; return the card."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict
    except ImportError as exc:  # pragma: no cover - the dev lock installs it
        raise TrainingError("training needs scikit-learn: pip install scikit-learn") from exc

    examples = load_corpus(corpus_dir, bank)
    preps = {q.id: prepare_question(bank, q) for q in bank.questions}
    feats = [_features(preps[e.question], e.text) for e in examples]
    arrays: dict[str, np.ndarray] = {}
    metrics: dict[str, Any] = {}

    stance_vocab = _vocab(feats, min_count=2)
    x = _matrix(feats, stance_vocab)
    y = [e.stance for e in examples]
    stance = LogisticRegression(C=STANCE_C, max_iter=3000)
    stance.fit(x, y)
    predicted = cross_val_predict(LogisticRegression(C=STANCE_C, max_iter=3000), x, y, cv=5)
    metrics["stance_accuracy_cv"] = round(float(np.mean(np.array(predicted) == np.array(y))), 3)
    classes = [str(c) for c in stance.classes_]
    arrays["stance.weights"], stance_features = _kept(stance.coef_.T, list(stance_vocab))
    arrays["stance.bias"] = stance.intercept_.astype(np.float32)

    questions_meta: dict[str, Any] = {}
    own_features: dict[str, list[str]] = {"stance": stance_features}
    for question in bank.questions:
        idx = [i for i, e in enumerate(examples) if e.question == question.id]
        # Claims that earn nothing in other questions teach every question what empty talk looks
        # like; claims that earn something elsewhere might earn a neighbour here, so they stay out.
        idx += [i for i, e in enumerate(examples) if e.question != question.id and not e.levels]
        rows = [feats[i] for i in idx]
        vocab = _vocab(rows, min_count=2)
        xq = _matrix(rows, vocab)
        support_cols, full_cols, bias = [], [], []
        per_criterion: dict[str, Any] = {}
        for c in question.criteria:
            y_support = [int(examples[i].levels.get(c.id, 0) >= 1) for i in idx]
            w, b = _fit_binary(xq, y_support, SUPPORT_C)
            support_cols.append(w)
            bias.append(b)
            per_criterion[c.id] = {"positives": sum(y_support)}
        for c in question.criteria:
            y_full = [int(examples[i].levels.get(c.id, 0) >= 2) for i in idx]
            w, b = _fit_binary(xq, y_full, SUPPORT_C)
            full_cols.append(w)
            bias.append(b)
            per_criterion[c.id]["level2_positives"] = sum(y_full)
        weights, features = _kept(np.stack(support_cols + full_cols, axis=1), list(vocab))
        arrays[f"{question.id}.weights"] = weights
        arrays[f"{question.id}.bias"] = np.array(bias, dtype=np.float32)
        own_features[question.id] = features
        questions_meta[question.id] = {
            "rubric_version": question.version,
            "criteria": [c.id for c in question.criteria],
            "examples": len([i for i in idx if examples[i].question == question.id]),
            "per_criterion": per_criterion,
        }

    card = {
        "data_sha256": corpus_hash(examples),
        "examples": len(examples),
        "sources": sorted({e.source for e in examples}),
        "rubric_versions": {q.id: q.version for q in bank.questions},
        "metrics": metrics,
        "library": "scikit-learn LogisticRegression (liblinear per criterion; lbfgs for stance)",
    }
    # Each feature string is written once; a model names its features by their place in
    # that list, so loading builds one vocabulary instead of one string list per model. Both
    # lists are sorted, so each model's places ascend (the loader searches them).
    shared = sorted({f for features in own_features.values() for f in features})
    place = {f: i for i, f in enumerate(shared)}
    for name, features in own_features.items():
        arrays[f"{name}.features"] = np.array([place[f] for f in features], dtype=np.int32)
    meta = {
        "card": card,
        "vocabulary": shared,
        "stance": {"classes": classes},
        "questions": questions_meta,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    # np.savez writes the same bytes for the same arrays; keys are sorted for a stable order.
    np.savez_compressed(out_dir / "claims.npz", **dict(sorted(arrays.items())))  # type: ignore[arg-type]
    (out_dir / "claims.json").write_text(json.dumps(meta, sort_keys=True) + "\n", encoding="utf-8")
    (out_dir / "MODEL_CARD.md").write_text(model_card(card, questions_meta), encoding="utf-8")
    return card


def model_card(card: dict[str, Any], questions: dict[str, Any]) -> str:
    """The card for people: what the model was trained on, and how to reproduce it."""
    lines = [
        "# The offline grader's claim model",
        "",
        "Written by `deploy-drill grader train`; do not edit. Reproduce with that command on a",
        "clean clone: the same corpus and rubrics give the same arrays.",
        "",
        f"- data sha256: `{card['data_sha256']}` ({card['examples']} labelled claims)",
        f"- sources: {', '.join(card['sources'])} (`corpus/claims/*.jsonl` and rubric `examples`)",
        f"- models: {card['library']}",
        f"- stance accuracy, 5-fold cross-validation: {card['metrics']['stance_accuracy_cv']}",
        "- format: `claims.npz` (plain arrays, loaded with `allow_pickle=False`) and `claims.json`",
        "",
        "| question | rubric version | claims | criteria (positives / level-2 positives) |",
        "|---|---|---|---|",
    ]
    for qid, q in sorted(questions.items()):
        per = ", ".join(
            f"{cid} {v['positives']}/{v['level2_positives']}" for cid, v in q["per_criterion"].items()
        )
        lines.append(f"| {qid} | {q['rubric_version']} | {q['examples']} | {per} |")
    return "\n".join(lines) + "\n"
