"""An answer as claims: the sentences and clauses a grader can credit, and how each is held.

People answer in prose, bullets, numbered steps, commented configs and code. Before
the answer is split into sentences, config and code lines are read as content
(``max_error_rate: 0.5%  # abort the ramp above this`` says two things), and a
sentence that joins two independent claims with ``;`` or ``, but`` is cut in two, so
"we never had a canary, but every release shadows for a week" can credit the second
half without the first.

Each claim then gets a stance: asserted, or one of the ways prose says something
without claiming it - a question, a hypothetical, a negation, a dismissal, a metaphor,
filler. Only asserted claims earn credit. A few stances are certain from the words
alone (a question mark, "imagine we had …"); the rest come from the learned model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Literal

from bot.grading.text import STOPWORDS

Stance = Literal[
    "asserted", "hypothetical", "negated", "dismissed", "question", "filler", "metaphor", "offtopic"
]
STANCES: tuple[Stance, ...] = (
    "asserted",
    "hypothetical",
    "negated",
    "dismissed",
    "question",
    "filler",
    "metaphor",
    "offtopic",
)

_CONFIG = re.compile(
    r"^(?P<indent>[ \t]*(?:[-*][ \t]+)?)(?P<key>[A-Za-z_][\w.-]*)[ \t]*[:=][ \t]*(?P<value>[^#\n]*?)"
    r"[ \t]*(?:(?<=[ \t])#[ \t]*(?P<comment>.*))?$"
)
_COMMENT = re.compile(r"^[ \t]*(?:#+|//|--)[ \t]+(?P<text>\S.*)$")
_TRAILING_COMMENT = re.compile(r"^(?P<code>.*?\S)[ \t]+(?:#|//)[ \t]+(?P<text>\S.*)$")
# A clause that opens with a contrast and carries its own subject and verb is a claim of its
# own; one that points back ("but it was overkill", "but we never needed that") is not.
_CONTRAST = re.compile(r",?[ \t]+(?=(?:but|whereas|although|though|however)[ \t])", re.IGNORECASE)
_POINTS_BACK = re.compile(
    r"\b(?:it|that|this|them|those|one|ones|overkill|needed|worth|nicer|better|fancy|so)\b",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 5

_QUESTION_OPENERS = re.compile(
    r"^(?:so |and |but |ok |okay )?(?:should|shall|do|does|did|is|are|was|were|can|could|would|"
    r"how|what|why|when|where|which|who|isn't|aren't|don't|doesn't)\b",
    re.IGNORECASE,
)
_HYPOTHETICAL = re.compile(
    r"^(?:so |and |but |now )?(?:imagine|suppose|supposing|picture|hypothetically|in theory|"
    r"theoretically|let'?s say|say we had|say you have|if we (?:had|were)|if i (?:had|were)|"
    r"in an ideal world|ideally,? (?:one|you) would|in a perfect world|one day we might|"
    r"someday|some day|maybe one day)\b",
    re.IGNORECASE,
)

# Waving an idea away ("not needed", "overkill", "a waste of time") says the writer does not
# do it. With a reason attached ("streaming is overkill because a day-old score is fine") it
# is a decision, and the reason may earn credit, so those stay with the learned model.
_DISMISSAL = re.compile(
    r"\b(?:(?:not|never) (?:needed|necessary|required|worth it)|"
    r"(?:aren't|isn't|wasn't|weren't) (?:needed|necessary|required|worth it)|"
    r"never (?:needed|bothered|mattered)|(?:do|does|did)(?:n't| not) (?:bother|matter)|"
    r"no need (?:for|to)|overkill|overrated|over-engineering|overengineering|waste of (?:time|money)|"
    r"bureaucracy|red tape|box-ticking|invented by|pointless|unnecessary|wouldn't bother|"
    r"won't bother|(?:all|just) (?:the same thing|hype|overhead)|"
    r"i wouldn't (?:ask|bother|do|worry)|nobody (?:needs|cares)|"
    r"you (?:don't|dont|do not|won't) (?:really )?need\b(?! to\b)|cargo cult|admitting defeat|"
    r"nice[ -]to[ -]haves?\b|"
    r"(?:is|are) (?:only |just )?for (?:people|teams|folks|those) (?:who|that|whose))",
    re.IGNORECASE,
)
# A wish or a plan for later ("a canary would be nice", "OTA is on the Q3 roadmap") is not
# something the writer does; with a reason attached it is a decision.
_WISH = re.compile(
    r"\b(?:would(?: have|'ve)? been (?:nice|great|better|ideal)|would be (?:nice|nicer|great|ideal|good)|"
    r"(?:i|we)(?:'d| would) love (?:to|it)|on (?:the|our) (?:\w+ )?(?:roadmap|wishlist|wish list)|"
    r"maybe later|not (?:on )?day one|"
    # Talked of, not done: "I'd like to move it to Airflow", "we talked about adding a holdout".
    r"(?:i|we)(?:'d| would) like to (?:move|add|have|get|try|switch|set up|build|introduce|migrate)|"
    r"(?:we|i|they) (?:talked|thought|spoke|argued) about (?:adding|doing|using|setting|building|"
    r"introducing|having|moving|running))",
    re.IGNORECASE,
)
# What other people say or like ("people in this sub love A/B tests") is not the writer's claim,
# and a stock phrase ("it really depends on the use case") says nothing on its own.
_HEARSAY = re.compile(
    r"^(?:(?:and|but|so|honestly|also|well|ok|lol|tbh|i mean),? ){0,2}(?:people|everyone|everybody|folks)"
    r"(?: here| in this \w+| on \w+)? "
    r"(?:keep |always |often |usually |really )?(?:talk|talking|love|loves|say|says|recommend|swear|"
    r"jump|jumps|jumping)\b",
    re.IGNORECASE,
)
# What the books say ("I know the textbook says power analysis") or what holds "in theory"
# is not what the writer does.
_BOOKISH = re.compile(
    r"\b(?:textbooks?|books|tutorials?|courses?|blog posts?|the docs) (?:\w+ )?(?:says?|tells? you|"
    r"recommends?|wants?)\b|\bin theory\b",
    re.IGNORECASE,
)
_STOCK_PHRASE = re.compile(
    r"^(?:\w+ ){0,3}(?:it |this |that |the answer )?(?:really |always |all )?depends on (?:the |your |our )?"
    r"(?:requirements|use case|use-case|context|company|situation|case|team|needs)\b[^,;:]{0,25}$",
    re.IGNORECASE,
)
_REASON = re.compile(
    r"\b(?:because|since|as long as|so (?:we|i|the|a|it)|given (?:that|the)|unless|instead|"
    r"rather than|only when|only if|until|when (?:the|we|it)|but (?:we|i|the|every|it))\b",
    re.IGNORECASE,
)
_SALAD_WORDS = 8  # a sentence this long with almost no function words is a list of keywords …
_MEASURED = re.compile(r"\d")  # … unless it reports a measurement ("WER vs prod: 8.1% vs 8.6%")
# A ticked box ("✅ Canary", "Rollback: ✔") with a word or two says nothing was done.
_TICK = re.compile(r"[\u2705\u2714\u2611\u2713]|\[x\]", re.IGNORECASE)
_TICK_WORDS = 4
_LIST_TOOLS = 3  # a sentence naming this many tools …
_WORDS_PER_LISTED_TOOL = 2  # … in at most this many words each is a list of names


_WRAP_MIN_CHARS = 40  # a line this long that stops mid-sentence was wrapped, not ended
_ENDS_SENTENCE = re.compile(r"[.!?:;)\]`]\s*$")
_LIST_MARK = re.compile(r"^\s*(?:[-*•◦▪‣>#|`]|//|\d{1,2}[.)]\s)")
_CARRIES_ON = re.compile(r"^\s*[a-z0-9(]")


def _opens_line(line: str) -> bool:
    """A bullet, a numbered step, a quote, a comment or a config key starts a line of its own."""
    return bool(_LIST_MARK.match(line) or _COMMENT.match(line) or _CONFIG.match(line))


def _fenced_lines(text: str) -> Iterator[tuple[str, bool, bool]]:
    """Each line with whether it is a ``` fence and whether it sits inside a fenced block."""
    fenced = False
    for line in text.split("\n"):
        fence = line.lstrip().startswith("```")
        if fence:
            fenced = not fenced
        yield line, fence, fenced and not fence


