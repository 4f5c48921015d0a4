"""The learned half of the offline grader: linear models over claim features, as plain arrays.

`deploy-drill grader train` fits them with scikit-learn on the project's labelled
corpus (`corpus/claims/*.jsonl`) and the rubric files' examples, and writes
``bot/grading/model/claims.npz`` (arrays, loaded with ``allow_pickle=False``) and
``claims.json`` (vocabularies, labels and the model card). Grading needs numpy only.

- The stance model (one for all questions) says how a claim is held: asserted,
  hypothetical, negated, dismissed, a question, filler, a metaphor, off topic.
- Each question has, per criterion, a `support` model (does this claim earn the
  criterion at all?) and a `full` one (does it alone meet level 2?).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.grading.claims import STANCES, Stance
from bot.grading.model import MODEL_DIR

Floats = npt.NDArray[np.float32]
# Weights are held as half floats (half the memory; summed as float32).
Halves = npt.NDArray[np.float16]


Rows = npt.NDArray[np.int32]


def _local(own: Rows, features: Rows) -> Rows:
    """A model's own rows for features given as indices into the shared vocabulary. `own`
    lists the model's features in ascending shared order, so a row is a binary search."""
    rows = np.searchsorted(own, features).astype(np.int32)
    found = rows < len(own)
    found[found] = own[rows[found]] == features[found]
    return rows[found]


def _sigmoid(x: Floats) -> Floats:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


@dataclass(frozen=True)
class StanceModel:
    classes: tuple[Stance, ...]
    own: Rows  # the model's features as ascending shared indices; row i is own[i]
    weights: Halves  # (features, classes)
    bias: Floats

    def probabilities(self, features: Rows) -> dict[Stance, float]:
        """P(stance) for every stance (a softmax over the classes)."""
        rows = _local(self.own, features)
        logits = self.weights[rows].sum(axis=0, dtype=np.float32) + self.bias
        exp = np.exp(logits - logits.max())
        total = float(exp.sum())
        return {c: float(v) / total for c, v in zip(self.classes, exp, strict=True)}


@dataclass(frozen=True)
class QuestionModel:
    rubric_version: str
    criteria: tuple[str, ...]
    own: Rows
    weights: Halves  # (features, 2 * criteria): support columns, then full columns
    bias: Floats

    def score(self, features: Rows) -> tuple[dict[str, float], dict[str, float]]:
        """Per criterion: P(the claim supports it), P(the claim alone meets level 2)."""
        rows = _local(self.own, features)
        probs = _sigmoid(self.weights[rows].sum(axis=0, dtype=np.float32) + self.bias)
        n = len(self.criteria)
        support = dict(zip(self.criteria, map(float, probs[:n]), strict=True))
        full = dict(zip(self.criteria, map(float, probs[n:]), strict=True))
        return support, full


@dataclass(frozen=True)
class ClaimModel:
    card: dict[str, Any]
    vocab: dict[str, int]  # one vocabulary for every model: each feature string held once
    stance: StanceModel
    questions: dict[str, QuestionModel]

    def index(self, features: Sequence[str]) -> Rows:
        """A claim's features as indices into the shared vocabulary (unknown ones dropped)."""
        return np.fromiter(
            (i for f in features if (i := self.vocab.get(f)) is not None), dtype=np.int32
        )

    def for_question(self, question_id: str, criteria: Sequence[str]) -> QuestionModel | None:
        """The question's model, if it was trained on these very criteria."""
        model = self.questions.get(question_id)
        if model is None or model.criteria != tuple(criteria):
            return None
        return model


def load_model(directory: Path = MODEL_DIR) -> ClaimModel | None:
    """The trained model in `directory`, or None when none has been trained there."""
    return _load_cached(str(directory))


@lru_cache(maxsize=4)
def _load_cached(directory: str) -> ClaimModel | None:
    meta_path = Path(directory) / "claims.json"
    arrays_path = Path(directory) / "claims.npz"
    if not (meta_path.is_file() and arrays_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    shared = {f: i for i, f in enumerate(meta["vocabulary"])}
    with np.load(arrays_path, allow_pickle=False) as arrays:
        stance = StanceModel(
            classes=tuple(c for c in meta["stance"]["classes"] if c in STANCES),
            own=arrays["stance.features"],
            weights=arrays["stance.weights"].astype(np.float16, copy=False),
            bias=arrays["stance.bias"].astype(np.float32),
        )
        questions = {
            qid: QuestionModel(
                rubric_version=q["rubric_version"],
                criteria=tuple(q["criteria"]),
                own=arrays[f"{qid}.features"],
                weights=arrays[f"{qid}.weights"].astype(np.float16, copy=False),
                bias=arrays[f"{qid}.bias"].astype(np.float32),
            )
            for qid, q in meta["questions"].items()
        }
    return ClaimModel(meta["card"], shared, stance, questions)
