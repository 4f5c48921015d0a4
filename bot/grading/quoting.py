"""The words a criterion is quoted by: the clause of a credited sentence that carries it.

A long sentence often makes two or three points ("we kept the old model warm, watched
errors for a day and then widened the canary"). Quoting all of it under each criterion
it earns tells the reader little; quoting the clause that earns the criterion shows
what counted. Clauses are cut where people pause (commas, semicolons, colons, dashes,
brackets) and at the joins of a sequence ("and then", "then", "so"); a few adjacent
ones may stand together when the point needs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

TRIM_ABOVE_WORDS = 12  # shorter sentences are quoted whole
MIN_CLAUSE_WORDS = 3  # a shorter piece joins its neighbour
MAX_PIECES = 3  # the most adjacent pieces one quote joins

_CUT = re.compile(
    r"(?<=[,;:)])\s+|\s+(?=\()|\s+[-–—]+\s+|\s+(?=(?:and then|then|so that|so|which|because|but)\s)"
    # "and" joins two claims when a new subject follows; between nouns it joins a list.
    r"|\s+(?=and (?:we|i|they|it|you|the team|our|then)\s)",
    re.IGNORECASE,
)


def pieces(display: str) -> list[str]:
    """The sentence cut into clauses of at least MIN_CLAUSE_WORDS words."""
    out: list[str] = []
    for raw in _CUT.split(display):
        piece = raw.strip()
        if not piece:
            continue
        if out and len(out[-1].split()) < MIN_CLAUSE_WORDS:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    if len(out) > 1 and len(out[-1].split()) < MIN_CLAUSE_WORDS:
        tail = out.pop()
        out[-1] = f"{out[-1]} {tail}"
    return out


def spans(display: str) -> list[str]:
    """Every run of 1 to MAX_PIECES adjacent clauses, shortest first."""
    parts = pieces(display)
    runs = [
        " ".join(parts[i : i + n])
        for n in range(1, MAX_PIECES + 1)
        for i in range(len(parts) - n + 1)
        if n < len(parts)
    ]
    return [_tidy(r) for r in runs]


def _tidy(text: str) -> str:
    return text.strip(" ,;:-–—")


def tightest(display: str, strength: Callable[[str], float], needed: float) -> str:
    """The shortest run of clauses that earns at least as much as the best one; the whole
    sentence when it is short, or when no clause earns `needed` on its own."""
    if len(display.split()) <= TRIM_ABOVE_WORDS:
        return display
    scored = [(strength(s), s) for s in spans(display)]
    if not scored:
        return display
    best = max(v for v, _ in scored)
    if best < needed:
        return display
    return next(s for v, s in scored if v >= best - 0.05)


_WORD = re.compile(r"[a-z0-9]+")
_COMMENT_MARK = re.compile(r"\s(?:#|//)\s")
AS_WRITTEN_SHARE = 0.75  # of a line's words the reading must hold to have come from that line
AS_WRITTEN_COVER = 0.4  # of the reading's words that line must hold


class AsWritten:
    """Quotes in the answer's own words. A config line or comment is read with the keys above
    it ("step 3 model export: onnx -> tensorrt fp16."), which the writer never wrote: quote
    their line instead (the key or its trailing comment, whichever the reading came from).
    Quotes the answer holds already, or that only lose markup, stay as they are."""

    def __init__(self, answer: str) -> None:
        self._answer = answer
        self._flat = " ".join(answer.split())
        self._parts: list[tuple[str, frozenset[str]]] | None = None  # read on first need

    def quote(self, quote: str) -> str:
        text = quote.rstrip("…").strip()
        if not text or " ".join(text.split()) in self._flat:
            return quote
        words = set(_WORD.findall(text.lower()))
        best, best_shared = "", 0
        for part, own in self._lines():
            shared = len(own & words)
            if own and shared >= AS_WRITTEN_SHARE * len(own) and shared > best_shared:
                best, best_shared = part, shared
        if best_shared < AS_WRITTEN_COVER * len(words) or words <= set(_WORD.findall(best.lower())):
            return quote
        return " ".join(best.split()).lstrip("-*•#/ ")

    def _lines(self) -> list[tuple[str, frozenset[str]]]:
        if self._parts is None:
            # A key and its trailing comment are read apart: either may be the source.
            self._parts = [
                (part, frozenset(_WORD.findall(part.lower())))
                for line in self._answer.split("\n")
                for part in (line, *_COMMENT_MARK.split(line, maxsplit=1))
            ]
        return self._parts
