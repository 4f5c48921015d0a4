"""Block Kit for every message the bot posts, with the metadata contract.

User text (quotes from answers) is always escaped here: `&`, `<`, `>` become
entities so no quote can produce a live @channel, @here or user mention, and
quotes are cut short so a long answer cannot break a block's size limit.
"""

from __future__ import annotations

import base64
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
)
from slack_sdk.models.blocks.basic_components import ConfirmObject

from bot.grading.gradable import NOT_ABOUT_LENGTH, NUDGES
from bot.grading.grade import CriterionResult, Grade
from bot.progress import Digest, Ranked, Stats
from bot.questions import Question
from bot.slack.commands import printable
from bot.slack.kit import Piece
from bot.slack.kit import as_blocks as _blocks
from bot.slack.kit import context as _context
from bot.slack.kit import cut as _cut
from bot.slack.kit import divider as _divider
from bot.slack.kit import header as _header
from bot.slack.kit import metadata as _metadata
from bot.slack.kit import section as _section

QUOTE_LIMIT = 280
BAND_EMOJI = {
    "strong": ":large_green_circle:",
    "solid": ":large_blue_circle:",
    "developing": ":large_yellow_circle:",
    "weak": ":red_circle:",
}


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


class SlackRenderer:
    """Implements drills.Renderer with Block Kit payloads for chat.postMessage.

    The mock-interview and digest messages come from `MockRenderer` (below), mixed in
    at the end of the module.
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
        self, question: Question, grade: Grade, *, user: str, previous: Grade | None
    ) -> dict[str, Any]:
        blocks: list[Piece] = [
            _header(f"{grade.score}/100 · {grade.band}"),
            _context(
                f"{BAND_EMOJI[grade.band]} Feedback for <@{user}> on *{escape(question.title)}* · "
                f"graded by `{escape(grade.grader)}`"
                + (f" for a *{grade.seniority}* level" if grade.seniority else "")
                + f" · {grade.length.words} words, about {grade.length.spoken_seconds} s spoken"
            ),
        ]
        if previous is not None:
            blocks.append(_section(_changes(previous, grade)))
        covered = [c for c in grade.criteria if c.level > 0]
        if covered:
            lines = ["*What you covered*"]
            for c in covered:
                evidence = f" - _“{quote(c.evidence)}”_" if c.evidence else ""
                lines.append(f"• *{escape(c.name)}* ({c.level}/{c.max_level}){evidence}")
            blocks.append(_section("\n".join(lines)))
        missed = [c for c in grade.criteria if c.level < c.max_level]
        if missed:
            lines = ["*What to add*"]
            for c in missed:
                lines.append(f"• *{escape(c.name)}* ({c.level}/{c.max_level}): {escape(c.tip)}")
            blocks.append(_section("\n".join(lines)))
        if grade.mistakes:
            lines = ["*Common mistakes spotted*"]
            for m in grade.mistakes:
                evidence = f" - _“{quote(m.evidence)}”_" if m.evidence else ""
                lines.append(f"• *{escape(m.name)}*{evidence}\n   ↳ {escape(m.fix)}")
            blocks.append(_section("\n".join(lines)))
        remarks = [escape(n) for n in grade.notes]
        if grade.length.note:
            remarks.append(f"Length: {escape(grade.length.note)}.")
        if remarks:
            blocks.append(_context(" ".join(remarks)))
        blocks.append(_divider())
        blocks.append(_section(f"*Model 30-second answer*\n{_model(grade.model_answer_30s)}"))
        return {
            "text": f"Feedback for <@{user}>: {grade.score}/100 ({grade.band})",
            "blocks": _blocks(blocks),
            "metadata": _metadata(
                "drill_feedback",
                {
                    "question_id": question.id,
                    "user": user,
                    "score": grade.score,
                    "band": grade.band,
                    "grader": grade.grader,
                },
            ),
            "unfurl_links": False,
            "unfurl_media": False,
        }

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


def _changes(previous: Grade, current: Grade) -> str:
    before = {c.id: c for c in previous.criteria}
    gained = [c.name for c in current.criteria if c.id in before and c.level > before[c.id].level]
    lost = [c.name for c in current.criteria if c.id in before and c.level < before[c.id].level]
    delta = current.score - previous.score
    sign = "+" if delta > 0 else ""
    parts = [f"*Since your last try:* {sign}{delta} points ({previous.score} → {current.score})"]
    if gained:
        parts.append("gained: " + ", ".join(escape(n) for n in gained))
    if lost:
        parts.append("lost: " + ", ".join(escape(n) for n in lost))
    return " · ".join(parts)


def help_text(bank_size: int) -> str:
    return "\n".join(
        [
            "*Deploy Drill* - interview practice for deploying ML models. Answer prompts *in their thread*.",
            "`/deploy-question` - post the next question in this channel",
            "`/deploy-question <question-id or topic>` - post a specific question",
            f"`/deploy-question list` - the {bank_size} questions in the bank",
            "`/deploy-question help` - this message",
            "`/deploy-question level entry|mid|senior` - grade your answers for your level",
            "`/deploy-question forget-me` - delete your answers and profile",
            "`/deploy-question schedule daily|weekdays HH:MM [IANA timezone] [topics …] [difficulty …]` - daily drills in this channel",
            "`/deploy-question schedule list | remove|pause|resume|preview|now <id> | limit <id> … | skip YYYY-MM-DD`",
            "`/deploy-question stats` - your progress (only you see it)",
            "`/deploy-question leaderboard` - this channel's ranking · `leaderboard join|leave` to opt in or out",
            "`/deploy-question mock [question-id | @colleague]` - a mock interview with follow-ups",
            "`/deploy-question team` - who practised here this week · `digest` - this week's digest",
            "The *Deploy Drill* Home tab: your next drill, your weakest criterion, your past answers.",
        ]
    )


def question_list(questions: list[Question]) -> str:
    lines = ["*Questions in the bank* (use the id or topic with `/deploy-question`):"]
    for q in questions:
        lines.append(f"• `{q.id}` - {escape(q.title)} _(topic: {q.topic}, {q.difficulty})_")
    return _cut("\n".join(lines))


def unknown_question(wanted: str, known: list[str]) -> str:
    ids = ", ".join(f"`{k}`" for k in known)
    return _cut(
        f"I don't have a question called “{quote(wanted, 80)}”. Try one of: {ids} "
        "- or `/deploy-question list`."
    )


def forget_me_confirm() -> list[dict[str, Any]]:
    return _blocks(
        [
            _section(
                "This deletes *all your answers, grades and your profile* in this workspace. "
                "Messages already posted in channels stay where they are."
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Delete my data",
                        action_id="forget_me_confirm",
                        value="confirm",
                        style="danger",
                        confirm=ConfirmObject(
                            title="Delete your data?",
                            text="Your answers and grades cannot be recovered.",
                            confirm="Delete",
                            deny="Keep",
                        ),
                    ),
                    ButtonElement(text="Cancel", action_id="forget_me_cancel", value="cancel"),
                ]
            ),
        ]
    )


# --- mock interviews ------------------------------------------------------------------


def _opening(criterion: CriterionResult | None, name: str) -> str:
    if criterion is None or criterion.level == 0:
        return f"Something you didn't cover yet (*{escape(name)}*):"
    return f"You touched on this only briefly (*{escape(name)}*):"


def _model(text: str) -> str:
    return "\n>\n".join("> " + escape(p) for p in text.split("\n\n") if p.strip())


class MockRenderer:
    """Mock-interview messages: follow-ups, the scorecard, the interviewer's brief and rating."""

    def followup(
        self, question: Question, criterion_id: str, *, user: str, current: CriterionResult | None
    ) -> dict[str, Any]:
        criterion = question.criterion(criterion_id)
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
        practise: list[CriterionResult],
    ) -> dict[str, Any]:
        covered = [c for c in grade.criteria if c.level > 0]
        lines = [
            f"*Across the whole conversation you covered* ({len(covered)}/{len(grade.criteria)}):"
        ]
        for c in grade.criteria:
            if c.level == c.max_level:
                mark = ":white_check_mark:"
            else:
                mark = ":large_yellow_circle:" if c.level else ":x:"
            evidence = f" - _“{quote(c.evidence, 160)}”_" if c.evidence else ""
            lines.append(f"{mark} *{escape(c.name)}* ({c.level}/{c.max_level}){evidence}")
        better = (
            ", ".join(escape(n) for n in improved)
            if improved
            else "nothing new came up after the follow-ups"
        )
        blocks: list[Piece] = [
            _header(f"Mock interview scorecard: {grade.score}/100 · {grade.band}"),
            _context(
                f"{BAND_EMOJI[grade.band]} <@{user}> on *{escape(question.title)}* · "
                f"graded by `{escape(grade.grader)}`"
            ),
            _section("\n".join(lines)),
            _section(f"*Improved after probing:* {better}"),
            _section(
                "*Practise next:*\n"
                + "\n".join(f"• *{escape(c.name)}* - {escape(c.tip)}" for c in practise)
            ),
            _divider(),
            _section("*Model 30-second answer*\n" + _model(grade.model_answer_30s)),
        ]
        return {
            "text": f"Mock interview scorecard for <@{user}>: {grade.score}/100 ({grade.band})",
            "blocks": _blocks(blocks),
            "metadata": _metadata(
                "drill_summary",
                {
                    "question_id": question.id,
                    "user": user,
                    "score": grade.score,
                    "band": grade.band,
                },
            ),
        }

    def interviewer_brief(
        self, question: Question, *, channel: str, candidate: str, interviewer: str, mock_id: int
    ) -> dict[str, Any]:
        rubric = [
            f"*What a strong answer covers* (for your eyes only; <@{candidate}> is answering):"
        ]
        for c in question.criteria:
            rubric.append(f"• *{escape(c.name)}* (weight {c.weight:g}) - {escape(c.levels.l2)}")
        hints = "\n".join(f"• {escape(h)}" for h in question.hints)
        blocks: list[Piece] = [
            _section(
                f":clipboard: You're interviewing <@{candidate}> on *{escape(question.title)}*."
            ),
            _section("\n".join(rubric)),
            _section(f"*Hints you can give*\n{hints}"),
            _section("*Model 30-second answer*\n" + _model(question.model_answer_30s)),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Rate the candidate",
                        action_id="mock_rate",
                        value=str(mock_id),
                        style="primary",
                    )
                ]
            ),
        ]
        return {
            "_method": "chat.postEphemeral",
            "channel": channel,
            "user": interviewer,
            "text": f"Interviewer brief for {question.title}",
            "blocks": _blocks(blocks),
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
        bot = (
            f" · the bot's score so far: *{bot_score}/100* ({bot_band})"
            if bot_score is not None
            else ""
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


def rating_modal(mock_id: int) -> dict[str, Any]:
    choices = ((5, "hire"), (4, "strong"), (3, "mixed"), (2, "weak"), (1, "not yet"))
    options = [
        {"text": {"type": "plain_text", "text": f"{n} - {label}"}, "value": str(n)}
        for n, label in choices
    ]
    return {
        "type": "modal",
        "callback_id": "mock_rating",
        "private_metadata": str(mock_id),
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
        ],
    }


def hint_text(question: Question) -> str:
    hints = "\n".join(f"• {escape(h)}" for h in question.hints)
    return f":bulb: *Hints for {escape(question.title)}*\n{hints}"


def model_answer_text(question: Question) -> str:
    return f"*Model 30-second answer - {escape(question.title)}*\n" + _model(
        question.model_answer_30s
    )


def reveal_confirm(question_id: str) -> list[dict[str, Any]]:
    return _blocks(
        [
            _section(
                "You haven't answered this one yet. Seeing the model answer first makes the drill "
                "less useful - show it anyway?"
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Show it anyway",
                        action_id="drill_show_answer_confirmed",
                        value=question_id,
                    )
                ]
            ),
        ]
    )


