"""Reading an answer as claims with their features: the grader and its training share this."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.grading.claims import (
    Stance,
    certain_stance,
    join_wrapped_lines,
    read_config_lines,
    split_clauses,
)
from bot.grading.cues import CueIndex
from bot.grading.features import claim_features
from bot.grading.text import Answer, Hit, Sentence, Vocabulary, read_answer

# Says the questions that follow are ones the writer puts to someone ("first I'd ask them:").
_ASKS = re.compile(
    r"\b(?:ask|asks|asking|asked|questions?|want to know|find out|clarify|check with)\b",
    re.IGNORECASE,
)
TOOL_PREFIX = "tool:"  # each named tool is its own cue in the index, for counting them
TOOL_FEATURE = "tool"


@dataclass(frozen=True)
class Claim:
    sentence: Sentence
    cues: frozenset[str]  # cues the claim names and does not deny (tools as `tool`)
    denied: frozenset[str]
    features: tuple[str, ...]
    certain: Stance | None  # the stance its words alone settle, if any


def read_text(text: str, vocab: Vocabulary) -> Answer:
    """An answer split into claims: wrapped lines joined, config lines read as words, joined
    claims cut apart."""
    return read_answer(split_clauses(read_config_lines(join_wrapped_lines(text))), vocab)


def claims_of(answer: Answer, hits: list[Hit], titled: bool = False) -> list[Claim]:
    """Every sentence of `answer` as a claim, with the cues `hits` found in it. An answer
    `titled` opens with a title (`has_title`): its first sentence names the topic, and is filler."""
    named: dict[int, set[str]] = {}
    denied: dict[int, set[str]] = {}
    tools: dict[int, set[str]] = {}
    for h in hits:
        cue = TOOL_FEATURE if h.cue.startswith(TOOL_PREFIX) else h.cue
        (denied if h.denied else named).setdefault(h.sentence, set()).add(cue)
        if cue == TOOL_FEATURE:
            tools.setdefault(h.sentence, set()).add(h.cue)
    claims = []
    asking = False  # inside questions the writer says they would ask someone
    for s in answer.sentences:
        cues = frozenset(named.get(s.index, ()))
        negs = frozenset(denied.get(s.index, ()))
        certain: Stance | None = (
            "filler"
            if titled and s.index == 0
            else certain_stance(s.display, s.tokens, len(tools.get(s.index, ())))
        )
        asks = _ASKS.search(s.display) is not None
        if certain == "question" and (asking or asks):
            certain = None  # "how fresh must it be?" put to the product team is a claim of asking
        else:
            asking = asks and certain is None
        claims.append(
            Claim(
                s,
                cues,
                negs,
                tuple(claim_features(s.tokens, sorted(cues), sorted(negs))),
                certain,
            )
        )
    return claims


def read_claims(
    text: str, vocab: Vocabulary, index: CueIndex
) -> tuple[Answer, list[Hit], list[Claim]]:
    answer = read_text(text, vocab)
    hits = index.find(answer)
    return answer, hits, claims_of(answer, hits)
