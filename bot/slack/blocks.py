"""Block Kit for the messages the bot posts (prompts, nudges, the digest), with the metadata
contract, and `SlackMessages`, the bot's Renderer. The pieces and the escaping of user text
are in kit.py, feedback and scorecards in feedback.py, the other mock-interview messages in
interview.py; replies to commands are in replies.py."""

from __future__ import annotations

import base64
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.grading.gradable import NOT_ABOUT_LENGTH, NUDGES
from bot.grading.grade import Grade
from bot.progress import Digest
from bot.questions import Question
from bot.slack.fairness import Style, with_control
from bot.slack.feedback import feedback_message
from bot.slack.interview import InterviewMessages
from bot.slack.kit import Piece
from bot.slack.kit import as_dicts as _blocks
from bot.slack.kit import context as _context
from bot.slack.kit import escape as escape  # re-exported: listeners quote user text
from bot.slack.kit import header as _header
from bot.slack.kit import metadata as _metadata
from bot.slack.kit import quote as quote
from bot.slack.kit import section as _section
from bot.slack.review_blocks import ReviewMessages


class DrillMessages:
    """Implements messages.Renderer with Block Kit payloads for chat.postMessage.

    The mock-interview messages come from `InterviewMessages` (interview.py), mixed in at the
    end of the module with the digest.
    """

    def prompt(
        self,
        question: Question,
        *,
        source: str,
        requested_by: str | None,
        interviewer: str | None = None,
    ) -> dict[str, Any]:
        seconds = question.answer_seconds
        words = question.target_words.short if seconds == 30 else question.target_words.long
        if source == "mock":
            by = f" with <@{interviewer}> as the interviewer" if interviewer else ""
            how = (
                f":microphone: *Mock interview for <@{requested_by}>*{by}. Answer in this thread as "
                f"you would out loud (~{seconds} s). I'll ask follow-ups, then give you a scorecard."
            )
        else:
            who = f" · asked by <@{requested_by}>" if requested_by and source != "scheduled" else ""
            how = (
                f":speech_balloon: *Answer in this thread* - I'll grade it against the rubric. "
                f"Aim for about {seconds} seconds spoken (~{words} words).{who}"
            )
        blocks: list[Piece] = [
            _header(question.title),
            _section(escape(question.prompt.strip())),
            _context(how),
            ActionsBlock(
                block_id="drill_prompt_actions",
                elements=[
                    ButtonElement(text="Hint", action_id="drill_hint", value=question.id),
                    ButtonElement(
                        text="Show the 30-second answer",
                        action_id="drill_show_answer",
                        value=question.id,
                    ),
                ],
            ),
        ]
        return {
            "text": f"Deploy drill: {question.title}",
            "blocks": _blocks(blocks),
            "metadata": _metadata("drill_prompt", {"question_id": question.id, "source": source}),
            "unfurl_links": False,
            "unfurl_media": False,
        }

    def feedback(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        previous: Grade | None,
        details: str | None = None,
    ) -> dict[str, Any]:
        return feedback_message(question, grade, user=user, previous=previous, details=details)

    def nudge(self, question: Question, *, user: str, reason: str) -> dict[str, Any]:
        opening = NUDGES.get(reason, "I couldn't grade that one.")
        text = (
            f"<@{user}> {opening} Reply in this thread with how you'd answer "
            f"*{escape(question.title)}* out loud - a few sentences is plenty to start."
            if reason not in NOT_ABOUT_LENGTH
            else f"<@{user}> {opening} If you can, post it again in English and I'll grade it."
        )
        return {
            "text": text,
            "blocks": _blocks(
                [_section(text), _context(f":bulb: Hint: {escape(question.hints[0])}")]
            ),
            "metadata": _metadata(
                "drill_nudge", {"question_id": question.id, "user": user, "reason": reason}
            ),
        }


def digest_text(data: Digest) -> str:
    """The digest's words: the weekly post's comment, and `/deploy-question digest`."""
    average = f"{data.average:.0f}" if data.average is not None else "-"
    lines = [
        f":bar_chart: *Weekly Deploy Drill digest* (since {data.week_start.isoformat()})",
        f"• Participation: *{data.answers}* answers from *{data.people}* people",
        f"• Average score: *{average}*",
    ]
    if data.most_missed is not None:
        lines.append(
            f"• Most-missed criterion: *{escape(data.most_missed.name)}* in "
            f"_{escape(data.most_missed.question_title)}_ (covered by {data.most_missed.rate:.0%})"
        )
    if data.top_mistake is not None:
        lines.append(
            f"• Most common mistake: *{escape(data.top_mistake[0])}* ({data.top_mistake[1]}×)"
        )
    if data.most_improved is not None:
        lines.append(
            f"• Most improved: <@{data.most_improved[0]}> (+{data.most_improved[1]:.0f} points)"
        )
    return "\n".join(lines)


def digest_upload(data: Digest, png: bytes) -> dict[str, Any]:
    return {
        "_method": "files_upload_v2",
        "filename": f"deploy-drill-digest-{data.week_start.isoformat()}.png",
        "title": "Deploy Drill - weekly digest",
        "initial_comment": digest_text(data),
        "content_b64": base64.b64encode(png).decode(),
    }


class SlackMessages(DrillMessages, InterviewMessages, ReviewMessages):
    """The bot's `messages.Renderer`: every message it posts, as Block Kit. Feedback and
    scorecards end with "Was this fair?" (fairness.py), as Slack's feedback buttons or, with
    `fairness="plain"`, as plain buttons."""

    def __init__(self, *, fairness: Style = "native") -> None:
        self._fairness: Style = fairness

    def digest(self, data: Digest, png: bytes) -> dict[str, Any]:
        return digest_upload(data, png)

    # --- "Was this fair?" under each grade ------------------------------------------------

    def feedback(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        previous: Grade | None,
        details: str | None = None,
    ) -> dict[str, Any]:
        payload = super().feedback(question, grade, user=user, previous=previous, details=details)
        return with_control(payload, details, self._fairness)

    def summary(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        improved: list[str],
        details: str | None = None,
    ) -> dict[str, Any]:
        payload = super().summary(question, grade, user=user, improved=improved, details=details)
        return with_control(payload, details, self._fairness)