# --- progress ------------------------------------------------------------------------


def _trend(stats: Stats) -> str:
    if stats.recent_average is None:
        return "no answers in the last 30 days"
    text = f"{stats.recent_average:.0f} average in the last 30 days"
    if stats.previous_average is not None:
        delta = stats.recent_average - stats.previous_average
        text += f" ({'+' if delta >= 0 else ''}{delta:.0f} vs the 30 days before)"
    return text


def _bar(rate: float, width: int = 10) -> str:
    filled = round(rate * width)
    return "`" + "█" * filled + "·" * (width - filled) + "`"


def stats_text(stats: Stats) -> str:
    if stats.attempts == 0:
        return "No graded answers yet. Try `/deploy-question` and answer in the thread."
    days = "s" if stats.streak_days != 1 else ""
    lines = [
        "*Your Deploy Drill progress*",
        f"• *{stats.attempts}* answers · average *{stats.average:.0f}* · best *{stats.best}*",
        f"• Trend: {_trend(stats)} · last scores: {', '.join(str(s) for s in stats.recent_scores)}",
        f"• Streak: *{stats.streak_days}* drill day{days} in a row",
    ]
    if stats.weakest is not None:
        lines.append(
            f"• Weakest criterion: *{escape(stats.weakest.name)}* (covered in {stats.weakest.rate:.0%} of answers)"
        )
    if stats.top_mistake is not None:
        lines.append(
            f"• Most common mistake: *{escape(stats.top_mistake[0])}* ({stats.top_mistake[1]}×)"
        )
    lines.append("*Coverage by criterion*")
    for c in sorted(stats.coverage, key=lambda c: -c.rate):
        lines.append(f"{_bar(c.rate)} {c.rate:.0%} {escape(c.name)}")
    return _cut("\n".join(lines))


