"""Questions and their rubrics: the models, and loading them from ``rubrics/*.yaml``.

Pure: no I/O beyond reading the rubric files, no knowledge of Slack or storage.
Every problem in a file is reported as ``file:line: field: reason`` so an author
can jump straight to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import RubricError

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
Seniority = Literal["entry", "mid", "senior", "staff"]
SENIORITIES: tuple[Seniority, ...] = get_args(Seniority)


def seniority_of(level: str | None) -> Seniority | None:
    """A stored or typed level, when it is one we grade for."""
    for known in SENIORITIES:
        if level == known:
            return known
    return None


CUES_FILE = "_cues.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Levels(_Strict):
    """What an answer at each level looks like, for people and for the LLM grader."""

    l0: str = Field(alias="0", min_length=3)
    l1: str = Field(alias="1", min_length=3)
    l2: str = Field(alias="2", min_length=3)

    @model_validator(mode="before")
    @classmethod
    def _string_keys(cls, data: Any) -> Any:
        # YAML reads `0:` as an int key; authors may write either.
        return {str(k): v for k, v in data.items()} if isinstance(data, dict) else data

    def describe(self, level: int) -> str:
        return (self.l0, self.l1, self.l2)[level]


class Examples(_Strict):
    """Sentences in the rubric's own words that do, and do not, earn a criterion."""

    credit: tuple[Annotated[str, Field(min_length=8)], ...] = ()
    no_credit: tuple[Annotated[str, Field(min_length=8)], ...] = ()

    @model_validator(mode="after")
    def _not_both(self) -> Examples:
        both = set(self.credit) & set(self.no_credit)
        if both:
            raise ValueError(f"listed under both credit and no_credit: {sorted(both)}")
        return self


