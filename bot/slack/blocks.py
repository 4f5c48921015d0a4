"""Block Kit for every message the bot posts, with the metadata contract.

User text (quotes from answers) is always escaped here: `&`, `<`, `>` become
entities so no quote can produce a live @channel, @here or user mention, and
quotes are cut short so a long answer cannot break a block's size limit.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import ConfirmObject

from bot.grading.grade import Grade
from bot.questions import Question
from bot.storage.tables import Schedule

QUOTE_LIMIT = 280
SECTION_LIMIT = 2900  # Slack allows 3,000 characters of section text
BAND_EMOJI = {
    "strong": ":large_green_circle:",
    "solid": ":large_blue_circle:",
    "developing": ":large_yellow_circle:",
    "weak": ":red_circle:",
}
NUDGE_TEXT = {
    "empty": "That doesn't look like an answer yet.",
    "emoji_only": "Emoji are nice, but they don't look like an answer yet.",
    "too_short": "That's a little short to grade.",
}


def escape(text: str) -> str:
    """Escape user text for mrkdwn: no live mentions, no broken markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A short, escaped, single-line quote of user text."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    # Backticks and formatting characters would re-style the quote; keep it literal-ish.
    flat = flat.replace("`", "'")
    return escape(flat)


def _cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_cut(text)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=_cut(text, 1900))])


def _blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _metadata(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, "event_payload": payload}


class SlackRenderer:
    """Implements drills.Renderer with Block Kit payloads for chat.postMessage."""

    def prompt(
        self, question: Question, *, source: str, requested_by: str | None
    ) -> dict[str, Any]:
        seconds = question.answer_seconds
        words = question.target_words.short if seconds == 30 else question.target_words.long
        who = f" · asked by <@{requested_by}>" if requested_by and source != "scheduled" else ""
        blocks: list[Block] = [
            HeaderBlock(text=_cut(question.title, 150)),
            _section(escape(question.prompt.strip())),
            _context(
                f":speech_balloon: *Answer in this thread* - I'll grade it against the rubric. "
                f"Aim for about {seconds} seconds spoken (~{words} words).{who}"
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
        blocks: list[Block] = [
            HeaderBlock(text=f"{grade.score}/100 · {grade.band}"),
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
        blocks.append(DividerBlock())
        model = "\n>\n".join(
            "> " + escape(paragraph)
            for paragraph in grade.model_answer_30s.split("\n\n")
            if paragraph.strip()
        )
        blocks.append(_section(f"*Model 30-second answer*\n{model}"))
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
        opening = NUDGE_TEXT.get(reason, "I couldn't grade that one.")
        text = (
            f"<@{user}> {opening} Reply in this thread with how you'd answer "
            f"*{escape(question.title)}* out loud - a few sentences is plenty to start."
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
            "`/deploy-question schedule daily|weekdays HH:MM [IANA timezone]` - daily drills in this channel",
            "`/deploy-question schedule list | remove <id> | pause <id> | resume <id> | skip YYYY-MM-DD`",
            "`/deploy-question stats` - your progress · `/deploy-question leaderboard` - opt-in ranking",
            "`/deploy-question mock [question-id | @colleague]` - a mock interview with follow-ups",
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


def home_view(bank_size: int) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": _blocks(
            [
                HeaderBlock(text="Deploy Drill"),
                _section(
                    "Practise answering *“How do you deploy ML models to production?”* and its "
                    f"neighbours. {bank_size} questions, graded against a rubric with quoted evidence."
                ),
                _section(help_text(bank_size)),
            ]
        ),
    }


SCHEDULE_USAGE = "\n".join(
    [
        "*Scheduled drills in this channel*",
        "`/deploy-question schedule daily|weekdays HH:MM [IANA timezone]` - e.g. `schedule weekdays 09:30 Europe/Berlin`",
        "`/deploy-question schedule list` - this channel's schedules",
        "`/deploy-question schedule remove|pause|resume <id>`",
        "`/deploy-question schedule skip YYYY-MM-DD` - skip a date (holidays); `skip <id> YYYY-MM-DD` for one schedule",
        "The timezone defaults to yours in Slack. Only workspace admins and owners can change schedules.",
    ]
)


def _when(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M %Z")


def schedule_created(schedule: Schedule, upcoming: datetime | None) -> str:
    return (
        f"Scheduled drill #{schedule.id}: {schedule.days} at {schedule.time} ({schedule.tz}). "
        f"Next question: {_when(upcoming, schedule.tz)}."
    )


def schedule_list(schedules: list[Schedule], now: datetime) -> str:
    from bot.schedule import next_fire

    if not schedules:
        return "No scheduled drills in this channel yet. " + SCHEDULE_USAGE.splitlines()[1]
    lines = ["*Scheduled drills in this channel*"]
    for s in schedules:
        state = "paused" if s.paused else f"next {_when(next_fire(s, now), s.tz)}"
        skips = json.loads(s.skip_dates or "[]")
        skipping = f" · skipping {', '.join(skips)}" if skips else ""
        lines.append(f"• *#{s.id}* {s.days} at {s.time} ({s.tz}) · {state}{skipping}")
    return _cut("\n".join(lines))
