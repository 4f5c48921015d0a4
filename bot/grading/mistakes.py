"""The offline grader's evidence and mistakes: which sentence to quote, and whether an answer
makes one of the rubric's common mistakes (a pile of tools, opening with infrastructure,
missing what matters) or is a keyword salad."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from bot.grading.cues import REASONING_CUE
from bot.grading.grade import CriterionResult, MistakeResult, earned_share
from bot.grading.judging import quote
from bot.grading.star import is_story_opening
from bot.grading.text import GLUE_WORDS, Answer, Hit, Sentence
from bot.questions import Detect, Mistake

# Raters read an answer that earns three quarters of its rubric as competent: they do not
# fault it for a missing detail (a cue), for stressing one thing or for naming its tools, only
# for a missing criterion.
COMPETENT_SHARE = 0.75
# An answer earning less than this that names three tools is its tools, reasons or not.
THIN_SHARE = 0.25
# A sentence naming this many tools with no reason of its own is a stack picked up front.
LISTED_TOOLS = 4


def quote_sentence(answer: Answer, index: int) -> str:
    for s in answer.sentences:
        if s.index == index:
            return quote(s.display)
    return ""


def best_sentence(hits: list[Hit]) -> int | None:
    """The sentence with the most distinct cues (the earliest on a tie)."""
    per: dict[int, set[str]] = {}
    for h in hits:
        per.setdefault(h.sentence, set()).add(h.cue)
    if not per:
        return None
    return min(per, key=lambda i: (-len(per[i]), i))


def is_salad(sentences: Sequence[Sentence], tools: int = 0) -> bool:
    """A list of keywords, not an answer: almost no function words hold the words together
    (a short reply that is mostly tool names counts, even with a word or two of glue), or
    the same few terms are said over and over, or the answer is mostly bare fragments."""
    return _unglued(sentences, tools) or _stuffed(sentences) or _fragmented(sentences)


def _unglued(sentences: Sequence[Sentence], tools: int) -> bool:
    """Mostly names and nouns ("ship it: docker, k8s, mlflow, grafana")."""
    tokens = [t for s in sentences for t in s.tokens]
    if len(tokens) < 6:
        return False
    ratio = sum(map(GLUE_WORDS.__contains__, tokens)) / len(tokens)
    return ratio < 0.12 or (tools >= 3 and tools >= 0.35 * len(tokens) and ratio < 0.2)


STUFFED_SHARE = 0.3  # share of an answer's word pairs said before: keywords said over and over
STUFFED_MIN_PAIRS = 12


def _stuffed(sentences: Sequence[Sentence]) -> bool:
    """The same few terms said over and over ("Feature store. Point in time, point in
    time."): many of the answer's pairs of content words repeat an earlier pair."""
    pairs = [
        pair
        for s in sentences
        for pair in pairwise(t for t in s.tokens if t.isalpha() and t not in GLUE_WORDS)
    ]
    if len(pairs) < STUFFED_MIN_PAIRS:
        return False
    return 1 - len(set(pairs)) / len(pairs) >= STUFFED_SHARE


FRAGMENT_WORDS = 10  # a sentence this short with no function word is a fragment …
FRAGMENTED_SHARE = 0.8  # … and an answer of at least FRAGMENTED_MIN such, mostly, is keywords
FRAGMENTED_MIN = 5


def _fragmented(sentences: Sequence[Sentence]) -> bool:
    """Mostly fragments with no word to join them ("Analogy. Plain language. Revenue, risk,
    customers."): the rubric's own terms laid out one after another, not said."""
    said = [s for s in sentences if s.tokens]
    if len(said) < FRAGMENTED_MIN:
        return False
    fragments = sum(
        1 for s in said if len(s.tokens) <= FRAGMENT_WORDS and GLUE_WORDS.isdisjoint(s.tokens)
    )
    return fragments >= FRAGMENTED_SHARE * len(said)


def check_mistake(
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
    if _forgiven(detect, criteria):
        return None
    if detect.kind == "tool_pile":
        says_little = salad or earned_share(criteria) < THIN_SHARE
        found, evidence = tool_pile(tools, answer, present, says_little, hits)
    elif not attempted:
        return None
    elif detect.kind == "missing":
        levels = {c.id: c.level for c in criteria}
        found = (
            all(levels[c] == 0 for c in detect.criteria)
            and not (present & set(detect.cues))
            and (not detect.given or any(levels[c] > 0 for c in detect.given))
        )
    elif detect.kind == "only":
        full = {c.id for c in criteria if c.level == c.max_level}
        found = (
            bool(present & set(detect.present))
            and not (present & set(detect.absent))
            and full.isdisjoint(detect.covered_by)
        )
        if found:
            where = best_sentence([h for h in hits if h.cue in detect.present])
            evidence = quote_sentence(answer, where) if where is not None else None
    elif detect.kind == "leads_with":
        found, evidence = leads_with(answer, hits, detect.cues, detect.unless)
    if not found:
        return None
    return MistakeResult(
        id=mistake.id,
        name=mistake.name,
        evidence=evidence,
        fix=mistake.fix.strip(),
        penalty=mistake.penalty,
    )


def _forgiven(detect: Detect, criteria: tuple[CriterionResult, ...]) -> bool:
    """A detail (a cue missing, one thing stressed, a line naming the stack) that a competent
    answer is not faulted for: it has said what it does and why."""
    detail = detect.kind == "tool_pile" or (
        detect.kind in ("missing", "only") and not detect.criteria
    )
    return detail and earned_share(criteria) >= COMPETENT_SHARE


def leads_with(
    answer: Answer, hits: list[Hit], cues: Sequence[str], unless: Sequence[str]
) -> tuple[bool, str | None]:
    """The opening (the first sentence with any cue) names these cues and none of `unless`.

    Opening with a story ("at my last job we had a churn model on a nightly batch
    job …", "I'll take our shelf-camera project: …") frames the work, not the
    infrastructure, so it does not count.
    """
    ordered = sorted(hits, key=lambda h: (h.sentence, h.start))
    if not ordered:
        return False, None
    opening = ordered[0].sentence
    in_opening = {h.cue for h in ordered if h.sentence == opening}
    if not (in_opening & set(cues)) or in_opening & set(unless):
        return False, None
    if any(is_story_opening(s) for s in answer.sentences if s.index <= opening):
        return False, None
    return True, quote_sentence(answer, opening)


def tool_pile(
    tools: list[Hit], answer: Answer, present: set[str], says_little: bool, hits: list[Hit]
) -> tuple[bool, str | None]:
    """Three or more tools named with no reason given for any of them, or a sentence that
    lists four or more with no reason of its own ("Kubeflow for pipelines, MLflow for the
    registry, KServe for serving, Grafana for monitoring"): a stack picked before the problem.
    In an answer that `says_little` else (a salad, or under a quarter of its rubric), three
    tools are its substance, whatever reason is given for them."""
    first: dict[str, int] = {}
    for h in tools:
        first.setdefault(h.cue, h.sentence)
    if len(first) < 3:
        return False, None
    per_sentence: dict[int, set[str]] = {}
    for h in tools:
        per_sentence.setdefault(h.sentence, set()).add(h.cue)
    reasoned = {h.sentence for h in hits if h.cue == REASONING_CUE}
    listed = any(
        len(names) >= LISTED_TOOLS and i not in reasoned for i, names in per_sentence.items()
    )
    if REASONING_CUE in present and not says_little and not listed:
        return False, None
    named: dict[int, int] = {}
    for where in first.values():
        named[where] = named.get(where, 0) + 1
    busiest = max(named, key=lambda i: (named[i], -i))
    return True, quote_sentence(answer, busiest)
