"""English words, so the typo fixer never "corrects" one into a rubric word: "project" is not
a slip for "protect", nor "waiting" for "wasting". The list is pyspellchecker's English
dictionary (MIT), read once and kept as one byte string of the words long enough to fix."""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

MIN_LETTERS = 6  # the typo fixer leaves shorter words alone anyway
_ENTRY = re.compile(rb'"([a-z]{%d,})":' % MIN_LETTERS)


@lru_cache(maxsize=1)
def _words() -> bytes:
    # One newline-separated byte string is a couple of megabytes; a set of the same
    # words would hold tens, in the process that grades.
    packed = resources.files("spellchecker").joinpath("resources/en.json.gz").read_bytes()
    data = gzip.decompress(packed)
    return b"\n" + b"\n".join(m[1] for m in _ENTRY.finditer(data)) + b"\n"


def is_english_word(word: str) -> bool:
    """Whether a lowercase word is in the English dictionary."""
    return word.isascii() and f"\n{word}\n".encode() in _words()


def load() -> None:
    """Read the dictionary now (at warm-up), not on the first answer with a typo."""
    _words()
