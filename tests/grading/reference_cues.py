"""The plain way to find cues, kept as the reference `CueIndex.find` is checked against:
one regular expression per cue, one scan of the whole answer each."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping

from bot.grading.cues import is_denied, term_regex
from bot.grading.text import Answer, Hit


def compile_cues(cues: Mapping[str, Iterable[str]]) -> dict[str, re.Pattern[str]]:
    compiled = {}
    for cue, terms in cues.items():
        alternatives = "|".join(term_regex(t) for t in sorted(terms, key=len, reverse=True))
        compiled[cue] = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")
    return compiled


def find_hits(answer: Answer, compiled: Mapping[str, re.Pattern[str]]) -> list[Hit]:
    """Every occurrence of every cue, in sentence order, marked when the answer denies it."""
    if not answer.sentences:
        return []
    text = "\n".join(s.norm for s in answer.sentences)
    offsets: list[int] = []
    pos = 0
    for s in answer.sentences:
        offsets.append(pos)
        pos += len(s.norm) + 1
    found: list[tuple[int, int, str, bool]] = []
    for cue, pattern in compiled.items():
        for m in pattern.finditer(text):
            k = bisect_right(offsets, m.start()) - 1
            sentence = answer.sentences[k]
            start = m.start() - offsets[k]
            denied = is_denied(sentence, start, m.end() - offsets[k])
            found.append((k, start, cue, denied))
    order = {cue: i for i, cue in enumerate(compiled)}
    found.sort(key=lambda f: (f[0], order[f[2]], f[1]))
    return [Hit(cue, k, start, denied) for k, start, cue, denied in found]