class Criterion(_Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: str = Field(min_length=3)
    weight: float = Field(gt=0, le=10)
    levels: Levels
    tip: str = Field(min_length=5)
    follow_up: str = Field(min_length=5)
    # Deeper probes on the same criterion once `follow_up` was asked (staff-level mocks).
    push_backs: tuple[Annotated[str, Field(min_length=5)], ...] = ()
    # The offline grader: specific cues (ids from _cues.yaml or the file's own `cues:`),
    # and generic mentions that earn level 1 at most.
    cues: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    level2: int = Field(default=2, ge=1, le=6)
    detector: Literal["cues", "star"] = "cues"
    # Criteria that are stages of one process: an answer that tells two of them as one step
    # after another ("shadow for a week, then a 5% canary") meets this one at level 1.
    orders: tuple[str, ...] = ()
    # An analogy earns it: a claim told as a figure of speech counts for this criterion alone.
    figurative: bool = False
    # Teach the learned grader: `deploy-drill grader train` reads these with the corpus.
    examples: Examples = Examples()
    # Spaced review: short micro-drills aimed at this criterion alone, one of them sent by DM
    # when the criterion is due for a person (`follow_up` when there are none).
    review_prompts: tuple[Annotated[str, Field(min_length=10, max_length=300)], ...] = ()

    @model_validator(mode="after")
    def _needs_signals(self) -> Criterion:
        if self.detector == "cues" and not self.cues:
            raise ValueError("a cue-detected criterion needs at least one cue in `cues`")
        return self

    @model_validator(mode="after")
    def _distinct_review_prompts(self) -> Criterion:
        repeated = {p for p in self.review_prompts if self.review_prompts.count(p) > 1}
        if repeated:
            raise ValueError(f"review_prompts repeat: {sorted(repeated)}")
        return self

    def review_questions(self) -> tuple[str, ...]:
        """The micro-drills a spaced review may ask: the review prompts, else the follow-up."""
        return self.review_prompts or (self.follow_up,)


class Detect(_Strict):
    """How the offline grader recognises a common mistake."""

    kind: Literal["tool_pile", "missing", "only", "leads_with"]
    criteria: tuple[str, ...] = ()  # missing: every one of these criteria at level 0
    cues: tuple[str, ...] = ()  # missing: none present; leads_with: the opening cues
    present: tuple[str, ...] = ()  # only: one of these present …
    absent: tuple[str, ...] = ()  # … and none of these
    unless: tuple[str, ...] = ()  # leads_with: unless these came first
    # missing: only once the answer covers one of these ("lists causes but never says how
    # to confirm which one": no causes, nothing to confirm)
    given: tuple[str, ...] = ()
    # only: not once one of these criteria is met in full ("reports a metric without comparing
    # it with production" is answered by an answer that compares them, in any words)
    covered_by: tuple[str, ...] = ()


class Mistake(_Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    name: str = Field(min_length=3)
    looks_like: str = Field(min_length=5)
    fix: str = Field(min_length=5)
    penalty: int = Field(default=5, ge=0, le=30)
    detect: Detect


class TargetWords(_Strict):
    short: int = Field(gt=10, le=400, description="words in a 30-second answer")
    long: int = Field(gt=30, le=900, description="words in a 90-second answer")

    @model_validator(mode="after")
    def _ordered(self) -> TargetWords:
        if self.long <= self.short:
            raise ValueError("`long` must be more words than `short`")
        return self


class Question(_Strict):
    id: Annotated[str, Field(pattern=SLUG)]
    version: str = Field(min_length=1)
    title: str = Field(min_length=5)
    prompt: str = Field(min_length=10)
    topic: Annotated[str, Field(pattern=SLUG)]
    difficulty: Literal["intro", "core", "advanced"]
    order: int = Field(default=100, description="where the question sits in the bank (lower first)")
    seniority: tuple[Seniority, ...] = Field(min_length=1)
    answer_seconds: Literal[30, 90, 180, 300] = 90
    target_words: TargetWords
    hints: tuple[str, ...] = Field(min_length=1)
    criteria: tuple[Criterion, ...] = Field(min_length=2)
    mistakes: tuple[Mistake, ...] = ()
    model_answer_30s: str = Field(min_length=40)
    model_answer_90s: str = Field(min_length=80)
    cues: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    subject: tuple[str, ...] = Field(
        default=(),
        description="cues naming what the question is about (an ML model, an LLM); an answer "
        "that names none of them is about something else, and its score is capped at 20",
    )
    # Per-seniority weight overrides: {senior: {criterion_id: weight}}.
    level_weights: dict[Seniority, dict[str, float]] = Field(default_factory=dict)

    @field_validator("prompt", "model_answer_30s", "model_answer_90s")
    @classmethod
    def _unwrap(cls, text: str) -> str:
        # Authors hard-wrap long text in YAML block scalars; keep paragraphs, drop the wraps.
        paragraphs = re.split(r"\n\s*\n", text.strip())
        return "\n\n".join(" ".join(p.split()) for p in paragraphs)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError(
                f"criterion ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"
            )
        mids = [m.id for m in self.mistakes]
        if len(set(mids)) != len(mids):
            raise ValueError("mistake ids repeat")
        for m in self.mistakes:
            unknown = set(m.detect.criteria + m.detect.given + m.detect.covered_by) - set(ids)
            if unknown:
                raise ValueError(f"mistake {m.id} names unknown criteria {sorted(unknown)}")
        for c in self.criteria:
            unknown = set(c.orders) - set(ids) | ({c.id} & set(c.orders))
            if unknown:
                raise ValueError(
                    f"criterion {c.id} orders {sorted(unknown)}: not other criteria of the question"
                )
        for level, weights in self.level_weights.items():
            unknown = set(weights) - set(ids)
            if unknown:
                raise ValueError(f"level_weights.{level} names unknown criteria {sorted(unknown)}")
        return self

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def weight(self, criterion: Criterion, seniority: Seniority | None = None) -> float:
        if seniority is not None:
            return self.level_weights.get(seniority, {}).get(criterion.id, criterion.weight)
        return criterion.weight

    def cue_ids(self) -> set[str]:
        used: set[str] = set()
        for c in self.criteria:
            used.update(c.cues, c.mentions)
        for m in self.mistakes:
            used.update(m.detect.cues, m.detect.present, m.detect.absent, m.detect.unless)
        return used


@dataclass(frozen=True)
class QuestionBank:
    """The loaded questions plus the shared cue vocabulary the offline grader uses."""

    questions: tuple[Question, ...]
    cues: Mapping[str, tuple[str, ...]]
    source: Path

    def get(self, question_id: str) -> Question | None:
        for q in self.questions:
            if q.id == question_id:
                return q
        return None

    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def find(self, text: str) -> Question | None:
        """A question by exact id or topic, else the shortest id containing the text."""
        needle = text.strip().lower()
        if not needle:
            return None
        for q in self.questions:
            if needle in (q.id, q.topic):
                return q
        partial = [q for q in self.questions if needle in q.id or needle in q.topic]
        return min(partial, key=lambda q: (len(q.id), q.id)) if partial else None

    def cue_terms(self, question: Question) -> dict[str, tuple[str, ...]]:
        merged = dict(self.cues)
        merged.update(question.cues)
        return merged


# --- loading -----------------------------------------------------------------


# libyaml's loader when present: rubric files are parsed twice (values, then line marks).
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_lines(text: str) -> yaml.Node | None:
    """The node tree, which remembers where every mapping key and value starts."""
    return yaml.compose(text, Loader=_SAFE)


def _line_of(node: yaml.Node | None, loc: Iterable[int | str]) -> int:
    """The 1-based line of the YAML node at a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, None, [f"{path}:1: (file): cannot read: {exc}"]
    try:
        return yaml.load(text, Loader=_SAFE), _compose_lines(text), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return None, None, [f"{path}:{line}: (yaml): {reason}"]


def _check_file(
    path: Path, known_cues: Mapping[str, tuple[str, ...]]
) -> tuple[Question | None, list[str]]:
    data, node, problems = _read_yaml(path)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [f"{path}:1: (file): expected a mapping of question fields"]
    try:
        question = Question.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = tuple(err["loc"])
            # Model-level validators report at the object; name the object.
            problems.append(f"{path}:{_line_of(node, where)}: {_field(where)}: {err['msg']}")
        return None, problems
    if question.id != path.stem:
        problems.append(
            f"{path}:{_line_of(node, ['id'])}: id: must match the file name '{path.stem}'"
        )
    vocabulary = {**known_cues, **question.cues}
    for i, crit in enumerate(question.criteria):
        for key in ("cues", "mentions"):
            for cue in getattr(crit, key):
                if cue not in vocabulary:
                    loc: list[int | str] = ["criteria", i, key]
                    problems.append(
                        f"{path}:{_line_of(node, loc)}: {_field(loc)}: unknown cue '{cue}' "
                        f"(define it in {CUES_FILE} or the file's `cues:`)"
                    )
    for i, mistake in enumerate(question.mistakes):
        d = mistake.detect
        for cue in (*d.cues, *d.present, *d.absent, *d.unless):
            if cue not in vocabulary:
                loc = ["mistakes", i, "detect"]
                problems.append(f"{path}:{_line_of(node, loc)}: {_field(loc)}: unknown cue '{cue}'")
    for cue in question.subject:
        if cue not in vocabulary:
            problems.append(f"{path}:{_line_of(node, ['subject'])}: subject: unknown cue '{cue}'")
    return (None if problems else question), problems


def _check_cues(path: Path) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    data, node, problems = _read_yaml(path)
    if problems:
        return {}, problems
    cues: dict[str, tuple[str, ...]] = {}
    if not isinstance(data, dict):
        return {}, [f"{path}:1: (file): expected a mapping of cue id to a list of terms"]
    for key, terms in data.items():
        line = _line_of(node, [key])
        if not isinstance(key, str) or not re.match(SLUG, key):
            problems.append(f"{path}:{line}: {key}: cue ids are lowercase slugs")
        elif (
            not isinstance(terms, list)
            or not terms
            or not all(isinstance(t, str) and t.strip() for t in terms)
        ):
            problems.append(f"{path}:{line}: {key}: expected a non-empty list of terms")
        else:
            cues[key] = tuple(t.strip().lower() for t in terms)
    return cues, problems


def check_dir(directory: Path) -> tuple[QuestionBank | None, list[str]]:
    """Validate every rubric file; return the bank (if all are good) and every problem found."""
    if not directory.is_dir():
        return None, [f"{directory}:1: (dir): rubric directory not found"]
    problems: list[str] = []
    cues: dict[str, tuple[str, ...]] = {}
    cues_path = directory / CUES_FILE
    if cues_path.exists():
        cues, problems = _check_cues(cues_path)
    questions: list[Question] = []
    files = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        problems.append(f"{directory}:1: (dir): no question files (*.yaml)")
    for path in files:
        question, found = _check_file(path, cues)
        problems.extend(found)
        if question:
            questions.append(question)
    if problems:
        return None, problems
    questions.sort(key=lambda q: (q.order, q.id))
    return QuestionBank(questions=tuple(questions), cues=cues, source=directory), []


def load_bank(directory: Path) -> QuestionBank:
    """Load the bank or raise RubricError listing every problem (start-up fails loudly)."""
    bank, problems = check_dir(directory)
    if bank is None:
        raise RubricError(problems)
    return bank


def json_schema() -> dict[str, Any]:
    """JSON Schema for question files, for editors (yaml-language-server)."""
    return Question.model_json_schema(by_alias=True)