def join_wrapped_lines(text: str) -> str:
    """Undo hard wrapping (text pasted from an email, an editor or a forum): a long line that
    stops mid-sentence continues on the next, unless that one opens a bullet, a config key or
    a comment. Lists of short lines and code blocks keep their lines."""
    out: list[str] = []
    for line, fence, fenced in _fenced_lines(text):
        if fence:
            out.append(line)
            continue
        previous = out[-1] if out else ""
        if (
            not fenced
            and len(previous.strip()) >= _WRAP_MIN_CHARS
            and not _ENDS_SENTENCE.search(previous)
            and not _opens_line(previous)
            and _CARRIES_ON.match(line)
            and not _opens_line(line)
        ):
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


def config_lines(text: str) -> int:
    """How many lines read as config keys or code comments: a config is no keyword salad.
    Outside a fenced block a key counts when it looks like one (`canary_share:`, or a comment
    beside it), so "Rollout: shadow first" is prose; inside one every key does (`setWeight: 5`)."""
    count = 0
    for line, fence, fenced in _fenced_lines(text):
        config = _CONFIG.match(line)
        if not fence and (
            _COMMENT.match(line)
            or (config is not None and (fenced or "_" in config["key"] or config["comment"]))
        ):
            count += 1
    return count


def read_config_lines(text: str) -> str:
    """Config keys, values and comments as words: `canary_share: 5%  # then 25%` reads as
    "canary share: 5%." and "canary share, then 25%" on its own line. A nested key carries the
    keys it sits under (`retrain:` / `also_when:` / `psi_any_feature: > 0.25` reads as
    "retrain also when psi any feature: > 0.25."), for that is where its meaning is."""
    lines: list[str] = []
    sections: list[tuple[int, str]] = []  # the enclosing keys that open a block: indent, words
    for line in text.split("\n"):
        comment = _COMMENT.match(line)
        if comment:
            lines.append(comment["text"])
            continue
        config = _CONFIG.match(line)
        if config:
            indent = len(config["indent"])
            while sections and sections[-1][0] >= indent:
                sections.pop()
            if sections or "_" in config["key"] or config["comment"] or not config["value"]:
                own = config["key"].replace("_", " ").replace("-", " ").replace(".", " ")
                key = " ".join([w for _, w in sections] + [own])
                value = config["value"].strip().strip("'\"")
                lines.append(f"{config['indent']}{key}: {value}".rstrip(": ") + ".")
                if config["comment"]:
                    lines.append(f"{key}, {config['comment']}")
                if not value:
                    sections.append((indent, own))
                continue
        if line.strip():
            sections.clear()
        trailing = _TRAILING_COMMENT.match(line)
        if trailing and _looks_like_code(trailing["code"]):
            lines.extend((trailing["code"], trailing["text"]))
            continue
        lines.append(line)
    return "\n".join(lines)


