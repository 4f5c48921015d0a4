"""Finding cue terms in an answer: the cue syntax compiled to regular expressions, an index
that tries each term only where it can start, and whether the answer denies what it
names ("we never set up drift monitoring", "canaries are overkill"). Pure; no I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from functools import lru_cache

from bot.grading.text import CACHE_LIMIT, DISMISS, DISMISS_PAIRS, NEGATORS, Answer, Hit, Sentence

# Two-word negators: the second word is where the denial starts ("rather than X").
_NEGATOR_PAIRS = frozenset({("rather", "than"), ("instead", "of"), ("no", "one")})
_NEGATION_END = frozenset(
    """
    but however although though then so which because while whereas until yet instead
    except unless apart plus also after before once when whenever following
    """.split()
)
_ABSENCE = frozenset(
    "without skip skipped skipping forgot forgotten lacked lacking lack lacks missing".split()
)
_NOT_NEGATION = (
    ("not", "only"),
    ("no", "matter"),
    ("not", "just"),
    ("no", "longer"),
    ("not", "sure"),
    ("no", "doubt"),
    ("not", "least"),
)
_PAIR_SCOPE = 3  # words after "rather than" / "instead of" that it denies
# "check it's not worse on the test set", "must not go up vs the current model": what
# follows a check or a requirement is its pass condition, so a negation there denies nothing.
_CHECKS = frozenset(
    """
    check checks checked checking verify verifies verified verifying ensure ensures ensured
    ensuring confirm confirms confirmed confirming assert asserts asserted validate validates
    validated test tests tested testing sure must
    """.split()
)
_CHECK_SCOPE = 6  # words between a check and the negation it governs
# "Shadow mode I'd mostly skip": a concept, its speaker, then a verb that waves it off.
_TOPIC_SUBJECTS = frozenset("we i id wed they you".split())
_TOPIC_GAP = 3  # words from the concept's end to the speaker ("canary and a/b we …")
_TOPIC_SCOPE = 4  # words from the speaker to the verb ("we did not really need")
_SKIP_VERBS = frozenset("skip skipped skipping ditch ditched dropped avoid avoided".split())
_WANT_VERBS = frozenset("need needed bother bothered want wanted".split())
_BETWEEN = frozenset(
    "do did does would will not never really mostly just usually always ever also probably".split()
)
_REFERENTS = frozenset("that this it those these them which the above".split())
_SUBJECTS = frozenset("i we they it you he she then so".split())
_COPULA = frozenset("is are was were be been isnt arent wasnt werent".split())


# --- cue terms -------------------------------------------------------------------

_JOIN = r"[ /.-]?"  # between the words of a term: a space, slash, dot, hyphen or nothing
_GAP = r"(?: [^ \n]+){0,3}? "  # `..`: up to three words in between
_WIDE_GAP = r"(?: [^ \n]+){0,6}? "  # `...`: up to six words in between
_NUMBER = r"\d+(?:[.,]\d+)?"
_PART = r"(?!100\b)\d+(?:[.,]\d+)?"  # a number short of a whole: "5 percent", not "100 percent"

REASONING_CUE = "reasoning"  # the cue of giving a reason ("because", "so that")


def _word_regex(word: str) -> str:
    if word == "<n>":
        return _NUMBER
    if word == "<part>":
        return _PART
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"[a-z0-9]*"
    return re.escape(word)


def _split_top(text: str, separator: str) -> list[str]:
    """`text` split at `separator` where it stands outside every parenthesised group."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        depth = max(0, depth + (ch == "(") - (ch == ")"))
        if ch == separator and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _split_words(chunk: str) -> list[str]:
    """Split on spaces, keeping a parenthesised group (which may hold spaces) whole."""
    return [w for w in _split_top(chunk, " ") if w]


def _options(group: str) -> list[str]:
    """The options of `(a|b (c|d)|)`, split at its own bars only, not at a nested group's."""
    return _split_top(group[1:-1], "|")


def _phrase_regex(phrase: str) -> str:
    out = ""
    joined = False  # whether the last piece was a word (so the next needs a joiner)
    for word in _split_words(phrase):
        if word in ("..", "..."):
            out += _GAP if word == ".." else _WIDE_GAP
            joined = False
            continue
        if word.startswith("(") and word.endswith(")"):
            # An empty option makes the group optional: "(the|)".
            options = [_phrase_regex(w.strip()) for w in _options(word)]
            piece = "(?:" + "|".join(options) + ")"
        else:
            piece = _word_regex(word)
        out += (_JOIN if joined else "") + piece
        joined = True
    return out


def term_regex(term: str) -> str:
    """A cue term to a regex over normalised text.

    `*` ends a word prefix ("monitor*"); `<n>` is any number and `<part>` any but 100
    (a share short of everyone); `(a|b c|d*)` is one
    of several words or phrases, and `(the|)` an optional one; `..` allows up to
    three words between ("latency .. target*") and `...` up to six; spaces also
    match a slash, a dot, a hyphen or nothing ("roll back" matches "rollback",
    "roll-back"; "ci cd" matches "ci/cd").
    """
    return _phrase_regex(term.strip())


