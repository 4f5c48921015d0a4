"""Replies to slash commands and buttons (ephemeral, seen by one person): help, the bank,
stats, the leaderboard, hints and confirmations."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement
from slack_sdk.models.blocks.basic_components import ConfirmObject

from bot.progress import QuestionProgress, Ranked, Stats
from bot.questions import Question
from bot.slack.kit import SECTION_LIMIT
from bot.slack.kit import as_dicts as _blocks
from bot.slack.kit import cut as _cut
from bot.slack.kit import escape as escape  # re-exported: listeners quote user text
from bot.slack.kit import model_answer as _model
from bot.slack.kit import quote as quote
from bot.slack.kit import section as _section


def help_text(bank_size: int) -> str:
    return "\n".join(
        [
            "*Deploy Drill* - interview practice for deploying ML models. Answer prompts *in their thread*.",
            "`/deploy-question` - post the next question in this channel",
            "`/deploy-question <question-id or topic>` - post a specific question",
            f"`/deploy-question list` - the {bank_size} questions in the bank",
            "`/deploy-question help` - this message",
            "`/deploy-question level entry|mid|senior|staff` - grade your answers for your level",
            "`/deploy-question forget-me` - delete your answers and profile",
            "`/deploy-question schedule daily|weekdays HH:MM [IANA timezone] [topics …] [difficulty …]` - daily drills in this channel",
            "`/deploy-question schedule list | remove|pause|resume|preview|now <id> | limit <id> … | skip YYYY-MM-DD`",
            "`/deploy-question stats` - your progress (only you see it)",
            "`/deploy-question leaderboard` - this channel's ranking · `leaderboard join|leave` to opt in or out",
            "`/deploy-question mock [question-id | @colleague]` - a mock interview with follow-ups",
            "`/deploy-question team` - who practised here this week · `digest` - this week's digest",
            "`/deploy-question share on|off|status` - let your team's calibration review quote and export the answers whose grade you dispute",
            "`/deploy-question review on [weekends] | off | status` - spaced review: a two-minute DM drill on a weak criterion when it is due",
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


QUESTIONS_IN_FULL = 3  # questions whose criteria stats list; the rest get a line each


def _counted(answers: int, mocks: int, mark: str = "*") -> str:
    """ "*3* answers and *1* mock interview" (each mock interview counts once)."""
    drills = f"{mark}{answers}{mark} answer{'s' if answers != 1 else ''}"
    if not mocks:
        return drills
    interviews = f"{mark}{mocks}{mark} mock interview{'s' if mocks != 1 else ''}"
    return f"{drills} and {interviews}" if answers else interviews


def _question_lines(stats: Stats, budget: int) -> list[str]:
    """Each question practised with its own criteria (latest first), within `budget` characters."""
    lines = ["*By question* (most recently practised first)"]
    rest: list[QuestionProgress] = []
    for i, q in enumerate(stats.by_question):
        block = [f"*{escape(q.title)}* - {_counted(q.answers, q.mocks, mark='')}, best {q.best}"]
        block += [f"{_bar(c.rate)} {c.rate:.0%} {escape(c.name)}" for c in q.coverage]
        if i >= QUESTIONS_IN_FULL or len("\n".join(lines + block)) > budget:
            rest.append(q)
        else:
            lines += block
    if rest:
        others = ", ".join(
            f"{escape(q.title)} ({q.answers + q.mocks}×, best {q.best})" for q in rest
        )
        lines.append(f"_Also practised: {others}_")
    return lines


def stats_text(stats: Stats) -> str:
    if stats.attempts == 0:
        return "No graded answers yet. Try `/deploy-question` and answer in the thread."
    days = "s" if stats.streak_days != 1 else ""
    lines = [
        "*Your Deploy Drill progress*",
        f"• {_counted(stats.attempts - stats.mocks, stats.mocks)} · average *{stats.average:.0f}* · best *{stats.best}*",
        f"• Trend: {_trend(stats)}",
        "• Recent scores, oldest → newest: " + " → ".join(str(s) for s in stats.recent_scores),
        f"• Streak: *{stats.streak_days}* drill day{days} in a row",
    ]
    if stats.weakest is not None:
        lines.append(
            f"• Weakest criterion: *{escape(stats.weakest.name)}* in "
            f"_{escape(stats.weakest.question_title)}_ (earned in {stats.weakest.rate:.0%} of "
            "your answers to it)"
        )
    if stats.top_mistake is not None:
        lines.append(
            f"• Most common mistake: *{escape(stats.top_mistake[0])}* ({stats.top_mistake[1]}×)"
        )
    lines += _question_lines(stats, SECTION_LIMIT - len("\n".join(lines)) - 400)
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
