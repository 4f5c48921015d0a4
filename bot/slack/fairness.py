"""The "Was this fair?" control under every feedback message and scorecard, the dispute form
behind its thumbs down, and what the person is told (privately).

The control is Slack's feedback buttons element (`feedback_buttons` in a `context_actions`
block). Where a workspace's Slack does not take it (FEEDBACK_BUTTONS=plain, or a post answered
`invalid_blocks`), `to_plain` turns it into two ordinary buttons beside Details. Either way a
button's value is `up:<key>` or `down:<key>`, the key being the Details key (`attempt:42`,
`mock:7`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from bot.calibration import DisputeForm, Verdict
from bot.calibration_figures import Disputed
from bot.dashboard import DISPUTED_DAYS
from bot.grading.grade import MAX_LEVEL
from bot.slack.feedback import DETAILS_ACTION
from bot.slack.interview import rated_criteria
from bot.slack.kit import Piece, as_dicts, context, escape, section

FAIR_ACTION = "drill_fair"  # the feedback buttons element
FAIR_UP = "drill_fair_up"  # the plain buttons
FAIR_DOWN = "drill_fair_down"
FAIR_ACTIONS = (FAIR_ACTION, FAIR_UP, FAIR_DOWN)
DISPUTE_VIEW = "drill_dispute"
SHARE = "share"
Style = Literal["native", "plain"]

LEVEL_WORDS = {0: "missed", 1: "partly", 2: "fully"}
UP_TEXT, DOWN_TEXT = "👍 Fair", "👎 Not fair"
UP_LABEL = "Was this grade fair? Yes"
DOWN_LABEL = "Was this grade fair? No: say which criteria I misjudged"


def control(key: str) -> dict[str, Any]:
    """The thumbs up/down: Slack's feedback buttons, in a context actions block."""
    return {
        "type": "context_actions",
        "block_id": FAIR_ACTION,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FAIR_ACTION,
                "positive_button": {
                    "text": {"type": "plain_text", "text": UP_TEXT},
                    "value": f"up:{key}",
                    "accessibility_label": UP_LABEL,
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": DOWN_TEXT},
                    "value": f"down:{key}",
                    "accessibility_label": DOWN_LABEL,
                },
            }
        ],
    }


def _plain_buttons(element: dict[str, Any]) -> list[dict[str, Any]]:
    buttons = []
    for side, action, label in (
        ("positive_button", FAIR_UP, UP_LABEL),
        ("negative_button", FAIR_DOWN, DOWN_LABEL),
    ):
        button = element.get(side) or {}
        buttons.append(
            {
                "type": "button",
                "text": button.get("text") or {"type": "plain_text", "text": side},
                "action_id": action,
                "value": str(button.get("value") or ""),
                "accessibility_label": label,
            }
        )
    return buttons


def has_native_control(payload: dict[str, Any]) -> bool:
    return any(b.get("type") == "context_actions" for b in payload.get("blocks") or [])


def to_plain(payload: dict[str, Any]) -> dict[str, Any]:
    """The same message with the feedback buttons as two plain buttons, beside Details when
    the message has it (no extra block), else in an actions block of their own."""
    blocks: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []
    for block in payload.get("blocks") or []:
        if block.get("type") != "context_actions":
            blocks.append(block)
            continue
        for element in block.get("elements") or []:
            if element.get("type") == "feedback_buttons":
                buttons += _plain_buttons(element)
    if not buttons:
        return payload
    for i, block in enumerate(blocks):
        ids = [e.get("action_id") for e in block.get("elements") or []]
        if block.get("type") == "actions" and DETAILS_ACTION in ids:
            blocks[i] = {**block, "elements": [*block["elements"], *buttons]}
            break
    else:
        blocks.append({"type": "actions", "block_id": FAIR_ACTION, "elements": buttons})
    return {**payload, "blocks": blocks}


