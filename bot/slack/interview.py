"""Mock-interview messages: follow-ups, the scorecard, the closing note, the interviewer's
brief and rating, and the rating form."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.grading.grade import CriterionResult, Grade
from bot.mock import FINISHED
from bot.questions import Question
from bot.slack.feedback import scorecard_message
from bot.slack.kit import Piece, escape, quote
from bot.slack.kit import as_dicts as _blocks
from bot.slack.kit import context as _context
from bot.slack.kit import metadata as _metadata
from bot.slack.kit import model_answer as _model
from bot.slack.kit import section as _section


def _opening(criterion: CriterionResult | None, name: str) -> str:
    if criterion is None or criterion.level == 0:
        return f"Something you didn't cover yet (*{escape(name)}*):"
    return f"You touched on this only briefly (*{escape(name)}*):"


def _brief(question: Question, candidate: str) -> list[Piece]:
    """The interviewer's brief, readable on its own: what each criterion looks like when
    partly and when fully met (a full-marks line may refer back to the partial one)."""
    blocks: list[Piece] = [
        _section(f":clipboard: You're interviewing <@{candidate}> on *{escape(question.title)}*."),
        _section(
            f"*What a strong answer covers* (for your eyes only; <@{candidate}> is answering):"
        ),
    ]
    for c in question.criteria:
        blocks.append(
            _section(
                f"*{escape(c.name)}* · weight {c.weight:g}\n"
                f"• Partly: {escape(c.levels.l1)}\n• Fully: {escape(c.levels.l2)}"
            )
        )
    hints = "\n".join(f"• {escape(h)}" for h in question.hints)
    blocks += [
        _section(f"*Hints you can give*\n{hints}"),
        _section("*Model 30-second answer*\n" + _model(question.model_answer_30s)),
    ]
    return blocks


def interviewer_brief_rated(
    question: Question, *, candidate: str, rating: int
) -> list[dict[str, Any]]:
    """The brief once rated: the Rate button gives way to the rating given."""
    done = _context(
        f":white_check_mark: You rated <@{candidate}> *{rating}/5* - it's posted in the "
        "interview's thread."
    )
    return _blocks([*_brief(question, candidate), done])


class InterviewMessages:
    """Mock-interview messages: follow-ups, the scorecard, the interviewer's brief and rating."""

    def followup(
        self,
        question: Question,
        criterion_id: str,
        *,
        user: str,
        current: CriterionResult | None,
        depth: int = 0,
    ) -> dict[str, Any]:
        criterion = question.criterion(criterion_id)
        if depth:
            probe = criterion.push_backs[depth - 1]
            text = f"<@{user}> Let me push on that (*{escape(criterion.name)}*): {escape(probe)}"
        else:
            text = f"<@{user}> {_opening(current, criterion.name)} {escape(criterion.follow_up)}"
        return {
            "text": text,
            "blocks": _blocks([_section(text), _context("Follow-up - answer in this thread.")]),
            "metadata": _metadata(
                "drill_followup",
                {"question_id": question.id, "user": user, "criterion": criterion_id},
            ),
        }

    def summary(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        improved: list[str],
        details: str | None = None,
    ) -> dict[str, Any]:
        return scorecard_message(question, grade, user=user, improved=improved, details=details)

    def mock_closed(self, question: Question, *, user: str) -> dict[str, Any]:
        """The one reply to anything said in a mock interview's thread after its scorecard."""
        text = (
            f"<@{user}> Thanks! This mock interview is finished and its scorecard above is "
            "final, so I won't grade more replies here. Want another round? Run "
            "`/deploy-question mock` (or `/deploy-question mock @colleague` for a paired one)."
        )
        return {
            "text": text,
            "blocks": _blocks([_section(text)]),
            "metadata": _metadata(
                "drill_nudge",
                {"question_id": question.id, "user": user, "reason": FINISHED},
            ),
        }

    def interviewer_brief(
        self, question: Question, *, candidate: str, interviewer: str, mock_id: int
    ) -> dict[str, Any]:
        rate = ActionsBlock(
            block_id="mock_rate",
            elements=[
                ButtonElement(
                    text="Rate the candidate",
                    action_id="mock_rate",
                    value=str(mock_id),
                    style="primary",
                )
            ],
        )
        return {
            "_method": "chat.postEphemeral",
            "user": interviewer,
            "text": f"Interviewer brief for {question.title}",
            "blocks": _blocks([*_brief(question, candidate), rate]),
        }

    def rating(
        self,
        question: Question,
        *,
        candidate: str,
        interviewer: str,
        rating: int,
        notes: str,
        bot_score: int | None,
        bot_band: str | None,
    ) -> dict[str, Any]:
        stars = ":star:" * rating
        # One score everywhere: the scorecard's, or none until the scorecard is posted.
        bot = (
            f" · the bot's scorecard: *{bot_score}/100* ({bot_band})"
            if bot_score is not None
            else " · the bot's scorecard follows the candidate's last answer"
        )
        said = f"\n> {quote(notes, 600)}" if notes.strip() else ""
        text = f"<@{interviewer}> rated <@{candidate}> {stars} *{rating}/5*{bot}{said}"
        return {
            "text": f"Interviewer rating: {rating}/5",
            "blocks": _blocks([_section(text)]),
            "metadata": _metadata(
                "drill_rating",
                {
                    "question_id": question.id,
                    "user": candidate,
                    "interviewer": interviewer,
                    "rating": rating,
                    "score": bot_score,
                },
            ),
        }


