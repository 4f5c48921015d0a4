"""The offline rubric grader: deterministic, explainable, no downloads.

For every criterion it finds the cues the rubric names (a shared vocabulary in
``rubrics/_cues.yaml`` plus the question's own), skips cues the answer denies,
and sets a level with the sentence that earned it. It then checks the rubric's
common mistakes and the cheap tricks (a pile of buzzwords, instructions to the
grader, the same sentence pasted ten times) before the shared scoring rule
turns levels into a score.

A cue's terms may include another cue by reference: ``"@drift"`` stands for
every term of the `drift` cue, so a question can group concepts ("model health
= drift, prediction distribution, business KPI, late labels") without copying
term lists.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.errors import RubricError
from bot.grading.claim_model import ClaimModel, load_model
from bot.grading.claim_reader import TOOL_PREFIX, claims_of, read_text
from bot.grading.cues import CueIndex
from bot.grading.grade import (
    MAX_LEVEL,
    Concurrency,
    CriterionResult,
    Grade,
    Graded,
    GradeJob,
    Length,
    MistakeResult,
    band_for,
    compute_score,
    grade_each,
)
from bot.grading.judging import judge_claims, quote
from bot.grading.star import StarParts, find_star, is_story_opening
from bot.grading.text import Answer, Hit, Sentence, Vocabulary
from bot.questions import Criterion, Mistake, Question, QuestionBank, Seniority

SALAD_CAP = 25
TOOLS_CUE = "tools"
REASONING_CUE = "reasoning"
MIN_ATTEMPT_WORDS = 6  # fewer words than this is not an attempt to judge for omissions
TOPIC_OVERLAP = 3  # distinct topic words shared with the question to count as on topic
# Longer answers take several milliseconds to grade: they are graded in a thread, so the
# event loop goes on acknowledging Slack meanwhile (it gets the GIL back every few ms).
THREAD_ABOVE_CHARS = 3000

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
# Words too common in any answer to show it is about the question.
_GENERIC = _STOPWORDS | frozenset(
    """
    about answer answers better doing during every first going good great important really
    something thing things think using would could should always never usually often maybe
    probably actually basically honestly question questions seconds minutes words short
    example examples which where there their these those other another around whole makes
    make made take takes took want wants need needs needed work works worked worth thanks
    data fast fits them then than they what when with your yours ours mine much many well
    even still very just also only give gives given like likes said says tell told know
    knew used uses into onto upon over under between within without after before along
    """.split()
)

# Only searched, never asked for groups: the groups are non-capturing, which is faster.
_GRADER = (
    r"(?:grader|grading bot|grading system|grading model|evaluator|judge|examiner|marker|scorer)"
)
_TOP = (
    r"(?:100|full marks|full score|full points|perfect score|a perfect score|perfect marks|maximum marks|"
    r"max score|maximum score|top score|top marks|top band|the top band|strong band|the strong band|"
    r"a strong band|an a|an a\+)"
)
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|"
    r"rubrics?|grading|guidelines|system message|(?:all|any|your|the|previous|prior|above|earlier) "
    r"(?:rules|criteria)(?! engine| based|-based))\b"
    r"|\b(?:ignore|disregard|forget)\b (?:everything|all|anything) (?:above|before|said|previous|prior)"
    rf"|\b(?:give|award|assign)\b (?:me|this answer|this response|this|my answer|the candidate|the answer|it) "
    rf"(?:a |an )?(?:score of |grade of |mark of )?{_TOP}(?![a-z0-9])"
    r"|\b(?:give|award|assign)\b (?:a |an )?(?:100|full|perfect|maximum|top) (?:points|marks|score|grade)\b"
    r"|\b(?:grade|score|rate|mark)\b (?:this|my|the) (?:answer|response|candidate|submission)\b"
    r"[^.!?\n]{0,30}\b(?:100|strong|perfect|excellent|full|maximum|highest|top)\b"
    r"|\b(?:100|10)\s*/\s*(?:100|10)\b|\b(?:100|full|maximum|max) (?:points|marks)\b"
    r"|\bscore\s*(?:=|:|of)\s*100\b"
    r"|\bset (?:the |my |this )?(?:score|band|grade|mark) (?:to|=|at|as) (?:100|strong|perfect|max|maximum|full|top)"
    r"|\byou are (?:now )?(?:a|an|the|my)\b[^.!?\n]{0,30}\b(?:grader|grading|assistant|language model|"
    r"llm|bot|evaluator|judge|examiner)\b"
    rf"|\bas (?:a|an|the) {_GRADER}\b"
    r"|\bsystem prompt\b|\bnew instructions\b|^\s*(?:system|assistant)\s*:"
    r"|\bas an ai(?: language model)?\b(?! (?:engineer|researcher|team|company|product|platform|lead|"
    r"specialist|practitioner|developer|architect|scientist|consultant|startup|firm))"
    rf"|\b(?:{_GRADER}|llm|ai|bot)\b[^.!?\n]{{0,40}}\b(?:must|should|will|please|has to|needs to)\b"
    r"[^.!?\n]{0,40}\b(?:give|award|score|grade|rate|mark|pass|output|return)\b[^.!?\n]{0,25}"
    r"\b(?:this answer|this response|me|the candidate|100|full marks|strong|perfect|top)\b"
    r"|\b(?:this|my) (?:answer|response) (?:is|deserves) (?:a )?(?:perfect|excellent|strong|100|full)"
    r"|\boutput (?:a |the )?(?:strong|perfect|100|top) (?:band|score|grade)\b"
    r"|\b(?:already )?passed this (?:section|question|interview)\b"
    r"|\b(?:this|my) (?:answer|response|reply)[^.!?\n]{0,20}\b(?:meets|satisfies|covers|fulfils|fulfills|hits)"
    r" (?:all|every|each) (?:of )?(?:the )?(?:rubric |grading )?(?:criteria|criterion|requirements|points)\b"
    r"|\b(?:meets|satisfies) (?:all|every) (?:of )?(?:the )?(?:rubric|grading) (?:criteria|criterion|requirements)\b"
    r"|\[/?inst\]|<\|?(?:system|im_start)"
)
# Each alternative above needs one of these words; sentences without any skip the regex.
_INJECTION_WORDS = frozenset(
    """
    ignore disregard forget override bypass give award assign grade grader grading 100 10/10
    100/100 points marks system assistant instructions instruction prompt rubric rubrics
    evaluator judge examiner marker scorer llm ai bot band passed candidate submission
    criteria criterion inst im_start
    """.split()
)
_SELF = frozenset("this my".split())
_SCORE_WORDS = frozenset("score band grade mark".split())


def _may_inject(tokens: Sequence[str]) -> bool:
    """A cheap test that a sentence could be addressed to the grader."""
    words = set(tokens)
    if not _INJECTION_WORDS.isdisjoint(words):
        return True
    if ("answer" in words or "response" in words) and not _SELF.isdisjoint(words):
        return True
    return "set" in words and not _SCORE_WORDS.isdisjoint(words)


_TOPIC_WORD = re.compile(r"[a-z][a-z0-9]{3,}")


@dataclass(frozen=True)
class Prepared:
    """What the grader needs per question, compiled once."""

    question: Question
    vocab: Vocabulary
    index: CueIndex  # the question's cues plus one `tool:<name>` cue per known tool
    topic: frozenset[str]  # stems of the words the question and its rubric use
    asked: frozenset[str]  # stems of the question as put to the candidate (title, prompt, hints)


class RubricGrader:
    """The default grader. Stateless apart from a per-question compile cache."""

    name = "rubric"
    concurrency: Concurrency = "inline"  # no I/O to overlap: one answer at a time
    passes = 1

    def __init__(self, bank: QuestionBank, model: ClaimModel | None = None) -> None:
        self._bank = bank
        self._model = model if model is not None else load_model()
        self._prepare = lru_cache(maxsize=256)(self._prepare_uncached)

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        if len(answer) > THREAD_ABOVE_CHARS:
            return await asyncio.to_thread(self.grade_sync, question, answer, seniority=seniority)
        return self.grade_sync(question, answer, seniority=seniority)

    def grade_sync(
        self, question: Question, answer: str, *, seniority: Seniority | None = None
    ) -> Grade:
        prep = self._prepare(question.id, question.version)
        return _grade(prep, answer, seniority, self._model)

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        return await grade_each(self, jobs)

    async def warm(self) -> None:
        await asyncio.to_thread(self.warm_sync)

    async def aclose(self) -> None:
        return None

    def warm_sync(self) -> None:
        """Compile every question's cues now (about 0.2 s a question), not on a first answer."""
        for question in self._bank.questions:
            self._prepare(question.id, question.version)

    def _prepare_uncached(self, question_id: str, _version: str) -> Prepared:
        question = self._bank.get(question_id)
        if question is None:
            raise KeyError(question_id)
        return prepare_question(self._bank, question)


