"""Reading an answer the way people type it in Slack.

Turns mrkdwn into plain sentences (links, mentions, emoji, bullets, code blocks),
normalises spelling (British forms, common typos of the rubric's own words) and
finds where cue terms occur, skipping the ones that are denied ("we never set up
drift monitoring", "canaries are overkill"). Pure functions; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from operator import add

MAX_CHARS = 40_000
MAX_SENTENCE_WORDS = 60  # longer "sentences" are run-ons, cut into pieces …
RUN_ON_PIECE_WORDS = 40  # … of this many words
WORDS_PER_SECOND = 2.5  # about 150 spoken words a minute
_CACHE_LIMIT = 50_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_LINK = re.compile(r"<(?:https?|mailto):[^|>\s]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>\s]*>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_MENTION = re.compile(r"<[@!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-']{1,40}:")
_FENCE = re.compile(r"```")
_FORMAT = re.compile(r"(?<![\w*_~])[*_~]+|[*_~]+(?![\w*_~])")
_BULLET = re.compile(r"^[ \t]*(?:[-*•◦▪‣>]|\d{1,2}[.)]|[a-z][.)])\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"[a-z0-9]+(?:['/.-][a-z0-9]+)*|[,;:()]|\s-\s")
_APOSTROPHES = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "`": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": " - ",
        "→": " then ",
        "≥": " at least ",
        "≤": " at most ",
    }
)
# Symbols people type that carry meaning the tokenizer would drop.
_DIGITS = tuple("0123456789")
_SYMBOLS = (
    (("%",), re.compile(r"(\d)\s*%"), r"\1 percent"),
    (("->", "=>"), re.compile(r"\s*(?:->|=>|-->)\s*"), " then "),
    (("<",), re.compile(r"(?<![\w<])<=?\s*(?=\d)"), " under "),
    ((">",), re.compile(r"(?<![\w>-])>=?\s*(?=\d)"), " over "),
    (
        _DIGITS,
        re.compile(
            r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)(ms|s|k|m|x|h|min|mins|hr|hrs)\b", re.IGNORECASE
        ),
        r"\1 \2",
    ),
    (("&",), re.compile(r"\s&\s|&(?=\s)"), " and "),
    (("+",), re.compile(r"\s\+\s"), " and "),
    (("w/", "W/"), re.compile(r"\bw/o\b", re.IGNORECASE), "without"),
    (("w/", "W/"), re.compile(r"\bw/(?=\s|\w)", re.IGNORECASE), "with "),
)

# Words that never get "corrected" even when they sit one edit from a rubric word.
_PROTECTED = frozenset(
    """
    about above after again always another answer around asked before being better between
    change changed changes choose chose client common could during either enough every first
    follow format former future giving having latest latter little longer making matter
    maybe might months needed never number often option other people person plenty please
    pretty quite rather really second should simple simply since small something started
    still stream streams string strong system their there these thing things think those
    though three through today together under until using usually value version weeks where
    whether which while within without would wrote years always latent detail details listed
    listen master matter monitor monitors mention metric metrics reason season serving
    server servers service services sample simple shadows sharing shifting modeling
    modelling models testing tested tester letter letters better batter batches
    scales scaled sales transformer transformers needle default defaults output outputs
    served serves compare compares deployments deployed caching cached canary canaries
    tracked tracking traces traced raised raises ranges ranged shipped stored stores
    """.split()
)

# (needle, pattern, replacement): the needle is a cheap test before the regex runs.
_BRITISH = (
    ("isation", re.compile(r"isation"), "ization"),
    ("is", re.compile(r"ise(d|s)?\b"), r"ize\1"),
    ("ising", re.compile(r"ising\b"), "izing"),
    ("ys", re.compile(r"yse(d|s)?\b"), r"yze\1"),
    ("ysing", re.compile(r"ysing\b"), "yzing"),
    ("our", re.compile(r"our\b"), "or"),
    ("ours", re.compile(r"ours\b"), "ors"),
    ("ogue", re.compile(r"ogue\b"), "og"),
    ("tre", re.compile(r"tre\b"), "ter"),
    ("lled", re.compile(r"lled\b"), "led"),
    ("lling", re.compile(r"lling\b"), "ling"),
)

_NEGATORS = frozenset(
    """
    no not never without none nothing neither nor skip skipped skipping forgot forgotten
    lacked lacking lack lacks missing zero nobody noone nowhere hardly barely
    """.split()
)
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
# A dismissal after the concept denies it: "canaries are overkill", "A/B testing
# was not something we did", "monitoring? not needed".
_DISMISS = frozenset("overkill unnecessary pointless needless useless optional".split())
_DISMISS_PAIRS = frozenset(
    {
        ("not", "needed"),
        ("not", "necessary"),
        ("not", "required"),
        ("not", "worth"),
        ("not", "something"),
        ("not", "done"),
        ("not", "used"),
        ("not", "bother"),
        ("not", "bothered"),
        ("never", "used"),
        ("never", "done"),
        ("never", "happened"),
        ("not", "a"),  # "not a thing we did" ... only after a copula, see below
    }
)
_PAIR_SCOPE = 3  # words after "rather than" / "instead of" that it denies
_REFERENTS = frozenset("that this it those these them which the above".split())
_SUBJECTS = frozenset("i we they it you he she then so".split())
_NEGATION_WORDS = _NEGATORS | _DISMISS | {"than", "of", "one"} | {a for a, _ in _DISMISS_PAIRS}
_COPULA = frozenset("is are was were be been isnt arent wasnt werent".split())


@dataclass(frozen=True)
class Sentence:
    index: int
    display: str  # cleaned text, original case, for quoting
    norm: str  # lowercase, normalised spelling, single spaces
    tokens: tuple[str, ...]
    token_starts: tuple[int, ...]
    clause_starts: frozenset[int]  # token indices that open a clause (after , ; : or a dash)
    negates: bool = True  # holds a word that can deny something; False skips the check


@dataclass(frozen=True)
class Answer:
    raw_chars: int
    truncated: bool
    sentences: tuple[Sentence, ...]
    words: int
    repeated: int  # sentences dropped because they repeated an earlier one

    @property
    def spoken_seconds(self) -> int:
        return round(self.words / WORDS_PER_SECOND)


@dataclass(frozen=True)
class Hit:
    cue: str
    sentence: int
    start: int  # offset in the sentence's norm text
    denied: bool = False


@dataclass
class Vocabulary:
    """Spelling fixes drawn from the rubric's own words: one edit away maps back."""

    words: set[str] = field(default_factory=set)
    _deletes: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_terms(cls, terms: Iterable[str]) -> Vocabulary:
        vocab = cls()
        for term in terms:
            for word in re.findall(r"[a-z]+", term.lower()):
                if len(word) >= 5:
                    vocab.words.add(word)
        for word in sorted(vocab.words):
            for variant in (word, *(word[:i] + word[i + 1 :] for i in range(len(word)))):
                vocab._deletes.setdefault(variant, word)
        return vocab

    def correct(self, token: str) -> str:
        if len(token) < 6 or token in self.words or token in _PROTECTED or not token.isalpha():
            return token
        hit = self._deletes.get(token)
        if hit is not None and abs(len(hit) - len(token)) <= 1 and _typo_like(token, hit):
            return hit
        for i in range(len(token)):
            hit = self._deletes.get(token[:i] + token[i + 1 :])
            if (
                hit is not None
                and abs(len(hit) - len(token)) <= 1
                and hit[0] == token[0]
                and _typo_like(token, hit)
            ):
                return hit
        return token

    def normalise(self, word: str) -> str:
        """British spelling to the rubric's, then a typo fix; cached per word."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        fixed = word
        if word.isalpha() and len(word) > 4:
            for needle, pattern, repl in _BRITISH:
                if needle in word:
                    americanised = pattern.sub(repl, word)
                    if americanised != word and americanised in self.words:
                        fixed = americanised
                        break
            else:
                fixed = self.correct(word)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = fixed
        return fixed


def _typo_like(token: str, word: str) -> bool:
    """A typo differs inside the word; a different ending is another word form.

    "requirments" → "requirements" is a typo; "scales" vs "scaler" or
    "transformer" vs "transformed" are different words and stay as typed.
    """
    n = min(len(token), len(word))
    first = next((i for i in range(n) if token[i] != word[i]), n)
    return first < max(len(token), len(word)) - 2


def clean_mrkdwn(text: str) -> str:
    """Slack mrkdwn to plain text, keeping line structure."""
    text = _CONTROL.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _LINK.sub(r"\1", text)
        text = _BARE_LINK.sub(" ", text)
        text = _CHANNEL.sub(r"#\1", text)
        text = _MENTION.sub(" ", text)
    if ":" in text:
        text = _EMOJI.sub(" ", text)
    if "```" in text:
        text = _FENCE.sub("\n", text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if "*" in text or "_" in text or "~" in text:
        text = _FORMAT.sub("", text)
    text = _BULLET.sub("\n", text)
    return text


SymbolRules = tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...]


def symbol_rules(text: str) -> SymbolRules:
    """The rules of `_SYMBOLS` whose symbols occur in `text` (checked once per answer)."""
    return tuple(rule for rule in _SYMBOLS if any(n in text for n in rule[0]))


def spell_symbols(text: str, rules: SymbolRules | None = None) -> str:
    """Symbols with meaning spelled out ("5%" -> "5 percent"), for matching only: quotes
    keep what the person typed. `rules` narrows the check to those a whole answer needs."""
    for needles, pattern, repl in _SYMBOLS if rules is None else rules:
        if any(n in text for n in needles):
            text = pattern.sub(repl, text)
    return text


def _sentences(cleaned: str) -> Iterator[str]:
    """Sentences as displayed; a run-on "sentence" is cut into pieces of a sensible length.

    Answers typed without punctuation (or dictated) would otherwise be one
    sentence: quotes would be walls of text and a negation could reach too far.
    """
    for chunk in _SENTENCE_END.split(cleaned):
        words = chunk.split()
        if len(words) <= MAX_SENTENCE_WORDS:
            if words:
                yield " ".join(words)
            continue
        for i in range(0, len(words), RUN_ON_PIECE_WORDS):
            yield " ".join(words[i : i + RUN_ON_PIECE_WORDS])


def read_answer(text: str, vocab: Vocabulary, max_chars: int = MAX_CHARS) -> Answer:
    """Split an answer into unique, normalised sentences."""
    raw_chars = len(text)
    truncated = raw_chars > max_chars
    if truncated:
        text = text[:max_chars]
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    cleaned = clean_mrkdwn(text)
    normalise = vocab.normalise
    cache = vocab._cache
    sentences: list[Sentence] = []
    seen: set[str] = set()
    repeated = 0
    words = 0
    rules = symbol_rules(cleaned)
    for display in _sentences(cleaned):
        tokens: list[str] = []
        clause_starts: set[int] = set()
        for raw in _TOKEN.findall(spell_symbols(display, rules).lower()):
            if not raw[0].isalnum():
                clause_starts.add(len(tokens))
            elif "'" in raw:
                tokens.extend(
                    normalise(piece)
                    for piece in raw.replace("n't", " not").replace("'", "").split()
                )
            else:
                tokens.append(cache.get(raw) or normalise(raw))
        if not tokens:
            continue
        words += len(tokens)
        norm = " ".join(tokens)
        if norm in seen:
            repeated += 1
            continue
        seen.add(norm)
        # Where each token starts in `norm`: the lengths before it, plus one space each.
        starts = map(add, accumulate(map(len, tokens[:-1]), initial=0), range(len(tokens)))
        sentences.append(
            Sentence(
                len(sentences),
                display,
                norm,
                tuple(tokens),
                tuple(starts),
                frozenset(clause_starts),
                not _NEGATION_WORDS.isdisjoint(tokens),
            )
        )
    return Answer(raw_chars, truncated, tuple(sentences), words, repeated)


# --- cue terms -------------------------------------------------------------------

_JOIN = r"[ /.-]?"  # between the words of a term: a space, slash, dot, hyphen or nothing
_GAP = r"(?: [^ \n]+){0,3}? "  # `..`: up to three words in between
_WIDE_GAP = r"(?: [^ \n]+){0,6}? "  # `...`: up to six words in between
_NUMBER = r"\d+(?:[.,]\d+)?"


def _word_regex(word: str) -> str:
    if word == "<n>":
        return _NUMBER
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"[a-z0-9]*"
    return re.escape(word)


def _split_words(chunk: str) -> list[str]:
    """Split on spaces, keeping a parenthesised group (which may hold spaces) whole."""
    words: list[str] = []
    depth = 0
    current = ""
    for ch in chunk:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == " " and depth == 0:
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


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
            options = [_phrase_regex(w.strip()) for w in word[1:-1].split("|")]
            piece = "(?:" + "|".join(options) + ")"
        else:
            piece = _word_regex(word)
        out += (_JOIN if joined else "") + piece
        joined = True
    return out


def term_regex(term: str) -> str:
    """A cue term to a regex over normalised text.

    `*` ends a word prefix ("monitor*"); `<n>` is any number; `(a|b c|d*)` is one
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
    if tok in _NEGATORS:
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
        if tok in _DISMISS:
            return True
        pair = (tok, tokens[i + 1] if i + 1 < stop else "")
        if pair in _DISMISS_PAIRS and (pair[1] != "a" or tokens[i - 1] in _COPULA):
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
    if word == "<n>":
        return {_NUMBER_KEY}
    if word.startswith("(") and word.endswith(")"):
        keys: set[str] = set()
        for option in word[1:-1].split("|"):
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
        if len(self._candidates) > _CACHE_LIMIT:
            self._candidates.clear()
        self._candidates[word] = result
        return result

    def find(self, answer: Answer) -> list[Hit]:
        """Every occurrence of every cue, in sentence order, marked when the answer denies it."""
        found: list[tuple[int, int, str, bool]] = []
        cached = self._candidates  # the hot loop: local names, the cache read inline
        for k, sentence in enumerate(answer.sentences):
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
