"""The offline rubric grader: deterministic, explainable, no downloads.

For every criterion it finds the cues the rubric names (a shared vocabulary in
``rubrics/_cues.yaml`` plus the question's own), skips cues the answer denies,
and sets a level with the sentence that earned it. It then checks the rubric's
common mistakes and the cheap tricks (a pile of buzzwords, instructions to the
grader, the same sentence pasted ten times) before the shared scoring rule
turns levels into a score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.grading.grade import (
    MAX_LEVEL,
    CriterionResult,
    Grade,
    Length,
    MistakeResult,
    band_for,
    compute_score,
)
from bot.grading.star import StarParts, find_star
from bot.grading.text import Answer, Hit, Vocabulary, compile_cues, find_hits, read_answer
from bot.questions import Criterion, Mistake, Question, QuestionBank, Seniority

QUOTE_CHARS = 280
SALAD_CAP = 25
TOOLS_CUE = "tools"
REASONING_CUE = "reasoning"

_STOPWORDS = frozenset(
    """
    a an the and or but so if then than that this these those it its we i our my you your
    they their he she to of in on at by for with from into onto as is are was were be been
    being have has had do does did will would can could should may might must not no when
    while because before after during until once also just only very really what which who
    how why where there here about over under up down out all any each every some most more
    less same other such both either neither nor too
    """.split()
)

_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instruction|instructions|prompt|rules|rubric|"
    r"above|previous|prior)\b"
    r"|\b(give|award|assign|grade|score|rate|mark)\b.{0,30}\b(100|full marks|full score|"
    r"perfect|maximum|max score|top score|strong|an a)\b"
    r"|\byou are (now )?(a|an|the|my)\b.{0,30}\b(grader|assistant|ai|model|bot)\b"
    r"|\bsystem prompt\b|\bnew instructions\b|\bas an ai\b|\bscore\s*[:=]\s*\d+"
    r"|\b(this|my) answer (is|deserves) (perfect|excellent|strong|100)\b"
)
_EMOJI_ONLY = re.compile(r"^(?:\s|:[a-z0-9_+\-']+:|[^\w\s])*$", re.UNICODE)


@dataclass(frozen=True)
class Prepared:
    """What the grader needs per question, compiled once."""

    question: Question
    vocab: Vocabulary
    cues: Mapping[str, re.Pattern[str]]
    tools: tuple[re.Pattern[str], ...]


def not_an_answer(text: str) -> str | None:
    """Why a reply cannot be graded (`empty`, `emoji_only`, `too_short`), or None if it can."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _EMOJI_ONLY.match(stripped):
        return "emoji_only"
    words = re.findall(r"[^\W\d_]{2,}", re.sub(r":[a-z0-9_+\-']+:|<[^>]*>", " ", stripped))
    if len(words) < 3:
        return "too_short"
    return None


class RubricGrader:
    """The default grader. Stateless apart from a per-question compile cache."""

    name = "rubric"

    def __init__(self, bank: QuestionBank) -> None:
        self._bank = bank
        self._prepare = lru_cache(maxsize=256)(self._prepare_uncached)

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        return self.grade_sync(question, answer, seniority=seniority)

    def grade_sync(
        self, question: Question, answer: str, *, seniority: Seniority | None = None
    ) -> Grade:
        prep = self._prepare(question.id, question.version)
        return _grade(prep, answer, seniority)

    def _prepare_uncached(self, question_id: str, _version: str) -> Prepared:
        question = self._bank.get(question_id)
        if question is None:
            raise KeyError(question_id)
        terms = self._bank.cue_terms(question)
        used = question.cue_ids() | {REASONING_CUE}
        cues = compile_cues({k: v for k, v in terms.items() if k in used})
        tools = tuple(compile_cues({t: (t,) for t in terms.get(TOOLS_CUE, ())}).values())
        vocab_terms = [t for cue in used for t in terms.get(cue, ())]
        vocab_terms += list(terms.get(TOOLS_CUE, ()))
        vocab_terms += [_inflect(t) for t in vocab_terms if t.endswith("*")]
        return Prepared(question, Vocabulary.from_terms(vocab_terms), cues, tools)


def _inflect(term: str) -> str:
    stem = term.rstrip("*").split()[-1] if term.rstrip("*").split() else ""
    if len(stem) < 4:
        return ""
    return " ".join(stem + end for end in ("ing", "ed", "ion", "ation", "ment", "s"))


def _grade(prep: Prepared, text: str, seniority: Seniority | None) -> Grade:
    question = prep.question
    answer = read_answer(text, prep.vocab)
    flags: list[str] = []
    notes: list[str] = []

    injected = {s.index for s in answer.sentences if _INJECTION.search(s.norm)}
    if injected:
        flags.append("injection")
        notes.append("Instructions addressed to the grader are ignored; only the answer counts.")
    kept = [s for s in answer.sentences if s.index not in injected]
    scoped = Answer(answer.raw_chars, answer.truncated, tuple(kept), answer.words, answer.repeated)
    all_hits = find_hits(scoped, prep.cues)
    hits = [h for h in all_hits if not h.denied]
    words = sum(len(s.tokens) for s in kept)

    if answer.truncated:
        flags.append("truncated")
        notes.append(f"Only the first {len(text[:40_000]):,} characters were graded.")
    if answer.repeated >= 2:
        flags.append("repeated")
        notes.append("Repeated sentences count once.")
    salad = _is_salad(kept)
    if salad:
        flags.append("keyword_salad")
        notes.append("This reads as a list of keywords: say what you do, in what order, and why.")

    star = find_star(kept)
    criteria = tuple(
        _judge(question, c, hits, scoped, star, salad, seniority) for c in question.criteria
    )
    # Mistakes of omission only make sense for a real attempt at the question;
    # an answer that talks about the topic only to deny it still counts as one.
    on_topic = any(c.level > 0 for c in criteria) or any(h.denied for h in all_hits)
    attempted = words >= 12 and on_topic
    if not any(c.level > 0 for c in criteria):
        flags.append("off_topic")
    mistakes = tuple(
        m
        for m in (
            _check_mistake(prep, mk, hits, scoped, criteria, attempted, salad)
            for mk in question.mistakes
        )
        if m is not None
    )
    score = compute_score(criteria, mistakes, cap=SALAD_CAP if salad else 100)
    return Grade(
        question_id=question.id,
        rubric_version=question.version,
        grader="rubric",
        score=score,
        band=band_for(score),
        criteria=criteria,
        mistakes=mistakes,
        length=_length(question, answer.words),
        model_answer_30s=question.model_answer_30s.strip(),
        seniority=seniority,
        flags=tuple(flags),
        notes=tuple(notes),
    )


