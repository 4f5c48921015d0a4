"""The App Home dashboard and the modals its buttons open (past answers, the weakest
criterion, a schedule's next question)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.calibration_figures import Disputed
from bot.dashboard import Dashboard, HistoryPage, Weakest
from bot.questions import Question
from bot.schedule import ScheduleView
from bot.slack.fairness import home_lines
from bot.slack.kit import (
    BAND_EMOJI,
    Piece,
    actions,
    as_dicts,
    button,
    context,
    divider,
    escape,
    header,
    quote,
    section,
)
from bot.slack.review_blocks import home_section
from bot.slack.schedule_blocks import summary, when
from bot.slack.team_blocks import PRIVACY, team_line
from bot.team import TeamWeek

MAX_SCHEDULES = 20  # two blocks each; a Home view holds 100
NEXT_DRILL = "home_next_drill"
MOCK = "home_mock"
WEAKEST = "home_weakest"
HISTORY = "home_history"
HISTORY_PAGE = "home_history_page"
DRILL_SUBMITTED = "home_drill"  # the weakest-criterion modal's "Drill it"
SCHEDULE_ACTIONS = ("pause", "resume", "skip", "now", "preview")
POST_NOW_SUBMITTED = "schedule_post_now"  # the preview modal's "Post it now"


def schedule_action(verb: str) -> str:
    return f"home_schedule_{verb}"


def _answers(n: int) -> str:
    return f"{n} answer{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class TeamLeadHome:
    """The admin section: the workspace's schedules and who practised where, and the
    criteria whose grades people dispute most ("Was this fair?")."""

    schedules: list[ScheduleView]
    weeks: list[tuple[str, TeamWeek]]  # (channel, its week)
    disputed: tuple[Disputed, ...] = ()


def _progress(dash: Dashboard, bank_size: int) -> str:
    stats = dash.stats
    if stats.attempts == 0:
        return (
            "Practise answering *“How do you deploy ML models to production?”* and its "
            f"neighbours ({bank_size} questions): answer in a prompt's thread and get a score, "
            "quoted evidence and a model 30-second answer."
        )
    streak = f" · *{stats.streak_days}*-day streak" if stats.streak_days > 1 else ""
    return (
        f":chart_with_upwards_trend: *{_answers(stats.attempts)}* · average "
        f"*{stats.average:.0f}* · best *{stats.best}*{streak}"
    )


def _where(dash: Dashboard) -> str:
    trains = f" (it trains *{escape(dash.weakest.criterion.name)}*)" if dash.weakest else ""
    what = f"*Next drill:* {escape(dash.suggestion.title)}{trains}"
    if dash.channel is None:
        return (
            f"{what} · the buttons post where you practise: run `/deploy-question` in a channel "
            "with Deploy Drill in it (`/invite @deploy-drill`) first."
        )
    return f"{what} · the buttons post in <#{dash.channel}>, where you last practised."


def _schedule_buttons(schedule: ScheduleView) -> Piece:
    value = str(schedule.id)
    toggle = "resume" if schedule.paused else "pause"
    return actions(
        button(toggle.capitalize(), schedule_action(toggle), value),
        button("Skip next", schedule_action("skip"), value),
        button(
            "Post now",
            schedule_action("now"),
            value,
            confirm=(
                "Post the next question now?",
                f"It goes to <#{schedule.channel}> now; the schedule's regular drills stay.",
                "Post",
            ),
        ),
        button("Preview", schedule_action("preview"), value),
        block_id=f"home_schedule_{schedule.id}",
    )


def _team_lead(section_data: TeamLeadHome) -> list[Piece]:
    pieces: list[Piece] = [divider(), header("Team lead"), section("*Schedules*")]
    for schedule in section_data.schedules[:MAX_SCHEDULES]:
        pieces.append(section(f"<#{schedule.channel}> {summary(schedule)}"))
        pieces.append(_schedule_buttons(schedule))
    hidden = len(section_data.schedules) - MAX_SCHEDULES
    if hidden > 0:
        pieces.append(
            context(f"{hidden} more: `/deploy-question schedule list` in their channels.")
        )
    if not section_data.schedules:
        pieces.append(
            context(
                "No schedules yet: run `/deploy-question schedule weekdays 09:30 Europe/Berlin` "
                "in a channel."
            )
        )
    pieces.append(section("*This week* (the last 7 days)"))
    pieces += [section(team_line(channel, week)) for channel, week in section_data.weeks]
    if not section_data.weeks:
        pieces.append(context("Nobody has practised in the last 8 weeks."))
    pieces.append(
        context(
            f"{PRIVACY} In a channel, `/deploy-question team` and `/deploy-question digest` "
            "give the details."
        )
    )
    pieces += home_lines(section_data.disputed)
    return pieces


def home_view(
    dash: Dashboard,
    *,
    bank_size: int,
    team_lead: TeamLeadHome | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    pieces: list[Piece] = [
        header("Deploy Drill"),
        section(_progress(dash, bank_size)),
        actions(
            button("Next drill", NEXT_DRILL, dash.suggestion.id, style="primary"),
            button("Start a mock", MOCK),
            button("Your weakest criterion", WEAKEST),
            button("Your answers", HISTORY),
            block_id="home_actions",
        ),
        context(_where(dash)),
    ]
    if dash.review is not None:
        pieces += home_section(dash.review)
    if notice:
        pieces.append(section(notice))
    pieces.append(context("Every command: `/deploy-question help` in a channel."))
    if team_lead is not None:
        pieces += _team_lead(team_lead)
    return {"type": "home", "blocks": as_dicts(pieces)}


def _modal(
    title: str,
    pieces: list[Piece],
    *,
    callback_id: str,
    submit: str | None = None,
    private_metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "private_metadata": private_metadata,
        "blocks": as_dicts(pieces),
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def history_modal(page: HistoryPage) -> dict[str, Any]:
    """Past answers with their scores, newest first, a page at a time."""
    if not page.answers:
        return _modal(
            "Your answers",
            [
                section(
                    "No graded answers yet: run `/deploy-question` in a channel and answer in "
                    "the thread."
                )
            ],
            callback_id=HISTORY,
        )
    pieces: list[Piece] = []
    for past in page.answers:
        kind = " · mock interview" if past.mock else ""
        pieces.append(
            section(
                f"{BAND_EMOJI.get(past.band, '')} *{past.score}/100* {past.band} · "
                f"*{escape(past.title)}*\n{past.when:%a %Y-%m-%d} in <#{past.channel}>{kind}"
            )
        )
        pieces.append(context(f"_“{quote(past.answer, 150)}”_"))
    paging = []
    if page.page > 0:
        paging.append(button("‹ Newer", HISTORY_PAGE, str(page.page - 1)))
    if page.page < page.pages - 1:
        paging.append(button("Older ›", HISTORY_PAGE, str(page.page + 1)))
    if paging:
        pieces.append(actions(*paging, block_id="history_paging"))
    pieces.append(context(f"Page {page.page + 1} of {page.pages} · {_answers(page.total)}"))
    return _modal("Your answers", pieces, callback_id=HISTORY)


def weakest_modal(weakest: Weakest | None, *, channel: str | None) -> dict[str, Any]:
    if weakest is None:
        return _modal(
            "Weakest criterion",
            [
                section(
                    "Answer a drill or two first: then I can tell which part of an answer "
                    "you leave out most."
                )
            ],
            callback_id=WEAKEST,
        )
    question = weakest.questions[0]
    cover = weakest.coverage
    pieces: list[Piece] = [
        section(
            f"*{escape(weakest.criterion.name)}* - covered in {cover.rate:.0%} of your "
            f"{_answers(cover.answers)} it applied to."
        ),
        section(f"*What a full answer does*\n{escape(weakest.criterion.levels.l2)}"),
        section(f"*Tip:* {escape(weakest.criterion.tip)}"),
        context(
            "Questions that train it: " + ", ".join(escape(q.title) for q in weakest.questions[:5])
        ),
    ]
    if channel is None:
        pieces.append(context("Run `/deploy-question` in a channel first, then drill it here."))
        return _modal("Weakest criterion", pieces, callback_id=WEAKEST)
    pieces.append(context(f"*Drill it* posts *{escape(question.title)}* in <#{channel}>."))
    return _modal(
        "Weakest criterion",
        pieces,
        callback_id=DRILL_SUBMITTED,
        submit="Drill it",
        private_metadata=question.id,
    )


def preview_modal(schedule: ScheduleView, question: Question) -> dict[str, Any]:
    upcoming = when(schedule.next_fire, schedule.tz)
    pieces: list[Piece] = [
        context(
            f"Schedule #{schedule.id} in <#{schedule.channel}> posts this next ({upcoming}), "
            "if nothing changes before then: answers in between can reorder the rotation."
        ),
        header(question.title),
        section(escape(question.prompt)),
        context(f"topic {question.topic} · {question.difficulty}"),
    ]
    return _modal(
        "Next question",
        pieces,
        callback_id=POST_NOW_SUBMITTED,
        submit="Post it now",
        private_metadata=str(schedule.id),
    )
