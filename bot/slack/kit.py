"""Block Kit building blocks shared by every message and view the bot renders.

The plain blocks are built as dicts: slack-sdk's models validate every field on each
to_dict(), most of the time rendering a feedback message (posted for every answer) took.
The interactive blocks (buttons, confirmations) keep the models, which check their limits.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.blocks.basic_components import ConfirmObject

SECTION_LIMIT = 2900  # Slack allows 3,000 characters of section text

Piece = Block | dict[str, Any]


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


def as_blocks(blocks: list[Piece]) -> list[dict[str, Any]]:
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def metadata(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": payload}


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
