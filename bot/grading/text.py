"""Reading an answer the way people type it in Slack.

Turns mrkdwn into plain sentences (links, mentions, emoji, bullets, code blocks),
normalises spelling (British forms, common typos of the rubric's own words) and
finds where cue terms occur, skipping the ones that are denied ("we never set up
drift monitoring"). Pure functions; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_CHARS = 40_000
WORDS_PER_SECOND = 2.5  # about 150 spoken words a minute

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_LINK = re.compile(r"<(?:https?|mailto):[^|>\s]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>\s]*>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_MENTION = re.compile(r"<[@!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+\-']{1,40}:")
_FENCE = re.compile(r"```")
_FORMAT = re.compile(r"(?<![\w*_~])[*_~]+|[*_~]+(?![\w*_~])")
_BULLET = re.compile(r"^\s*(?:[-*•◦▪‣>]|\d{1,2}[.)]|[a-z][.)])\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"[a-z0-9]+(?:['/.-][a-z0-9]+)*|[,;:()]|\s-\s")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": " - "})

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
    """.split()
)

_BRITISH = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"ise(d|s)?\b"), r"ize\1"),
    (re.compile(r"ising\b"), "izing"),
    (re.compile(r"yse(d|s)?\b"), r"yze\1"),
    (re.compile(r"ysing\b"), "yzing"),
    (re.compile(r"our\b"), "or"),
    (re.compile(r"ours\b"), "ors"),
    (re.compile(r"ogue\b"), "og"),
    (re.compile(r"tre\b"), "ter"),
    (re.compile(r"lled\b"), "led"),
    (re.compile(r"lling\b"), "ling"),
)

_NEGATORS = frozenset(
    """
    no not never without none nothing neither nor skip skipped skipping forgot forgotten
    lacked lacking missing zero
    """.split()
)
_NEGATION_END = frozenset(
    """
    but however although though then so which because while whereas until yet instead
    """.split()
)
_ABSENCE = frozenset(
    "without skip skipped skipping forgot forgotten lacked lacking missing".split()
)
_NOT_NEGATION = (("not", "only"), ("no", "matter"), ("not", "just"), ("no", "longer"))


@dataclass(frozen=True)
class Sentence:
    index: int
    display: str  # cleaned text, original case, for quoting
    norm: str  # lowercase, normalised spelling, single spaces
    tokens: tuple[str, ...]
    token_starts: tuple[int, ...]
    clause_starts: frozenset[int]  # token indices that open a clause (after , ; : or a dash)


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
        if hit is not None and abs(len(hit) - len(token)) <= 1:
            return hit
        for i in range(len(token)):
            hit = self._deletes.get(token[:i] + token[i + 1 :])
            if hit is not None and abs(len(hit) - len(token)) <= 1 and hit[0] == token[0]:
                return hit
        return token


def clean_mrkdwn(text: str) -> str:
    """Slack mrkdwn to plain text, keeping line structure."""
    text = _CONTROL.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LINK.sub(r"\1", text)
    text = _BARE_LINK.sub(" ", text)
    text = _CHANNEL.sub(r"#\1", text)
    text = _MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _FENCE.sub("\n", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _FORMAT.sub("", text)
    text = _BULLET.sub("\n", text)
    return text


def _normalise_word(word: str, vocab: Vocabulary) -> str:
    if word.isalpha() and len(word) > 4:
        for pattern, repl in _BRITISH:
            americanised = pattern.sub(repl, word)
            if americanised != word and americanised in vocab.words:
                return americanised
        return vocab.correct(word)
    return word


def read_answer(text: str, vocab: Vocabulary, max_chars: int = MAX_CHARS) -> Answer:
    """Split an answer into unique, normalised sentences."""
    raw_chars = len(text)
    truncated = raw_chars > max_chars
    if truncated:
        text = text[:max_chars]
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    cleaned = clean_mrkdwn(text)
    sentences: list[Sentence] = []
    seen: set[str] = set()
    repeated = 0
    words = 0
    for chunk in _SENTENCE_END.split(cleaned):
        display = " ".join(chunk.split())
        if not display:
            continue
        tokens: list[str] = []
        starts: list[int] = []
        clause_starts: set[int] = set()
        pos = 0
        for m in _TOKEN.finditer(display.lower()):
            raw = m.group(0)
            if not raw[0].isalnum():
                clause_starts.add(len(tokens))
                continue
            for piece in raw.replace("n't", " not").replace("'", "").split():
                fixed = _normalise_word(piece, vocab)
                tokens.append(fixed)
                starts.append(pos)
                pos += len(fixed) + 1
        if not tokens:
            continue
        words += len(tokens)
        norm = " ".join(tokens)
        if norm in seen:
            repeated += 1
            continue
        seen.add(norm)
        sentences.append(
            Sentence(
                len(sentences),
                display,
                norm,
                tuple(tokens),
                tuple(starts),
                frozenset(clause_starts),
            )
        )
    return Answer(raw_chars, truncated, tuple(sentences), words, repeated)


def _word_regex(word: str) -> str:
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"[a-z0-9]*"
    return re.escape(word)


def _term_regex(term: str) -> str:
    """A cue term to a regex over normalised text.

    `*` ends a word prefix ("monitor*"); `(a|b*)` is one word of several; `..`
    allows up to three words between
    ("latency .. target*"); spaces also match hyphens or nothing ("roll back"
    matches "rollback" and "roll-back").
    """
    parts = []
    for chunk in term.split(" .. "):
        words = []
        for word in chunk.split():
            if word.startswith("(") and word.endswith(")"):
                words.append("(?:" + "|".join(_word_regex(w) for w in word[1:-1].split("|")) + ")")
            else:
                words.append(_word_regex(word))
        parts.append(r"[\s-]?".join(words))
    return r"(?:[\s-]\S+){0,3}?[\s-]".join(parts)


def compile_cues(cues: Mapping[str, Iterable[str]]) -> dict[str, re.Pattern[str]]:
    compiled = {}
    for cue, terms in cues.items():
        alternatives = "|".join(_term_regex(t) for t in sorted(terms, key=len, reverse=True))
        compiled[cue] = re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")
    return compiled


def token_index(sentence: Sentence, offset: int) -> int:
    """The token that contains character `offset` of the sentence's norm text."""
    return max(0, bisect_right(sentence.token_starts, offset) - 1)


def is_denied(sentence: Sentence, offset: int) -> bool:
    """Whether the words before `offset` deny it ("no canary", "we never set up drift …").

    The nearest negator in the same clause decides. A double negative with a word
    of absence ("we never ship without a canary", "we don't skip validation")
    affirms.
    """
    index = token_index(sentence, offset)
    tokens = sentence.tokens
    nearest: int | None = None
    for i in range(index - 1, max(-1, index - 9), -1):
        if tokens[i] in _NEGATION_END:
            break
        if tokens[i] in _NEGATORS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if (tokens[i], nxt) in _NOT_NEGATION:
                continue
            if nearest is None:
                nearest = i
                if tokens[i] not in _ABSENCE:
                    return True
            else:
                return False  # "never … without": the two cancel
        if i in sentence.clause_starts:
            break
    return nearest is not None


def find_hits(answer: Answer, compiled: Mapping[str, re.Pattern[str]]) -> list[Hit]:
    """Every occurrence of every cue, in sentence order, marked when the answer denies it."""
    hits: list[Hit] = []
    for sentence in answer.sentences:
        for cue, pattern in compiled.items():
            for m in pattern.finditer(sentence.norm):
                hits.append(Hit(cue, sentence.index, m.start(), is_denied(sentence, m.start())))
    return hits