def rating_modal(
    mock_id: int, brief_url: str | None, question: Question | None = None
) -> dict[str, Any]:
    """The rating form; it carries the mock's id, and the response_url of the brief whose
    button opened it (to replace that button with the rating once it is posted). With the
    question, each criterion gets an optional met / partly / missed beside the 1-5."""
    choices = ((5, "hire"), (4, "strong"), (3, "mixed"), (2, "weak"), (1, "not yet"))
    options = [
        {"text": {"type": "plain_text", "text": f"{n} - {label}"}, "value": str(n)}
        for n, label in choices
    ]
    return {
        "type": "modal",
        "callback_id": "mock_rating",
        "private_metadata": json.dumps({"mock": mock_id, "brief": brief_url}),
        "title": {"type": "plain_text", "text": "Rate the candidate"},
        "submit": {"type": "plain_text", "text": "Post rating"},
        "blocks": [
            {
                "type": "input",
                "block_id": "rating",
                "label": {"type": "plain_text", "text": "Your rating"},
                "element": {"type": "static_select", "action_id": "value", "options": options},
            },
            {
                "type": "input",
                "block_id": "notes",
                "optional": True,
                "label": {"type": "plain_text", "text": "Notes for the candidate"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 1500,
                },
            },
            *(criterion_inputs(question) if question is not None else []),
        ],
    }


CRITERION_MARKS = ((2, "met"), (1, "partly"), (0, "missed"))


def criterion_inputs(question: Question) -> list[dict[str, Any]]:
    """The rating form's optional per-criterion column: met, partly or missed each, kept
    beside the bot's scorecard to measure how well the two agree."""
    options = [
        {"text": {"type": "plain_text", "text": word}, "value": str(level)}
        for level, word in CRITERION_MARKS
    ]
    blocks: list[dict[str, Any]] = [
        _section(
            "*Per criterion (optional)*: did the candidate meet each one? Only the calibration "
            "report sees these, beside the bot's scorecard."
        )
    ]
    for c in question.criteria:
        blocks.append(
            {
                "type": "input",
                "block_id": f"crit_{c.id}",
                "optional": True,
                "label": {"type": "plain_text", "text": c.name[:150]},
                "element": {
                    "type": "static_select",
                    "action_id": "level",
                    "placeholder": {"type": "plain_text", "text": "met / partly / missed"},
                    "options": options,
                },
            }
        )
    return blocks


def rated_criteria(values: dict[str, Any]) -> dict[str, int]:
    """The met (2) / partly (1) / missed (0) marks of a submitted rating form."""
    marks: dict[str, int] = {}
    for block, actions in values.items():
        if not block.startswith("crit_") or not isinstance(actions, dict):
            continue
        chosen = ((actions.get("level") or {}).get("selected_option") or {}).get("value")
        if str(chosen) in ("0", "1", "2"):
            marks[block.removeprefix("crit_")] = int(str(chosen))
    return marks
