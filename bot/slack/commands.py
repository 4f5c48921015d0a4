"""Parsing `/deploy-question` text into a typed command (pure; no Slack calls)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.questions import SENIORITIES

SUBCOMMANDS = frozenset(
    "help list schedule stats leaderboard mock level forget-me team digest share review".split()
)
MAX_TEXT = 4000  # Slack caps slash-command text well below this
REVIEW_USAGE = "/deploy-question review on [weekends|weekdays] | off | status"


@dataclass(frozen=True)
class Command:
    # ask | help | list | level | forget-me | schedule | stats | leaderboard | mock | team | digest
    # | share
    # | review
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """Malformed input: what went wrong and the usage to show."""

    problem: str
    usage: str


def printable(text: str) -> str:
    """`text` without control and format characters (a null byte, terminal escapes, bidi
    overrides), which replies must never echo back; tabs and line breaks become spaces."""
    return "".join(
        " " if c in "\t\n\r" else c
        for c in text
        if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cf")
    )


def parse_command(text: str) -> Command | Usage:
    words = printable(text[:MAX_TEXT]).split()
    if not words:
        return Command("ask")
    head, rest = words[0].lower(), tuple(words[1:])
    if head in ("help", "?", "-h", "--help"):
        return Command("help")
    if head == "list":
        return Command("list")
    if head == "level":
        if len(rest) == 1 and rest[0].lower() in SENIORITIES:
            return Command("level", (rest[0].lower(),))
        return Usage(
            "Tell me your level: entry, mid, senior or staff.",
            "/deploy-question level entry|mid|senior|staff",
        )
    if head in ("forget-me", "forgetme", "forget"):
        return Command("forget-me")
    if head == "share":
        return _share(rest)
    if head == "review":
        return parse_review(rest)
    if head in ("schedule", "stats", "leaderboard", "mock", "team", "digest"):
        return Command(head, rest)
    if len(words) > 1:
        return Usage(
            f"I don't know the subcommand “{head[:40]}”.",
            "/deploy-question help",
        )
    return Command("ask", (words[0],))


def _share(rest: tuple[str, ...]) -> Command | Usage:
    """`share on|off|status`: the opt-in to share disputed answers for calibration."""
    choice = rest[0].lower() if len(rest) == 1 else ""
    if choice in ("on", "off", "status"):
        return Command("share", (choice,))
    return Usage(
        "Say whether to share your disputed answers with your team's calibration review.",
        "/deploy-question share on|off|status",
    )


def parse_review(rest: tuple[str, ...]) -> Command | Usage:
    """`review` (or `review status`), `review off`, `review on [weekends|weekdays]`."""
    words = tuple(w.lower() for w in rest)
    if words in ((), ("status",)):
        return Command("review", ("status",))
    if words == ("off",):
        return Command("review", ("off",))
    if words[:1] == ("on",) and words[1:] in ((), ("weekends",), ("weekdays",)):
        return Command("review", words)
    return Usage(
        "Spaced review takes `on`, `on weekends`, `on weekdays`, `off` or `status`.", REVIEW_USAGE
    )


MOCK_USAGE = "/deploy-question mock [question-id | topic] [@colleague]"
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class MockRequest:
    """`mock [question-id | topic] [@colleague]`: what to ask, and who interviews (None: the bot)."""

    wanted: str | None
    interviewer: str | None


def parse_mock(args: tuple[str, ...], *, user: str) -> MockRequest | Usage:
    interviewer = None
    wanted = None
    for arg in args:
        mention = _MENTION.match(arg)
        if mention:
            interviewer = mention.group(1)
        elif arg.startswith("@"):
            return Usage(
                f"I couldn't tell who “{arg[:40]}” is - pick them from Slack's @-mention menu so "
                "it becomes a real mention.",
                MOCK_USAGE,
            )
        elif wanted is None:
            wanted = arg
        else:
            return Usage(
                "A mock interview takes one question and one colleague at most.", MOCK_USAGE
            )
    if interviewer == user:
        return Usage(
            "You can't interview yourself - mention a colleague, or leave them out to practise "
            "with me.",
            MOCK_USAGE,
        )
    return MockRequest(wanted, interviewer)