def prepare_question(bank: QuestionBank, question: Question) -> Prepared:
    """Compile a question's cues, spelling vocabulary and topic words."""
    terms = expand_references(bank.cue_terms(question))
    used = question.cue_ids() | {REASONING_CUE}
    tool_terms = terms.get(TOOLS_CUE, ())
    indexed: dict[str, tuple[str, ...]] = {k: v for k, v in terms.items() if k in used}
    indexed.update({TOOL_PREFIX + t: (t,) for t in tool_terms})
    vocab_terms = [t for cue in used for t in terms.get(cue, ())]
    vocab_terms += list(tool_terms)
    vocab_terms += [_inflect(t) for t in vocab_terms if t.endswith("*")]
    return Prepared(
        question,
        Vocabulary.from_terms(vocab_terms),
        CueIndex(indexed),
        _topic_words(question),
        _stems([question.title, question.prompt, *question.hints]),
    )


def expand_references(
    terms: Mapping[str, Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """Replace `@cue` terms with that cue's terms (recursively); unknown or circular is an error."""
    out: dict[str, tuple[str, ...]] = {}

    def expand(cue: str, trail: tuple[str, ...]) -> tuple[str, ...]:
        if cue in out:
            return out[cue]
        if cue in trail:
            raise RubricError([f"cue '{cue}' refers to itself through {' → '.join(trail)}"])
        if cue not in terms:
            raise RubricError([f"cue '{trail[-1]}' refers to unknown cue '@{cue}'"])
        result: list[str] = []
        for term in terms[cue]:
            if term.startswith("@"):
                result.extend(expand(term[1:].strip(), (*trail, cue)))
            else:
                result.append(term)
        out[cue] = tuple(dict.fromkeys(result))
        return out[cue]

    for cue in terms:
        expand(cue, ())
    return out


def _inflect(term: str) -> str:
    words = term.rstrip("*").split()
    stem = words[-1] if words else ""
    if len(stem) < 4 or not stem.isalpha():
        return ""
    base = stem[:-1] if stem.endswith("e") else stem
    return " ".join((base + "ing", stem + ("d" if stem.endswith("e") else "ed"), stem + "s"))


def _topic_words(question: Question) -> frozenset[str]:
    """Content words of the question as asked and of what the rubric looks for."""
    parts = [question.title, question.prompt, question.model_answer_30s, *question.hints]
    parts += [c.name for c in question.criteria] + [m.name for m in question.mistakes]
    parts += [m.looks_like for m in question.mistakes]
    return _stems(parts)


def _stems(parts: Sequence[str]) -> frozenset[str]:
    words = _TOPIC_WORD.findall(" ".join(parts).lower())
    return frozenset(_stem(w) for w in words if w not in _GENERIC)


def _stem(word: str) -> str:
    return word[:6]


def _grade(
    prep: Prepared, text: str, seniority: Seniority | None, model: ClaimModel | None = None
) -> Grade:
    question = prep.question
    answer = read_text(text, prep.vocab)
    flags: list[str] = []
    notes: list[str] = []

    injected = {
        s.index
        for s in answer.sentences
        if _may_inject(s.tokens) and _INJECTION.search(s.display.lower())
    }
    if injected:
        flags.append("injection")
        notes.append("Instructions addressed to the grader are ignored; only the answer counts.")
    kept = [s for s in answer.sentences if s.index not in injected]
    scoped = Answer(answer.raw_chars, answer.truncated, tuple(kept), answer.words, answer.repeated)
    found = prep.index.find(scoped)
    all_hits = [h for h in found if not h.cue.startswith(TOOL_PREFIX)]
    hits = [h for h in all_hits if not h.denied]
    tools = [h for h in found if h.cue.startswith(TOOL_PREFIX)]
    words = sum(len(s.tokens) for s in kept)

    if answer.truncated:
        flags.append("truncated")
        notes.append(f"Only the first {len(text[:40_000]):,} characters were graded.")
    if answer.repeated >= 2:
        flags.append("repeated")
        notes.append("Repeated sentences count once.")
    salad = _is_salad(kept, len({h.cue for h in tools}))
    if salad:
        flags.append("keyword_salad")
        notes.append("This reads as a list of keywords: say what you do, in what order, and why.")

    qmodel = model.for_question(question.id, [c.id for c in question.criteria]) if model else None
    if model is not None and qmodel is not None:
        claims = claims_of(scoped, found)
        judged = judge_claims(question, qmodel, model.stance, model.index, claims, seniority)
        asserted = {c.sentence.index for c in judged.asserted}
        # What is only imagined, asked or waved away names no cue for the mistakes either.
        hits = [h for h in hits if h.sentence in asserted]
        criteria = tuple(_with_level(c, 0) if salad else c for c in judged.criteria)
    else:
        by_cue: dict[str, list[Hit]] = {}
        for h in hits:
            by_cue.setdefault(h.cue, []).append(h)
        star = find_star(kept)
        criteria = tuple(
            _judge(question, c, by_cue, scoped, star, salad, seniority) for c in question.criteria
        )
    # Mistakes of omission only make sense for a real attempt at the question: an
    # answer about the topic, even one that mentions it only to deny it. A bare
    # list of keywords is judged as a tool pile, not as a process with gaps.
    met = any(c.level > 0 for c in criteria)
    on_topic = (
        met
        or any(h.denied for h in all_hits)
        or (_topic_overlap(prep, kept) >= TOPIC_OVERLAP and not _echoes_question(prep, kept))
    )
    attempted = words >= MIN_ATTEMPT_WORDS and on_topic and not salad
    if not met:
        flags.append("off_topic")
    present = {h.cue for h in hits}
    mistakes = tuple(
        m
        for m in (
            _check_mistake(mk, hits, present, tools, scoped, criteria, attempted, salad)
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


def _with_level(result: CriterionResult, level: int) -> CriterionResult:
    return CriterionResult(
        result.id,
        result.name,
        level,
        result.max_level,
        None if level == 0 else result.evidence,
        result.tip,
        result.weight,
    )


def _content_stems(sentences: Sequence[Sentence]) -> list[str]:
    return [
        _stem(t)
        for s in sentences
        for t in s.tokens
        if len(t) >= 4 and t.isalpha() and t not in _GENERIC
    ]


def _topic_overlap(prep: Prepared, sentences: Sequence[Sentence]) -> int:
    return len(set(_content_stems(sentences)) & prep.topic)


def _echoes_question(prep: Prepared, sentences: Sequence[Sentence]) -> bool:
    """The reply mostly restates the question ("How do you deploy a model? The steps …")."""
    stems = _content_stems(sentences)
    return bool(stems) and sum(1 for w in stems if w in prep.asked) >= 0.7 * len(stems)


def _quote(answer: Answer, index: int) -> str:
    for s in answer.sentences:
        if s.index == index:
            return quote(s.display)
    return ""


def _judge(
    question: Question,
    criterion: Criterion,
    by_cue: Mapping[str, list[Hit]],
    answer: Answer,
    star: StarParts,
    salad: bool,
    seniority: Seniority | None,
) -> CriterionResult:
    weight = question.weight(criterion, seniority)
    if criterion.detector == "star":
        level, where = star.level, star.evidence
    else:
        specific = [h for cue in criterion.cues for h in by_cue.get(cue, ())]
        generic = [h for cue in criterion.mentions for h in by_cue.get(cue, ())]
        distinct = {h.cue for h in specific}
        if len(distinct) >= criterion.level2:
            level = 2
        elif distinct or generic:
            level = 1
        else:
            level = 0
        where = _best_sentence(specific or generic)
    if salad:
        # A list of words names topics; it does not describe doing any of them.
        level = 0
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


def _is_salad(sentences: Sequence[Sentence], tools: int = 0) -> bool:
    """Mostly names and nouns: almost no function words hold the words together.

    A short reply that is mostly tool names ("ship it: docker, k8s, mlflow, grafana")
    counts too, even with a word or two of glue.
    """
    tokens = [t for s in sentences for t in s.tokens]
    if len(tokens) < 6:
        return False
    ratio = sum(map(_STOPWORDS.__contains__, tokens)) / len(tokens)
    return ratio < 0.12 or (tools >= 3 and tools >= 0.35 * len(tokens) and ratio < 0.2)


def _check_mistake(
    mistake: Mistake,
    hits: list[Hit],
    present: set[str],  # the cues of `hits`
    tools: list[Hit],
    answer: Answer,
    criteria: tuple[CriterionResult, ...],
    attempted: bool,
    salad: bool,
) -> MistakeResult | None:
    detect = mistake.detect
    evidence: str | None = None
    found = False
    if detect.kind == "tool_pile":
        found, evidence = _tool_pile(tools, answer, present, salad)
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
        found, evidence = _leads_with(answer, hits, detect.cues, detect.unless)
    if not found:
        return None
    return MistakeResult(
        id=mistake.id,
        name=mistake.name,
        evidence=evidence,
        fix=mistake.fix.strip(),
        penalty=mistake.penalty,
    )


def _leads_with(
    answer: Answer, hits: list[Hit], cues: Sequence[str], unless: Sequence[str]
) -> tuple[bool, str | None]:
    """The opening (the first sentence with any cue) names these cues and none of `unless`.

    Opening with a story ("at my last job we had a churn model on a nightly batch
    job …") frames the work, not the infrastructure, so it does not count.
    """
    ordered = sorted(hits, key=lambda h: (h.sentence, h.start))
    if not ordered:
        return False, None
    opening = ordered[0].sentence
    in_opening = {h.cue for h in ordered if h.sentence == opening}
    if not (in_opening & set(cues)) or in_opening & set(unless):
        return False, None
    sentence = next((s for s in answer.sentences if s.index == opening), None)
    if sentence is not None and is_story_opening(sentence):
        return False, None
    return True, _quote(answer, opening)


def _tool_pile(
    tools: list[Hit], answer: Answer, present: set[str], salad: bool
) -> tuple[bool, str | None]:
    """Three or more tools named with no reason given for any of them."""
    if REASONING_CUE in present and not salad:
        return False, None
    first: dict[str, int] = {}
    for h in tools:
        first.setdefault(h.cue, h.sentence)
    if len(first) < 3:
        return False, None
    named: dict[int, int] = {}
    for where in first.values():
        named[where] = named.get(where, 0) + 1
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