def leaderboard_text(ranked: list[Ranked]) -> str:
    if not ranked:
        return (
            "Nobody has joined the leaderboard here yet. `/deploy-question leaderboard join` to take "
            "part (`leaderboard leave` to stop)."
        )
    lines = [
        "*Leaderboard* (opt-in; ranked by a participation-weighted average, so one lucky answer doesn't win)"
    ]
    for i, r in enumerate(ranked, 1):
        lines.append(
            f"{i}. <@{r.user}> - *{r.rating:.0f}* ({r.answers} answers, average {r.average:.0f})"
        )
    return _cut("\n".join(lines))


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
            f"• Most-missed criterion: *{escape(data.most_missed.name)}* (covered by {data.most_missed.rate:.0%})"
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


def digest_upload(channel: str, data: Digest, png: bytes) -> dict[str, Any]:
    return {
        "_method": "files_upload_v2",
        "channel": channel,
        "filename": f"deploy-drill-digest-{data.week_start.isoformat()}.png",
        "title": "Deploy Drill - weekly digest",
        "initial_comment": digest_text(data),
        "content_b64": base64.b64encode(png).decode(),
    }


class FullRenderer(SlackRenderer, MockRenderer):
    """Everything drills.Renderer asks for."""

    def digest(self, channel: str, data: Digest, png: bytes) -> dict[str, Any]:
        return digest_upload(channel, data, png)