# --- negation --------------------------------------------------------------------


def token_index(sentence: Sentence, offset: int) -> int:
    """The token that contains character `offset` of the sentence's norm text."""
    return max(0, bisect_right(sentence.token_starts, offset) - 1)


def _negator_at(tokens: tuple[str, ...], i: int) -> bool:
    tok = tokens[i]
    if tok in NEGATORS:
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if (tok, nxt) in _NOT_NEGATION:
            return False
        # "none of that matters and a Spark job is fine": a pronoun, not a denial.
        return not (
            tok in ("none", "nothing", "neither")
            and nxt == "of"
            and i + 2 < len(tokens)
            and tokens[i + 2] in _REFERENTS
        )
    return i > 0 and (tokens[i - 1], tok) in _NEGATOR_PAIRS


def is_denied(sentence: Sentence, offset: int, end: int | None = None) -> bool:
    """Whether the words around `offset` deny it.

    Before: "no canary", "we never set up drift …", "a stream rather than an API".
    The nearest negator in the same clause decides; a double negative with a word of
    absence ("we never ship without a canary", "we don't skip validation") affirms.
    After: a dismissal in the same clause ("canaries are overkill", "A/B testing
    wasn't something we did").
    """
    index = token_index(sentence, offset)
    tokens = sentence.tokens
    nearest: int | None = None
    for i in range(index - 1, max(-1, index - 9), -1):
        if _ends_negation(tokens, i):
            break
        if _negator_at(tokens, i):
            if tokens[i] in ("than", "of") and index - i > _PAIR_SCOPE:
                # "instead of a canary we used a shadow deployment": the pair denies
                # only the few words after it.
                continue
            if nearest is None:
                if _checked(sentence, i):
                    break
                nearest = i
                if tokens[i] not in _ABSENCE:
                    return True
            else:
                return False  # "never … without": the two cancel
        if i in sentence.clause_starts:
            break
    if nearest is not None:
        return True
    if end is None:
        return False
    return _dismissed_after(sentence, token_index(sentence, max(offset, end - 1)))


def _checked(sentence: Sentence, negator: int) -> bool:
    """Whether a check governs the negation at `negator` ("make sure latency does not …")."""
    for i in range(negator - 1, max(-1, negator - 1 - _CHECK_SCOPE), -1):
        if sentence.tokens[i] in _CHECKS:
            return True
        if i in sentence.clause_starts or _ends_negation(sentence.tokens, i):
            return False
    return False


def _waved_off(tokens: tuple[str, ...], start: int) -> bool:
    """The concept said first, then waved off: "shadow mode I'd skip", "canaries we didn't
    need" (but not "we didn't skip it", or "we didn't need to roll it back")."""
    window = tokens[start : start + _TOPIC_SCOPE]
    for j, tok in enumerate(window):
        negated = any(b in ("not", "never") for b in window[:j])
        if tok in _SKIP_VERBS:
            return not negated
        if tok in _WANT_VERBS:
            return negated and window[j + 1 : j + 2] != ("to",)
        if tok not in _BETWEEN:  # "I said that skipping …" is not the speaker skipping it
            return False
    return False


def _ends_negation(tokens: tuple[str, ...], i: int) -> bool:
    """A word that closes the scope of a negation: "but", "because", "and we …"."""
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in _NEGATION_END:
        return (tok, nxt) not in _NEGATOR_PAIRS
    return tok == "and" and nxt in _SUBJECTS


def _dismissed_after(sentence: Sentence, last: int) -> bool:
    tokens = sentence.tokens
    stop = min(len(tokens), last + 7)
    for i in range(last + 1, stop):
        if i in sentence.clause_starts or _ends_negation(tokens, i):
            return False
        tok = tokens[i]
        if tok in DISMISS:
            return True
        if tok in _TOPIC_SUBJECTS and i - last <= _TOPIC_GAP and _waved_off(tokens, i + 1):
            return True
        pair = (tok, tokens[i + 1] if i + 1 < stop else "")
        if pair in DISMISS_PAIRS and (pair[1] != "a" or tokens[i - 1] in _COPULA):
            # "… was not something", "… is not needed"; "did not bother with …" is
            # handled by the negator before the concept.
            return True
    return False


_PIECE = re.compile(r"(?<![a-z0-9])[a-z0-9]+")
_JOINED = re.compile(r"[^a-z0-9 ]")  # a token with a slash, dot, hyphen or apostrophe
_NUMBER_KEY = "<n>"


def _first_keys(words: list[str]) -> set[str] | None:
    """Where a term can start: `=word` for exactly that word, `pre` for any word starting so.

    None if it can start anywhere. "roll back" starts at the word "roll", or at a
    word beginning "rollback" (the words may be written joined).
    """
    if not words:
        return None
    word = words[0]
    if word in ("<n>", "<part>"):
        return {_NUMBER_KEY}
    if word.startswith("(") and word.endswith(")"):
        keys: set[str] = set()
        for option in _options(word):
            option_words = _split_words(option.strip())
            found = _first_keys(option_words + words[1:] if option_words else words[1:])
            if found is None:
                return None
            keys |= found
        return keys
    if word in ("..", "..."):
        return None
    m = re.match(r"[a-z0-9]+", word)
    if m is None:
        return None
    lead = m.group(0)
    if word.endswith("*") and lead == word[:-1]:
        return {lead}  # a prefix: "monitor*"
    if lead != word:
        return {"=" + lead}  # a symbol follows the first letters: "a/b", "24/7"
    if len(words) == 1:
        return {"=" + lead}
    nxt = words[1]
    if nxt in ("..", "..."):
        return {"=" + lead}
    joined = re.match(r"[a-z0-9]+", nxt)
    return {"=" + lead, lead + joined.group(0) if joined else lead}