def _quote(answer: Answer, index: int) -> str:
    for s in answer.sentences:
        if s.index == index:
            text = s.display
            return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
    return ""


def _judge(
    question: Question,
    criterion: Criterion,
    hits: list[Hit],
    answer: Answer,
    star: StarParts,
    salad: bool,
    seniority: Seniority | None,
) -> CriterionResult:
    weight = question.weight(criterion, seniority)
    if criterion.detector == "star":
        level, where = star.level, star.evidence
    else:
        specific = [h for h in hits if h.cue in criterion.cues]
        generic = [h for h in hits if h.cue in criterion.mentions]
        distinct = {h.cue for h in specific}
        if len(distinct) >= criterion.level2:
            level = 2
        elif distinct or generic:
            level = 1
        else:
            level = 0
        where = _best_sentence(specific or generic)
    if salad:
        level = min(level, 1)
    return CriterionResult(
        id=criterion.id,
        name=criterion.name,
        level=level,
        max_level=MAX_LEVEL,
        evidence=_quote(answer, where) if level and where is not None else None,
        tip=criterion.tip.strip(),
        weight=weight,
    )


def _best_sentence(hits: list[Hit]) -> int | None:
    """The sentence with the most distinct cues (the earliest on a tie)."""
    per: dict[int, set[str]] = {}
    for h in hits:
        per.setdefault(h.sentence, set()).add(h.cue)
    if not per:
        return None
    return min(per, key=lambda i: (-len(per[i]), i))


def _is_salad(sentences: list) -> bool:  # type: ignore[type-arg]
    tokens = [t for s in sentences for t in s.tokens]
    if len(tokens) < 6:
        return False
    function_words = sum(1 for t in tokens if t in _STOPWORDS)
    return function_words / len(tokens) < 0.12


def _check_mistake(
    prep: Prepared,
    mistake: Mistake,
    hits: list[Hit],
    answer: Answer,
    criteria: tuple[CriterionResult, ...],
    attempted: bool,
    salad: bool,
) -> MistakeResult | None:
    detect = mistake.detect
    present = {h.cue for h in hits}
    evidence: str | None = None
    found = False
    if detect.kind == "tool_pile":
        found, evidence = _tool_pile(prep, answer, present, salad)
    elif not attempted:
        return None
    elif detect.kind == "missing":
        levels = {c.id: c.level for c in criteria}
        found = all(levels[c] == 0 for c in detect.criteria) and not (present & set(detect.cues))
    elif detect.kind == "only":
        found = bool(present & set(detect.present)) and not (present & set(detect.absent))
        if found:
            where = _best_sentence([h for h in hits if h.cue in detect.present])
            evidence = _quote(answer, where) if where is not None else None
    elif detect.kind == "leads_with":
        ordered = sorted(hits, key=lambda h: (h.sentence, h.start))
        opening = ordered[0].sentence if ordered else None
        in_opening = {h.cue for h in ordered if h.sentence == opening}
        found = bool(in_opening & set(detect.cues)) and not (in_opening & set(detect.unless))
        if found and opening is not None:
            evidence = _quote(answer, opening)
    if not found:
        return None
    return MistakeResult(
        id=mistake.id,
        name=mistake.name,
        evidence=evidence,
        fix=mistake.fix.strip(),
        penalty=mistake.penalty,
    )


def _tool_pile(
    prep: Prepared, answer: Answer, present: set[str], salad: bool
) -> tuple[bool, str | None]:
    """Three or more tools named with no reason given for any of them."""
    named: dict[int, int] = {}
    distinct = 0
    for pattern in prep.tools:
        where = next((s.index for s in answer.sentences if pattern.search(s.norm)), None)
        if where is not None:
            distinct += 1
            named[where] = named.get(where, 0) + 1
    if distinct < 3 or (REASONING_CUE in present and not salad):
        return False, None
    busiest = max(named, key=lambda i: (named[i], -i))
    return True, _quote(answer, busiest)


def _length(question: Question, words: int) -> Length:
    seconds = round(words / 2.5)
    target = question.answer_seconds
    target_words = question.target_words.short if target == 30 else question.target_words.long
    note = None
    if words > 1.8 * target_words:
        note = f"far too long for a {target}-second answer (~{seconds} s spoken): cut to the decisions that matter"
    elif 0 < words < 0.5 * question.target_words.short:
        note = f"too short for a {target}-second answer: walk through the steps"
    return Length(words=words, spoken_seconds=seconds, target_seconds=target, note=note)
