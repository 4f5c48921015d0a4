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
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from bot.errors import RubricError
from bot.grading import english
from bot.grading.claim_reader import TOOL_FEATURE, TOOL_PREFIX, claims_of, read_claims, read_text
from bot.grading.claims import config_lines, has_title
from bot.grading.cues import REASONING_CUE, CueIndex
from bot.grading.grade import (
    MAX_LEVEL,
    Concurrency,
    CriterionResult,
    Grade,
    Graded,
    GradeJob,
    Length,
    band_for,
    compute_score,
    grade_each,
)
from bot.grading.injection import INJECTION, may_inject
from bot.grading.judging import judge_claims
from bot.grading.mistakes import best_sentence, check_mistake, is_salad, quote_sentence
from bot.grading.quoting import AsWritten
from bot.grading.star import StarParts, find_star
from bot.grading.text import STOPWORDS, Answer, Hit, Sentence, Vocabulary
from bot.questions import Criterion, Question, QuestionBank, Seniority

if TYPE_CHECKING:
    from bot.grading.claim_model import ClaimModel

SALAD_CAP = 25
OFF_SUBJECT_CAP = 20  # the most an answer that never names its subject (`subject:`) can score
OFF_SUBJECT_WORDS = 50  # … and from this long, it earns nothing: a short one may just say "it"
CONFIG_LINES = 4  # an answer written as a config this long has structure, not a salad's
TOOLS_CUE = "tools"
MIN_ATTEMPT_WORDS = 6  # fewer words than this is not an attempt to judge for omissions
TOPIC_OVERLAP = 3  # distinct topic words shared with the question to count as on topic
# The mean P(off topic) of the claims above which an answer is about something else.
OFF_TOPIC_SHARE = 0.2
ON_TOPIC_HALF = 0.5  # … unless this share of its claims is plainly on topic
# Longer answers take several milliseconds to grade: they are graded in a thread, so the
# event loop goes on acknowledging Slack meanwhile (it gets the GIL back every few ms).
THREAD_ABOVE_CHARS = 3000

