"""Feedback and mock scorecards that fit one screen, and the Details view behind them.

The thread gets the score, a one-line verdict, at most two strengths, the two things
worth the most points to add, the mistakes (a line each) and the model 30-second
answer (see grading/summary.py for the rules). Every criterion with its evidence and
tip is one click away: the **Details** button opens it in a modal.
"""

from __future__ import annotations

from typing import Any

from bot.grading.grade import CriterionResult, Grade
from bot.grading.summary import Summary, shown_quotes, summarise
from bot.questions import Question
from bot.slack.kit import (
    BAND_EMOJI,
    Piece,
    as_dicts,
    context,
    divider,
    escape,
    header,
    metadata,
    model_answer,
    quote,
    section,
)

DETAILS_ACTION = "drill_details"
SHORT_QUOTE = 160


def details_button(value: str, criteria: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "drill_details",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Details"},
                "action_id": DETAILS_ACTION,
                "value": value,
                "accessibility_label": f"All {criteria} criteria with evidence and tips",
            }
        ],
    }


def _strengths(summary: Summary) -> str | None:
    if not summary.strengths:
        return None
    lines = ["*What worked*"]
    for c in summary.strengths:
        partly = " (partly)" if c.id in summary.partial else ""
        evidence = f" - _“{quote(c.evidence, SHORT_QUOTE)}”_" if c.evidence else ""
        lines.append(f"• *{escape(c.name)}*{partly}{evidence}")
    return "\n".join(lines)


def _to_add(summary: Summary, heading: str) -> str | None:
    if not summary.to_add:
        return None
    lines = [heading]
    for c in summary.to_add:
        partly = " (partly there)" if c.id in summary.partial else ""
        lines.append(f"• *{escape(c.name)}*{partly} - {escape(c.tip)}")
    return "\n".join(lines)


def _mistakes(grade: Grade) -> str | None:
    if not grade.mistakes:
        return None
    lines = ["*Mistakes*"] + [f"• *{escape(m.name)}* - {escape(m.fix)}" for m in grade.mistakes]
    return "\n".join(lines)


def _remarks(grade: Grade) -> str | None:
    remarks = [escape(n) for n in grade.notes]
    if grade.length.note:
        remarks.append(f"Length: {escape(grade.length.note)}.")
    return " ".join(remarks) or None


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


def _closing(grade: Grade, details: str | None) -> list[Piece]:
    pieces: list[Piece] = [
        divider(),
        section(f"*Model 30-second answer*\n{model_answer(grade.model_answer_30s)}"),
    ]
    if details:
        pieces.append(details_button(details, len(grade.criteria)))
    return pieces


def feedback_message(
    question: Question, grade: Grade, *, user: str, previous: Grade | None, details: str | None
) -> dict[str, Any]:
    summary = summarise(grade)
    blocks: list[Piece] = [
        header(f"{grade.score}/100 · {grade.band}"),
        context(
            f"{BAND_EMOJI[grade.band]} Feedback for <@{user}> on *{escape(question.title)}* · "
            f"graded by `{escape(grade.grader)}`"
            + (f" for a *{grade.seniority}* level" if grade.seniority else "")
            + f" · {grade.length.words} words, about {grade.length.spoken_seconds} s spoken"
        ),
        section(f"*{escape(summary.verdict)}*"),
    ]
    if previous is not None:
        blocks.append(section(_changes(previous, grade)))
    for text in (_strengths(summary), _to_add(summary, "*What to add next*"), _mistakes(grade)):
        if text:
            blocks.append(section(text))
    remarks = _remarks(grade)
    if remarks:
        blocks.append(context(remarks))
    blocks += _closing(grade, details)
    return {
        "text": f"Feedback for <@{user}>: {grade.score}/100 ({grade.band})",
        "blocks": as_dicts(blocks),
        "metadata": metadata(
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


def scorecard_message(
    question: Question, grade: Grade, *, user: str, improved: list[str], details: str | None
) -> dict[str, Any]:
    summary = summarise(grade)
    better = (
        ", ".join(escape(n) for n in improved)
        if improved
        else "nothing new came up after the follow-ups"
    )
    practise = _to_add(summary, "*Practise next*") or (
        "*Practise next:* nothing left on this question - try another with `/deploy-question mock`."
    )
    blocks: list[Piece] = [
        header(f"Mock interview scorecard: {grade.score}/100 · {grade.band}"),
        context(
            f"{BAND_EMOJI[grade.band]} <@{user}> on *{escape(question.title)}* · "
            f"graded by `{escape(grade.grader)}` · each area at its best across the conversation"
        ),
        section(f"*{escape(summary.verdict)}*"),
    ]
    strengths = _strengths(summary)
    if strengths:
        blocks.append(section(strengths))
    blocks += [section(f"*Improved after probing:* {better}"), section(practise)]
    blocks += _closing(grade, details)
    return {
        "text": f"Mock interview scorecard for <@{user}>: {grade.score}/100 ({grade.band})",
        "blocks": as_dicts(blocks),
        "metadata": metadata(
            "drill_summary",
            {"question_id": question.id, "user": user, "score": grade.score, "band": grade.band},
        ),
    }


def _criterion(c: CriterionResult, evidence: str | None) -> str:
    if c.level == c.max_level:
        mark = ":white_check_mark:"
    else:
        mark = ":large_yellow_circle:" if c.level else ":x:"
    lines = [f"{mark} *{escape(c.name)}* ({c.level}/{c.max_level})"]
    if evidence:
        lines.append(f"_“{quote(evidence)}”_")
    if c.level < c.max_level:
        lines.append(f"Tip: {escape(c.tip)}")
    return "\n".join(lines)


def details_view(question: Question, grade: Grade, *, user: str, scorecard: bool) -> dict[str, Any]:
    """Every criterion with its evidence and tip, and every mistake with its fix: a modal."""
    what = "mock interview (each area at its best level)" if scorecard else "answer"
    blocks: list[Piece] = [
        section(
            f"*{escape(question.title)}*\n<@{user}>'s {what}: *{grade.score}/100* ({grade.band}) · "
            f"graded by `{escape(grade.grader)}`"
        ),
        divider(),
    ]
    quotes = shown_quotes(grade.criteria)
    blocks += [section(_criterion(c, quotes[c.id])) for c in grade.criteria]
    if grade.mistakes:
        lines = ["*Common mistakes spotted*"]
        for m in grade.mistakes:
            evidence = f" - _“{quote(m.evidence, SHORT_QUOTE)}”_" if m.evidence else ""
            lines.append(f"• *{escape(m.name)}*{evidence}\n   ↳ {escape(m.fix)}")
        blocks += [divider(), section("\n".join(lines))]
    remarks = _remarks(grade)
    if remarks:
        blocks.append(context(remarks))
    return {
        "type": "modal",
        "callback_id": "drill_details",
        "title": {
            "type": "plain_text",
            "text": "Scorecard details" if scorecard else "Feedback details",
        },
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": as_dicts(blocks),
    }


def details_gone() -> str:
    return (
        "Those details are no longer kept - the answer was deleted (`forget-me` or the "
        "retention period). Answer again in a drill thread for fresh feedback."
    )