def with_control(payload: dict[str, Any], key: str | None, style: Style) -> dict[str, Any]:
    """A feedback or scorecard payload with "Was this fair?" at its end."""
    if not key:
        return payload
    added = {**payload, "blocks": [*payload.get("blocks", []), control(key)]}
    return to_plain(added) if style == "plain" else added


def parse_value(value: str) -> tuple[bool, str] | None:
    """(fair?, key) from a button's value; None when it is not one of ours."""
    side, _, key = value.partition(":")
    if side not in ("up", "down") or ":" not in key:
        return None
    return side == "up", key


# --- the dispute form -------------------------------------------------------------------------


def dispute_modal(form: DisputeForm, response_url: str | None) -> dict[str, Any]:
    """Which criteria were misjudged (each with the level the author would give; the bot's
    level is not offered), the score they'd give, a note, and the opt-in to share."""
    judged = form.judged
    grade = judged.grade
    pieces: list[Piece] = [
        section(
            f"*{escape(judged.question.title)}*\nI gave *{grade.score}/100* ({grade.band}) · "
            f"graded by `{escape(grade.grader)}`"
        ),
        context(
            "Mark the criteria I misjudged, with the level you'd give. Only you see this: the "
            "feedback in the thread stays as it is. Your team reviews disputes to improve the "
            "rubric and the grader."
        ),
    ]
    for c in grade.criteria:
        options = [
            {"text": {"type": "plain_text", "text": f"{word} ({level})"}, "value": str(level)}
            for level, word in LEVEL_WORDS.items()
            if level != c.level and level <= MAX_LEVEL
        ]
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": "level",
            "placeholder": {"type": "plain_text", "text": "Fair as it is"},
            "options": options,
        }
        earlier = [o for o in options if o["value"] == str(form.levels.get(c.id))]
        if earlier:
            select["initial_option"] = earlier[0]
        pieces.append(
            {
                "type": "input",
                "block_id": f"crit_{c.id}",
                "optional": True,
                "label": {
                    "type": "plain_text",
                    "text": f"{c.name[:120]} - I gave: {LEVEL_WORDS.get(c.level, c.level)}",
                },
                "element": select,
            }
        )
    share: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [
            {
                "text": {"type": "plain_text", "text": "Share my disputed answers and notes"},
                "description": {
                    "type": "plain_text",
                    "text": "with my team's calibration review: quoted in its report, and "
                    "exported as test answers for the grader. /deploy-question share off "
                    "or forget-me stops it.",
                },
                "value": SHARE,
            }
        ],
    }
    if form.shared:
        share["initial_options"] = share["options"]
    pieces += [
        {
            "type": "input",
            "block_id": "score",
            "optional": True,
            "label": {"type": "plain_text", "text": "The score you'd give (0-100)"},
            "element": {
                "type": "number_input",
                "action_id": "value",
                "is_decimal_allowed": False,
                "min_value": "0",
                "max_value": "100",
                **({"initial_value": str(form.score)} if form.score is not None else {}),
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Anything else I should know?"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": 1000,
                **({"initial_value": form.note} if form.note else {}),
            },
        },
        {
            "type": "input",
            "block_id": SHARE,
            "optional": True,
            "label": {"type": "plain_text", "text": "Sharing"},
            "element": share,
        },
    ]
    return {
        "type": "modal",
        "callback_id": DISPUTE_VIEW,
        "private_metadata": json.dumps({"key": judged.key, "url": response_url}),
        "title": {"type": "plain_text", "text": "Was this grade fair?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": as_dicts(pieces),
    }


def dispute_form_of(private_metadata: str) -> tuple[str, str | None]:
    """(key, response_url of the feedback) a dispute form carries."""
    try:
        data = json.loads(private_metadata)
        return str(data["key"]), (str(data["url"]) if data.get("url") else None)
    except (ValueError, KeyError, TypeError):
        return "", None


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    found = (values.get(block) or {}).get("value")
    return found if isinstance(found, dict) else {}


def read_dispute(
    values: dict[str, Any],
) -> tuple[dict[str, int], int | None, str, bool] | dict[str, str]:
    """(levels, score, note, share) from the submitted form, or the errors to show."""
    levels = rated_criteria(values)
    raw = str(_value(values, "score").get("value") or "").strip()
    if raw and not (raw.isdigit() and 0 <= int(raw) <= 100):
        return {"score": "A whole number from 0 to 100, or leave it empty."}
    score = int(raw) if raw else None
    note = str(_value(values, "note").get("value") or "").strip()
    chosen_share = _value(values, SHARE).get("selected_options") or []
    share = any(o.get("value") == SHARE for o in chosen_share if isinstance(o, dict))
    if not levels and score is None and not note:
        first = next((b for b in values if b.startswith("crit_")), "note")
        return {first: "Mark a criterion I misjudged, or give a score or a note."}
    return levels, score, note, share


# --- what the person is told -------------------------------------------------------------------


def refusal(verdict: Verdict) -> str:
    if verdict is Verdict.NOT_THE_AUTHOR:
        return (
            "Only the person who answered can say whether their grade was fair. Nothing was "
            "recorded. Answer the question yourself for a grade of your own."
        )
    return (
        "That answer is no longer kept (`forget-me` or the retention period), so there is "
        "nothing to judge."
    )


def thanks_fair() -> str:
    return (
        ":thumbsup: Thanks - noted that this grade felt fair. Only you see this; nothing in "
        "the thread changes."
    )


def thanks_dispute(levels: dict[str, int], score: int | None, shared: bool) -> str:
    marked = f"{len(levels)} criteri{'on' if len(levels) == 1 else 'a'}" if levels else ""
    what = " and ".join(p for p in (marked, "your score" if score is not None else "") if p)
    said = f"your view on {what}" if what else "your note"
    sharing = (
        " Your answer and note are shared with that review (`/deploy-question share off` stops it)."
        if shared
        else " Your answer stays private (tick *Share* in the form, or "
        "`/deploy-question share on`, to let the review quote it)."
    )
    return (
        f":memo: Thanks - I've recorded {said}. Only you see this; the feedback in the thread "
        "stays as it is. Your team reviews disputed grades to improve the rubric and the "
        f"grader.{sharing}"
    )


def share_reply(shared: bool, *, changed: bool) -> str:
    if shared:
        lead = "Sharing is on" if changed else "Sharing is on (it was already)"
        return (
            f"{lead}: the answers whose grade you dispute, and your notes, can be quoted in your "
            "team's calibration report and exported as test answers for the grader. "
            "`/deploy-question share off` stops it; `forget-me` deletes it all."
        )
    lead = "Sharing is off" if changed else "Sharing is off (it was already)"
    return (
        f"{lead}: your disputed answers and notes are not quoted or exported. Your "
        '"Was this fair?" answers still count, anonymously, in the dispute figures. '
        "`/deploy-question share on` to share."
    )


def home_lines(disputed: Sequence[Disputed]) -> list[dict[str, Any]]:
    """The admins' App Home: the most disputed criteria of the workspace."""
    pieces: list[Piece] = [
        section(
            f"*Most disputed criteria* in the last {DISPUTED_DAYS} days (“Was this fair?” "
            "under feedback)"
        )
    ]
    if not disputed:
        pieces.append(
            context(
                "No disputed grades yet. `deploy-drill calibration report` shows the figures "
                "per question and criterion."
            )
        )
        return as_dicts(pieces)
    lines = []
    for rank, d in enumerate(disputed, 1):
        c = d.criterion
        rate = f" ({c.dispute_rate:.0%})" if c.dispute_rate is not None else ""
        lines.append(
            f"{rank}. *{escape(c.name)}* in _{escape(d.question_title)}_: {c.disputes} of "
            f"{c.grades} grades disputed{rate} · asked higher {c.raised}, lower {c.lowered}"
        )
    pieces += [
        section("\n".join(lines)),
        context("`deploy-drill calibration report` has quotes, paired-mock agreement and trends."),
    ]
    return as_dicts(pieces)
