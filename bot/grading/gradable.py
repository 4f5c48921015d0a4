"""Whether a reply can be graded at all, and what to say when it cannot.

Slack, the terminal and the CLI give the same answer to an empty, emoji-only, too
short or non-English reply: a kind nudge instead of a score that would count.
"""

from __future__ import annotations

import re

from bot.grading.language import detect_other_language

_WORD_OR_MARKUP = re.compile(r":[a-z0-9_+\-']+:|<[^>]*>|([^\W\d_]{2,})")
_EMOJI_ONLY = re.compile(r"^(?:\s|:[a-z0-9_+\-']+:|[^\w\s])*$", re.UNICODE)

NUDGES = {
    "empty": "That doesn't look like an answer yet.",
    "emoji_only": "Emoji are nice, but they don't look like an answer yet.",
    "too_short": "That's a little short to grade.",
    "not_english": (
        "Thanks for answering! It looks like this isn't in English, and I can only grade "
        "English answers for now, so this one gets no score."
    ),
}
# Reasons the person should try again in other words, not simply say more.
NOT_ABOUT_LENGTH = frozenset({"not_english"})


def not_an_answer(text: str) -> str | None:
    """Why a reply cannot be graded (`empty`, `emoji_only`, `too_short`, `not_english`),
    or None if it can."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _EMOJI_ONLY.match(stripped):
        return "emoji_only"
    # Words outside emoji codes, links and mentions; three are enough to grade.
    words = 0
    for m in _WORD_OR_MARKUP.finditer(stripped):
        if m.group(1) is not None:
            words += 1
            if words == 3:
                break
    if words < 3:
        return "too_short"
    if detect_other_language(stripped) is not None:
        return "not_english"
    return None
