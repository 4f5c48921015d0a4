"""Spaced review's words: the review DM, its brief feedback and the pause note (with the
metadata contract), the replies to `/deploy-question review …`, and the App Home section."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.questions import Question
from bot.review_rules import zone
from bot.reviews import Remembered, ReviewStatus
from bot.slack.kit import Piece, context, escape, metadata, quote, section
from bot.slack.kit import as_dicts as _blocks

RESUME = "`/deploy-question review on`"
LEVEL_WORDS = {0: "missing", 1: "partly there", 2: "full marks"}
LEVEL_EMOJI = {0: ":red_circle:", 1: ":large_yellow_circle:", 2: ":large_green_circle:"}
DUE_SHOWN = 3


class ReviewMessages:
    """The spaced-review part of `messages.Renderer` (mixed into `SlackMessages`)."""

    def review_prompt(
        self, question: Question, criterion_id: str, prompt: str, *, user: str
    ) -> dict[str, Any]:
        criterion = question.criterion(criterion_id)
        text = f":brain: *Two-minute review: {escape(criterion.name)}*\n{escape(prompt)}"
        return {
            "text": f"Two-minute review: {prompt}",
            "blocks": _blocks(
                [
                    section(text),
                    context(
                        f"From *{escape(question.title)}* · Reply *in this thread* in two or "
                        "three sentences; I grade it on this point only. "
                        "`/deploy-question review off` stops these."
                    ),
                ]
            ),
            "metadata": metadata(
                "drill_review",
                {"question_id": question.id, "user": user, "criterion": criterion_id},
            ),
            "unfurl_links": False,
            "unfurl_media": False,
        }

    def review_feedback(
        self,
        question: Question,
        criterion_id: str,
        *,
        user: str,
        level: int,
        evidence: str | None,
    ) -> dict[str, Any]:
        criterion = question.criterion(criterion_id)
        verdict = LEVEL_WORDS.get(level, "graded")
        lines = [f"{LEVEL_EMOJI.get(level, '')} *{escape(criterion.name)}* - {level}/2, {verdict}"]
        if evidence:
            lines.append(f"What counted: _“{quote(evidence, 200)}”_")
        if level < 2:
            lines.append(f"*What was missing:* {escape(criterion.tip)}")
        pieces: list[Piece] = [
            section("\n".join(lines)),
            section(
                f"*The ideal, in two sentences:* {escape(criterion.levels.l2)} "
                f"{escape(criterion.tip)}"
            ),
            context("I'll bring this point back when you are about to forget it."),
        ]
        return {
            "text": f"Review of {criterion.name}: {level}/2, {verdict}",
            "blocks": _blocks(pieces),
            "metadata": metadata(
                "drill_review_feedback",
                {
                    "question_id": question.id,
                    "user": user,
                    "criterion": criterion_id,
                    "level": level,
                },
            ),
        }

    def review_paused(self, *, user: str) -> dict[str, Any]:
        text = f"I've paused your reviews after three went unanswered - {RESUME} resumes them."
        return {
            "text": text,
            "blocks": _blocks([section(text)]),
            "metadata": metadata("drill_review_paused", {"user": user}),
        }


# --- replies to /deploy-question review … -------------------------------------------------


def _when(moment: datetime, tz: str | None) -> str:
    return moment.astimezone(zone(tz)).strftime("%a %Y-%m-%d %H:%M")


def _named(item: Remembered) -> str:
    return f"*{escape(item.criterion.name)}* ({escape(item.question.title)})"


def _rules(status: ReviewStatus) -> str:
    days = "any day" if status.weekends else "on weekdays"
    where = f"your time ({status.tz})" if status.tz else "your Slack timezone"
    return f"at most one a day, between {status.hours} {where}, {days}"


def _due(status: ReviewStatus) -> str:
    if status.due:
        names = ", ".join(_named(r) for r in status.due[:DUE_SHOWN])
        more = len(status.due) - DUE_SHOWN
        return f"Due now: {names}" + (f" and {more} more" if more > 0 else "") + "."
    if status.next_due is not None:
        return f"Nothing is due; the next criterion comes back {_when(status.next_due, status.tz)}."
    return "Nothing to review yet: answer a drill and its weak points will come back here."


def review_reply(status: ReviewStatus) -> str:
    """What `/deploy-question review on|status` says."""
    if not status.on:
        return (
            "Spaced review is off. With it on, I DM you a two-minute drill on a criterion you "
            f"tend to miss, when you are about to forget it. {RESUME} turns it on "
            "(`review on weekends` to include weekends)."
        )
    if status.paused:
        return f"Spaced review is paused after three reviews went unanswered. {RESUME} resumes it."
    lines = [
        f"Spaced review is on: I DM you a two-minute drill on a weak criterion when it is due - "
        f"{_rules(status)}. `/deploy-question review off` stops it.",
        _due(status),
    ]
    if status.streak:
        lines.append(
            f"Streak: {status.streak} review{'s' if status.streak != 1 else ''} answered in a row."
        )
    return "\n".join(lines)


def review_off_reply() -> str:
    return (
        f"Spaced review is off, and the memory I kept for it is deleted. {RESUME} turns it back on."
    )


# --- the App Home --------------------------------------------------------------------------------


def home_section(status: ReviewStatus) -> list[Piece]:
    """What is due, the streak, and the criteria getting stronger."""
    if not status.on:
        return [
            context(
                ":brain: *Spaced review* is off: "
                f"{RESUME} DMs you a two-minute drill on a weak criterion when it is due."
            )
        ]
    if status.paused:
        return [
            section(
                f":brain: *Spaced review* is paused after three unanswered reviews: {RESUME} resumes it."
            )
        ]
    lines = [f":brain: *Spaced review* · {_due(status)}"]
    streak = f"*{status.streak}* answered in a row" if status.streak else "none answered yet"
    lines.append(f"Streak: {streak}")
    if status.stronger:
        stronger = ", ".join(
            f"{escape(r.criterion.name)} ({LEVEL_WORDS[r.first_level]} → {LEVEL_WORDS[r.level]})"
            for r in status.stronger
        )
        lines.append(f"Getting stronger: {stronger}")
    return [section("\n".join(lines)), context(f"Reviews come {_rules(status)}.")]
