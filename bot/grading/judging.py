"""Judging a question's criteria from an answer's claims.

1. Each claim's stance: only asserted claims earn anything.
2. Per claim and criterion, the learned probability that the claim supports it, and
   that it alone meets level 2. The cues a claim names are features of those models.
3. A claim backs at most two criteria: the two it supports most.
4. A criterion's level is 2 when one claim meets level 2 alone, when its credited
   claims together name the distinct cues level 2 asks for (`level2` in the rubric), or
   when four separate claims back it; else 1 when any claim supports it.
5. The evidence is the claim that supports it most, preferring one for which it is the
   claim's main point and one that meets level 2 alone, and of a long claim only the
   clauses that carry it (`quoting`).

A story criterion (`detector: star`) also keeps the STAR detector, read over the
asserted claims only: an imagined story is no story.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.grading.claim_reader import Claim
from bot.grading.claims import Stance, announces_analogy
from bot.grading.grade import MAX_LEVEL, CriterionResult
from bot.grading.quoting import pieces, tightest
from bot.grading.star import find_star
from bot.questions import Criterion, Question, Seniority

if TYPE_CHECKING:  # numpy loads only in a process that grades
    from bot.grading.claim_model import QuestionModel, Rows, StanceModel

QUOTE_CHARS = 280
ASSERTED_MIN = 0.5  # P(asserted) a claim needs to earn anything
SUPPORT_MIN = 0.5  # P(supports) for a claim to credit a criterion
FULL_MIN = 0.6  # P(meets level 2 alone)
CRITERIA_PER_CLAIM = 2
CLEARLY_ASSERTED = 0.9  # P(asserted) for a sentence to be judged clause by clause
LEVEL2_CLAIMS = 4  # four separate claims backing a criterion show the depth level 2 asks for
CUE_BONUS = 0.6  # a claim naming one of the criterion's cues is credited unless the model objects
CUE_DEPTH = 0.1  # when quoting, each more of the criterion's cues a clause names
# When quoting, the weight of P(meets level 2 alone): the claim that says the most about a
# criterion ("the model gets 30 ms of an 80 ms page") beats the one that only announces it
# ("first: what is it for and how fast").
EVIDENCE_FULL = 2.0
# A sentence that reads as the next step of a process.
NEXT_STEP = re.compile(
    r"\b(?:then|after(?:wards| that| a| the| one| two)?|next|once|finally|followed|"
    r"if (?:that|it|this|all|everything|those|they) (?:looks?|is|are|stays?|holds?)|stage \d|step \d)\b"
)
GOES_FIRST = re.compile(r"\b(?:first|before|until|start(?:s|ing)? (?:with|in|by))\b")
PLAINLY_ON_TOPIC = 0.05  # P(off topic) below which a claim is plainly about the question
ANALOGY_DISCOUNT = 0.4  # on the mean P(off topic) of an answer that announces an analogy


def _names_cue(claim: Claim, criterion: Criterion) -> bool:
    return not claim.cues.isdisjoint(criterion.cues) or not claim.cues.isdisjoint(
        criterion.mentions
    )


@dataclass(frozen=True)
class Judged:
    criteria: tuple[CriterionResult, ...]
    asserted: tuple[Claim, ...]
    off_topic: float  # the mean P(off topic) of the answer's claims
    clearly_on_topic: float  # the share of its claims that are plainly on topic


@dataclass(frozen=True)
class _Scored:
    claim: Claim
    support: dict[str, float]
    full: dict[str, float]
    backs: tuple[str, ...]  # the criteria it is credited to, the one it supports most first
    beyond: tuple[str, ...] = ()  # criteria it also supports, past the two it may back


def _strength(claim: Claim, support: float, criterion: Criterion) -> float:
    return support + (CUE_BONUS if _names_cue(claim, criterion) else 0.0)


def _score(
    question: Question, claim: Claim, support: dict[str, float], full: dict[str, float]
) -> _Scored:
    strength = {c.id: _strength(claim, support[c.id], c) for c in question.criteria}
    ranked = sorted(
        (cid for cid, v in strength.items() if v >= SUPPORT_MIN), key=lambda cid: -strength[cid]
    )
    return _Scored(
        claim,
        support,
        full,
        tuple(ranked[:CRITERIA_PER_CLAIM]),
        tuple(ranked[CRITERIA_PER_CLAIM:]),
    )


def _clauses(
    question: Question,
    whole: _Scored,
    model: QuestionModel,
    stance: StanceModel,
    index: Callable[[Sequence[str]], Rows],
    reread: Callable[[str], Sequence[Claim]],
) -> list[_Scored]:
    """A sentence that makes more points than one claim may back ("we batch it weekly, which is
    the cheaper way, and fall back to manual review if the service is down") keeps the two it
    backs, and its clauses, read as claims of their own, back the rest. Just the sentence when
    it makes no more points than it backs."""
    parts = pieces(whole.claim.sentence.display) if whole.beyond else []
    out = [whole]
    for part in parts if len(parts) > 1 else ():
        for claim in reread(part):
            rows = index(claim.features)
            if not is_asserted(claim, stance.probabilities(rows)):
                continue
            own = replace(claim, sentence=replace(claim.sentence, index=whole.claim.sentence.index))
            scored = _score(question, own, *model.score(rows))
            # A clause read alone may only back what the whole sentence supports but could not
            # back itself.
            backs = tuple(cid for cid in scored.backs if cid in whole.beyond)
            if backs:
                out.append(replace(scored, backs=backs, beyond=()))
    return out


def is_asserted(claim: Claim, p: Mapping[Stance, float]) -> bool:
    """Whether the writer claims it, given the stance model's probabilities. Negation scope
    is the cue reader's to judge: it knows that "we never ship without a canary" affirms
    one, which a bag of words cannot."""
    if claim.certain is not None:
        return False
    likeliest = max(p, key=lambda s: p[s])
    if likeliest == "asserted" or p.get("asserted", 0.0) >= ASSERTED_MIN:
        return True
    return likeliest in ("negated", "dismissed") and bool(claim.cues) and not claim.denied


def _on_topic(p: Mapping[Stance, float]) -> dict[Stance, float]:
    """Stance probabilities for a clause of a sentence already credited: the answer's subject
    is settled there, so "off topic" counts as asserted; only a denial, a hypothetical or a
    question rules the clause out."""
    held = dict(p)
    held["asserted"] = held.get("asserted", 0.0) + held.pop("offtopic", 0.0)
    return held


def quote(text: str) -> str:
    """A sentence as the feedback quotes it: whole, or cut at QUOTE_CHARS."""
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def judge_claims(
    question: Question,
    model: QuestionModel,
    stance: StanceModel,
    index: Callable[[Sequence[str]], Rows],
    claims: Sequence[Claim],
    seniority: Seniority | None,
    reread: Callable[[str], Sequence[Claim]],
) -> Judged:
    """`reread` reads a piece of a sentence as claims, for quoting only the clauses that count."""
    indexed = [(c, index(c.features)) for c in claims]
    stances = [stance.probabilities(rows) for _, rows in indexed]
    kept = [
        (c, rows, p) for (c, rows), p in zip(indexed, stances, strict=True) if is_asserted(c, p)
    ]
    asserted = tuple(c for c, _, _ in kept)
    scored: list[_Scored] = []
    for c, rows, p in kept:
        whole = _score(question, c, *model.score(rows))
        if p.get("asserted", 0.0) >= CLEARLY_ASSERTED:
            scored.extend(_clauses(question, whole, model, stance, index, reread))
        else:
            scored.append(whole)
    scored += _analogies(question, model, indexed, stances)
    credited = {c.id: [s for s in scored if c.id in s.backs] for c in question.criteria}
    star = find_star([c.sentence for c in asserted])

    def support_in(criterion: Criterion, text: str) -> float:
        """How much the best asserted claim in `text` supports `criterion`."""
        best = 0.0
        for claim in reread(text):
            rows = index(claim.features)
            if is_asserted(claim, _on_topic(stance.probabilities(rows))):
                support = _strength(claim, model.score(rows)[0][criterion.id], criterion)
                cues = len(claim.cues.intersection(criterion.cues))  # more of it, more said
                best = max(best, support + CUE_DEPTH * cues)
        return best

    results = tuple(
        _criterion(question, c, credited[c.id], star.level, seniority, support_in)
        for c in question.criteria
    )
    results = tuple(
        _ordered(r, c, credited) if c.orders and not r.level else r
        for r, c in zip(results, question.criteria, strict=True)
    )
    if star.evidence is not None:
        star_quote = next(
            (c.sentence.display for c in asserted if c.sentence.index == star.evidence), None
        )
        results = tuple(
            _with_evidence(r, star_quote) if r.evidence is None and r.level and star_quote else r
            for r in results
        )
    off_topic = sum(p.get("offtopic", 0.0) for p in stances) / len(stances) if stances else 0.0
    plain = sum(p.get("offtopic", 0.0) < PLAINLY_ON_TOPIC for p in stances)
    clearly_on_topic = plain / len(stances) if stances else 1.0
    # An answer that announces an analogy tells of something else on purpose, to explain the
    # job: only a text that is mostly about something else counts as off topic then.
    if any(announces_analogy(c.sentence.display) for c in claims):
        off_topic *= ANALOGY_DISCOUNT
    return Judged(results, asserted, off_topic, clearly_on_topic)


def _criterion(
    question: Question,
    criterion: Criterion,
    credited: list[_Scored],
    star_level: int,
    seniority: Seniority | None,
    support_in: Callable[[Criterion, str], float],
) -> CriterionResult:
    level = 0
    evidence: str | None = None
    if credited:
        best = max(
            credited,
            key=lambda s: (
                s.backs[0] == criterion.id,
                _strength(s.claim, s.support[criterion.id], criterion)
                + EVIDENCE_FULL * s.full[criterion.id],
            ),
        )
        evidence = quote(
            tightest(
                best.claim.sentence.display,
                lambda text: support_in(criterion, text),
                SUPPORT_MIN,
            )
        )
        cues = {cue for s in credited for cue in s.claim.cues if cue in criterion.cues}
        alone = any(s.full[criterion.id] >= FULL_MIN for s in credited)
        many = len({s.claim.sentence.index for s in credited}) >= LEVEL2_CLAIMS
        level = 2 if alone or many or len(cues) >= criterion.level2 else 1
    if criterion.detector == "star" and star_level > level:
        level = star_level
    return CriterionResult(
        id=criterion.id,
        name=criterion.name,
        level=level,
        max_level=MAX_LEVEL,
        evidence=evidence if level else None,
        tip=criterion.tip.strip(),
        weight=question.weight(criterion, seniority),
    )


def _analogies(
    question: Question,
    model: QuestionModel,
    indexed: Sequence[tuple[Claim, Rows]],
    stances: Sequence[Mapping[Stance, float]],
) -> list[_Scored]:
    """Claims told as figures of speech ("it's like an iceberg: what you see is the tip"),
    scored for the criteria that ask for an analogy (`figurative`) and for no other."""
    figurative = {c.id for c in question.criteria if c.figurative}
    if not figurative:
        return []
    out: list[_Scored] = []
    for (claim, rows), p in zip(indexed, stances, strict=True):
        told_as_figure = max(p, key=p.__getitem__) == "metaphor" or announces_analogy(
            claim.sentence.display
        )
        if claim.certain is None and told_as_figure and not is_asserted(claim, p):
            scored = _score(question, claim, *model.score(rows))
            backs = tuple(cid for cid in scored.backs if cid in figurative)
            if backs:
                out.append(replace(scored, backs=backs, beyond=()))
    return out


def _ordered(
    result: CriterionResult, criterion: Criterion, credited: Mapping[str, list[_Scored]]
) -> CriterionResult:
    """Level 1 for a criterion whose stages (`orders`) the answer tells one after another: a
    claim of one stage, then a later one of another stage that reads as a next step."""
    told = sorted(
        (s.claim.sentence.index, stage, s.claim.sentence)
        for stage in criterion.orders
        for s in credited[stage]
    )
    for where, stage, sentence in told:
        earlier = [s for w, other, s in told if w < where and other != stage]
        if earlier and (
            NEXT_STEP.search(sentence.norm) or any(GOES_FIRST.search(s.norm) for s in earlier)
        ):
            return _with_evidence(replace(result, level=1), sentence.display)
    return result


def _with_evidence(result: CriterionResult, evidence: str) -> CriterionResult:
    return CriterionResult(
        result.id,
        result.name,
        result.level,
        result.max_level,
        quote(evidence),
        result.tip,
        result.weight,
    )
