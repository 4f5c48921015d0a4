"""The small pieces every Block Kit message and view is built from: escaping, quotes,
blocks, buttons, metadata.

User text (quotes from answers) is always escaped here: `&`, `<`, `>` become
entities so no quote can produce a live @channel, @here or user mention, and
quotes are cut short so a long answer cannot break a block's size limit.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.blocks.basic_components import ConfirmObject

from bot.slack.commands import printable

QUOTE_LIMIT = 280
SECTION_LIMIT = 2900  # Slack allows 3,000 characters of section text
BAND_EMOJI = {
    "strong": ":large_green_circle:",
    "solid": ":large_blue_circle:",
    "developing": ":large_yellow_circle:",
    "weak": ":red_circle:",
}

# The plain blocks are built as dicts: slack-sdk's models validate every field on each
# to_dict(), most of the time rendering a feedback message (posted for every answer) took.
# The interactive blocks (buttons, confirmations) keep the models.
Piece = Block | dict[str, Any]


def escape(text: str) -> str:
    """Escape user text for mrkdwn: no live mentions, no broken markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A short, escaped, single-line quote of user text (no control characters)."""
    flat = " ".join(printable(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    # Backticks and formatting characters would re-style the quote; keep it literal-ish.
    flat = flat.replace("`", "'")
    return escape(flat)


def cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": cut(text, 150), "emoji": True},
    }


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, 1900)}]}


def as_dicts(blocks: list[Piece]) -> list[dict[str, Any]]:
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def metadata(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": payload}


def model_answer(text: str) -> str:
    """A model answer as a block quote, paragraph by paragraph."""
    return "\n>\n".join("> " + escape(p) for p in text.split("\n\n") if p.strip())


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    confirm: tuple[str, str, str] | None = None,  # title, text, confirm label
) -> ButtonElement:
    return ButtonElement(
        text=text,
        action_id=action_id,
        value=value or None,
        style=style,
        confirm=(
            ConfirmObject(title=confirm[0], text=confirm[1], confirm=confirm[2], deny="Cancel")
            if confirm
            else None
        ),
    )


def actions(*buttons: ButtonElement, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=list(buttons))