class CueIndex:
    """Cue terms indexed by how they start, so each is tried only where it can match.

    Equivalent to running every cue's compiled pattern over the whole answer, but
    a term is only tried at word starts whose first letters fit it: a few hundred
    anchored matches instead of a scan per cue.
    """

    def __init__(self, cues: Mapping[str, Iterable[str]]) -> None:
        grouped: dict[tuple[str, str], list[str]] = {}
        anywhere: dict[str, list[str]] = {}
        self.order = {cue: i for i, cue in enumerate(cues)}
        for cue, terms in cues.items():
            for term in terms:
                keys = _first_keys(_split_words(term.strip()))
                if keys is None:
                    anywhere.setdefault(cue, []).append(term)
                    continue
                for key in keys:
                    grouped.setdefault((key, cue), []).append(term)
        self.by_key: dict[str, list[tuple[str, list[str]]]] = {}
        for (key, cue), terms in grouped.items():
            self.by_key.setdefault(key, []).append((cue, terms))
            _compile_terms(terms, anchored=True)  # now, not on a first answer
        self.anywhere = {
            cue: _compile_terms(terms, anchored=False) for cue, terms in anywhere.items()
        }
        self.max_key = max((len(k) for k in self.by_key), default=0)
        self._candidates: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}

    def _candidates_for(self, word: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
        cached = self._candidates.get(word)
        if cached is not None:
            return cached
        keys = ["=" + word, *(word[:n] for n in range(1, min(len(word), self.max_key) + 1))]
        if word[0].isdigit():
            keys.append(_NUMBER_KEY)
        # One pattern per cue: the terms of every key that fits this word, together.
        per_cue: dict[str, list[str]] = {}
        for key in keys:
            for cue, terms in self.by_key.get(key, ()):
                per_cue.setdefault(cue, []).extend(terms)
        result = tuple(
            (cue, _compile_terms(dict.fromkeys(terms), anchored=True))
            for cue, terms in per_cue.items()
        )
        if len(self._candidates) > CACHE_LIMIT:
            self._candidates.clear()
        self._candidates[word] = result
        return result

    def find(self, answer: Answer) -> list[Hit]:
        """Every occurrence of every cue, in sentence order, marked when the answer denies it."""
        found: list[tuple[int, int, str, bool]] = []
        cached = self._candidates  # the hot loop: local names, the cache read inline
        for sentence in answer.sentences:
            k = sentence.index  # not the position: dropped sentences (injections) leave gaps
            text = sentence.norm
            last_end: dict[str, int] = {}
            # A term can start at any word, or after a slash, dot, hyphen or apostrophe
            # inside one ("a/b", "ci/cd"); most sentences have none, and their words are
            # the tokens themselves.
            if _JOINED.search(text) is None:
                words: Iterable[tuple[str, int]] = zip(
                    sentence.tokens, sentence.token_starts, strict=True
                )
            else:
                words = [(m.group(), m.start()) for m in _PIECE.finditer(text)]
            for word, p in words:
                candidates = cached.get(word)
                if candidates is None:
                    candidates = self._candidates_for(word)
                if not candidates:
                    continue
                for cue, pattern in candidates:
                    if cue in last_end and last_end[cue] > p:
                        continue
                    m = pattern.match(text, p)
                    if m is not None:
                        last_end[cue] = m.end()
                        denied = sentence.negates and is_denied(sentence, p, m.end())
                        found.append((k, p, cue, denied))
            for cue, anywhere in self.anywhere.items():
                for m in anywhere.finditer(text):
                    denied = sentence.negates and is_denied(sentence, m.start(), m.end())
                    found.append((k, m.start(), cue, denied))
        found.sort(key=lambda f: (f[0], self.order[f[2]], f[1]))
        unique = dict.fromkeys(found)
        return [Hit(cue, k, start, denied) for k, start, cue, denied in unique]


def _alternation(terms: Iterable[str]) -> str:
    return "|".join(term_regex(t) for t in sorted(terms, key=len, reverse=True))


def _compile_terms(terms: Iterable[str], *, anchored: bool) -> re.Pattern[str]:
    return _compile_cached(tuple(terms), anchored)


@lru_cache(maxsize=8192)
def _compile_cached(terms: tuple[str, ...], anchored: bool) -> re.Pattern[str]:
    # Questions share most cues: compile each distinct group of terms once per process.
    alternatives = _alternation(terms)
    left = "" if anchored else r"(?<![a-z0-9])"
    return re.compile(rf"{left}(?:{alternatives})(?![a-z0-9])")