# Words too common in any answer to show it is about the question.
_GENERIC = STOPWORDS | frozenset(
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

_TOPIC_WORD = re.compile(r"[a-z][a-z0-9]{3,}")


@dataclass(frozen=True)
class Prepared:
    """What the grader needs per question, compiled once."""

    question: Question
    vocab: Vocabulary
    index: CueIndex  # the question's cues plus one `tool:<name>` cue per known tool
    topic: frozenset[str]  # stems of the words the question and its rubric use
    asked: frozenset[str]  # stems of the question as put to the candidate (title, prompt, hints)
    subject: CueIndex | None  # what any answer to it names (`subject:`), or None to skip the check


class RubricGrader:
    """The default grader. Stateless apart from a per-question compile cache."""

    name = "rubric"
    concurrency: Concurrency = "inline"  # no I/O to overlap: one answer at a time
    passes = 1

    def __init__(self, bank: QuestionBank, model: ClaimModel | None = None) -> None:
        self._bank = bank
        self._given_model = model
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

    @cached_property
    def _model(self) -> ClaimModel | None:
        # Loaded on first use: a process that hands its answers to grading workers never
        # grades, so it never holds numpy and the model.
        from bot.grading.claim_model import load_model

        return self._given_model if self._given_model is not None else load_model()

    async def warm(self) -> None:
        await asyncio.to_thread(self.warm_sync)

    async def aclose(self) -> None:
        return None

    def warm_sync(self) -> None:
        """Load the model and the English word list and compile every question's cues now
        (about 0.2 s a question), not on a first answer."""
        _ = self._model
        english.load()
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
        CueIndex({cue: terms[cue] for cue in question.subject}) if question.subject else None,
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
        if may_inject(s.tokens) and INJECTION.search(s.display.lower())
    }
    if injected:
        flags.append("injection")
        notes.append("Instructions addressed to the grader are ignored; only the answer counts.")
    kept = [s for s in answer.sentences if s.index not in injected]
    scoped = Answer(answer.raw_chars, answer.truncated, tuple(kept), answer.words, answer.repeated)
    found = prep.index.find(scoped)
    # A release of web pages, call scripts or support macros, told in the words of an ML
    # release, never names what the question is about (a model, an LLM): its score is capped.
    # A short one's criteria stand, as a reply that says "deploy it" of the model earns a little.
    names_subject = prep.subject is None or bool(prep.subject.find(scoped))
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
    salad = is_salad(kept, len({h.cue for h in tools})) and config_lines(text) < CONFIG_LINES
    if salad:
        flags.append("keyword_salad")
        notes.append("This reads as a list of keywords: say what you do, in what order, and why.")

    qmodel = model.for_question(question.id, [c.id for c in question.criteria]) if model else None
    if model is not None and qmodel is not None:
        claims = claims_of(scoped, found, titled=has_title(text))
        judged = judge_claims(
            question,
            qmodel,
            model.stance,
            model.index,
            claims,
            seniority,
            # One answer's pieces are re-read for several criteria: read each once.
            lru_cache(maxsize=None)(lambda part: read_claims(part, prep.vocab, prep.index)[2]),
        )
        # What is only imagined, asked or waved away names no cue for the mistakes either;
        # a list of tool names earns nothing, but is still what the answer opens with.
        counted = {c.sentence.index for c in judged.asserted} | {
            c.sentence.index for c in claims if c.certain == "filler" and TOOL_FEATURE in c.cues
        }
        hits = [h for h in hits if h.sentence in counted]
        # A story about a bakery or a wedding told in deployment words is not an answer.
        # … unless half of it is plainly about the question: one odd line in a short answer
        # ("quick rundown of how v4 goes out on Thursday") does not make it off topic.
        off_topic = judged.off_topic >= OFF_TOPIC_SHARE and judged.clearly_on_topic < ON_TOPIC_HALF
        criteria = judged.criteria
    else:
        off_topic = False
        by_cue: dict[str, list[Hit]] = {}
        for h in hits:
            by_cue.setdefault(h.cue, []).append(h)
        star = find_star(kept)
        criteria = tuple(
            _judge(question, c, by_cue, scoped, star, salad, seniority) for c in question.criteria
        )
    # A list of words names topics without doing any of them; a story about something else, or
    # a long text that never names the subject (a web app's release runbook), earns nothing
    # for the words it shares with the question.
    if salad or off_topic or (not names_subject and words >= OFF_SUBJECT_WORDS):
        criteria = tuple(_with_level(c, 0) for c in criteria)
    # Mistakes of omission only make sense for a real attempt at the question: an
    # answer about the topic, even one that mentions it only to deny it. A bare
    # list of keywords is judged as a tool pile, not as a process with gaps.
    met = any(c.level > 0 for c in criteria)
    on_topic = not off_topic and (
        met
        or any(h.denied for h in all_hits)
        or (_topic_overlap(prep, kept) >= TOPIC_OVERLAP and not _echoes_question(prep, kept))
    )
    # An answer that earns nothing and talks to the grader, or never names what the question
    # is about, is a trick, not an attempt with gaps: it has no omissions to list.
    trick = not met and (bool(injected) or not names_subject)
    attempted = words >= MIN_ATTEMPT_WORDS and on_topic and not salad and not trick
    if not met:
        flags.append("off_topic")
    present = {h.cue for h in hits}
    written = AsWritten(text)
    mistakes = tuple(
        replace(m, evidence=m.evidence and written.quote(m.evidence))
        for m in (
            check_mistake(mk, hits, present, tools, scoped, criteria, attempted, salad)
            for mk in question.mistakes
        )
        if m is not None
    )
    criteria = tuple(
        replace(c, evidence=c.evidence and written.quote(c.evidence)) for c in criteria
    )
    cap = 100
    if salad:
        cap = SALAD_CAP
    elif not names_subject:
        cap = OFF_SUBJECT_CAP
        flags.append("off_subject")
        notes.append(
            "This never names a model or what it serves, so it reads as being about something else."
        )
    score = compute_score(criteria, mistakes, cap=cap)
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
        where = best_sentence(specific or generic)
    if salad:
        # A list of words names topics; it does not describe doing any of them.
        level = 0
    return CriterionResult(
        id=criterion.id,
        name=criterion.name,
        level=level,
        max_level=MAX_LEVEL,
        evidence=quote_sentence(answer, where) if level and where is not None else None,
        tip=criterion.tip.strip(),
        weight=weight,
    )


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