def _looks_like_code(code: str) -> bool:
    return bool(re.search(r"[=(){}\[\]]|^\s*(?:def|return|if|for|kubectl|docker|helm)\b", code))


def split_clauses(text: str) -> str:
    """Cut sentences at `;` and at a contrast that opens a clause of its own (one per line)."""
    out: list[str] = []
    for line in text.split("\n"):
        pieces: list[str] = []
        for part in re.split(r";[ \t]+", line):
            pieces.extend(_split_contrast(part))
        out.append("\n".join(pieces))
    return "\n".join(out)


def _split_contrast(part: str) -> list[str]:
    bits = _CONTRAST.split(part)
    if len(bits) == 1:
        return [part]
    merged = [bits[0]]
    for bit in bits[1:]:
        own_claim = len(bit.split()) >= _MIN_CLAUSE_WORDS and not _POINTS_BACK.search(
            " ".join(bit.split()[1:4])
        )
        if own_claim and len(merged[-1].split()) >= 3:
            merged.append(bit)
        else:
            merged[-1] = f"{merged[-1]}, {bit}" if merged[-1] else bit
    return merged


# A figure the writer announces as one ("the analogy that worked: training is writing the
# song, deployment is taking the band on tour") is a comparison made on purpose, not a text
# about something else.
_ANALOGY = re.compile(
    r"\banalog(?:y|ies)\b|\bthink of (?:it|this|that) (?:as|like)\b", re.IGNORECASE
)


def announces_analogy(display: str) -> bool:
    return bool(_ANALOGY.search(display))


TITLE_MAX_WORDS = 14


def has_title(text: str) -> bool:
    """The answer opens with a title: a first line set apart by a blank line, with no end to
    its sentence ("Deploying a text classifier with FastAPI (part 3)", "# How we ship
    rankers"). A title names the topic; it claims nothing."""
    lines = text.strip().split("\n")
    if len(lines) < 3 or lines[1].strip():
        return False
    first = lines[0].strip().strip("#*_ ")
    return bool(first) and first[-1] not in ".!?:;" and len(first.split()) <= TITLE_MAX_WORDS


# A template's slot ("Root causes: [What caused the incident]", "Owner: <name>", "Impact: TBD")
# is a field left to fill in, not something the writer says.
_PLACEHOLDER = re.compile(
    r"^[\w /&()'-]{1,40}:\s*(?:\[[^\]]*\]|<[^>]*>|\{[^}]*\}|tbd|todo|n/a|\.\.\.|…)\s*$",
    re.IGNORECASE,
)


def certain_stance(display: str, tokens: Sequence[str] = (), tools: int = 0) -> Stance | None:
    """The stance the words alone settle: a question, an imagined case, an idea waved away
    with no reason given, a ticked box, a run of words with nothing to hold them together,
    or a list of `tools` names ("Docker + Kubernetes + MLflow + Seldon") that says nothing
    of what was done with them."""
    text = display.strip()
    if _PLACEHOLDER.match(text):
        return "filler"
    if text.endswith("?") or (_QUESTION_OPENERS.match(text) and "?" in text):
        return "question"
    if _HYPOTHETICAL.match(text):
        return "hypothetical"
    if _DISMISSAL.search(text) and not _REASON.search(text):
        return "dismissed"
    if _WISH.search(text) and not _REASON.search(text):
        return "hypothetical"
    if _HEARSAY.match(text) or _BOOKISH.search(text) or _STOCK_PHRASE.match(text.rstrip(".!")):
        return "filler"
    if _TICK.search(text) and len(tokens) <= _TICK_WORDS:
        return "filler"
    if tools >= _LIST_TOOLS and len(tokens) <= _WORDS_PER_LISTED_TOOL * tools:
        return "filler"
    if tools and len(tokens) <= tools:  # a bullet that is only a name: "🔹 Docker"
        return "filler"
    if (
        len(tokens) >= _SALAD_WORDS
        and sum(t in STOPWORDS for t in tokens) < 0.08 * len(tokens)
        and not _MEASURED.search(text)
    ):
        return "filler"
    return None
