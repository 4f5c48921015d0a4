"""Reading an answer the way people type it in Slack.

Turns mrkdwn into plain sentences (links, mentions, emoji, bullets, code blocks),
and normalises spelling (British forms, common typos of the rubric's own words; an English
word is never a typo). Where cue terms occur is `cues.py`'s job. Pure functions; the English
word list is read once (`english.py`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from operator import add

from bot.grading.english import MIN_LETTERS, is_english_word

MAX_CHARS = 40_000
MAX_SENTENCE_WORDS = 60  # longer "sentences" are run-ons, cut into pieces …
RUN_ON_PIECE_WORDS = 40  # … of this many words
WORDS_PER_SECOND = 2.5  # about 150 spoken words a minute
CACHE_LIMIT = 50_000

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

NEGATORS = frozenset(
    """
    no not never without none nothing neither nor skip skipped skipping forgot forgotten
    lacked lacking lack lacks missing zero nobody noone nowhere hardly barely
    """.split()
)
# A dismissal after the concept denies it: "canaries are overkill", "A/B testing
# was not something we did", "monitoring? not needed".
DISMISS = frozenset("overkill unnecessary pointless needless useless optional".split())
DISMISS_PAIRS = frozenset(
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
_NEGATION_WORDS = NEGATORS | DISMISS | {"than", "of", "one"} | {a for a, _ in DISMISS_PAIRS}


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
        if len(token) < MIN_LETTERS or token in self.words or not token.isalpha():
            return token
        fixed = self._nearest(token)
        # A real word is not a slip: "project" is not "protect", nor "waiting" "wasting".
        return token if fixed is None or is_english_word(token) else fixed

    def _nearest(self, token: str) -> str | None:
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
        return None

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
        if len(self._cache) > CACHE_LIMIT:
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


# Function words: what holds a sentence together (few of them: a pile of names).
STOPWORDS = frozenset(
    """
    a an the and or but so if then than that this these those it its we i our my you your
    they their he she to of in on at by for with from into onto as is are was were be been
    being have has had do does did will would can could should may might must not no when
    while because before after during until once also just only very really what which who
    how why where there here about over under up down out all any each every some most more
    less same other such both either neither nor too
    """.split()
)
# The words that hold a sentence together; "then" is left out because an arrow reads as it.
GLUE_WORDS = STOPWORDS - frozenset({"then"})
