"""The features a claim is judged on: its words, word pairs, stems and the cues it names.

One function, used alike by training and by grading, so the two can never drift apart.
Numbers collapse to `#` ("50 ms" and "120 ms" are the same kind of budget); a cue the
claim names counts as `c=<cue>`, and one it denies as `d=<cue>`, so the hand-written
vocabulary stays both a feature and the explanation of a grade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

_STEM = 5  # letters of a long word kept as its stem ("monitoring", "monitored" -> "monit")


def _word(token: str) -> str:
    return "#" if any(ch.isdigit() for ch in token) else token


def claim_features(
    tokens: Sequence[str], cues: Iterable[str] = (), denied: Iterable[str] = ()
) -> list[str]:
    """The feature names of one claim (duplicates removed, order kept)."""
    words = [_word(t) for t in tokens]
    out: list[str] = []
    for w in words:
        out.append("w=" + w)
        if len(w) > _STEM + 1 and w.isalpha():
            out.append("s=" + w[:_STEM])
    out.extend(f"b={a}_{b}" for a, b in pairwise(words))
    out.extend("c=" + c for c in cues)
    out.extend("d=" + c for c in denied)
    if len(words) <= 3:
        out.append("len=short")
    return list(dict.fromkeys(out))
