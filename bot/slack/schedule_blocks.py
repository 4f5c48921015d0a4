"""What the bot says about schedules: usage, the list, a new schedule (to its admin and,
announced, to its channel), a duplicate, a limit, and a schedule's next question."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.limits import describe
from bot.questions import Question
from bot.schedule import ScheduleView, zone
from bot.slack.blocks import escape
from bot.slack.kit import as_dicts, context, cut, metadata, section

SCHEDULE_USAGE = "\n".join(
    [
        "*Scheduled drills in this channel*",
        "`/deploy-question schedule daily|weekdays HH:MM [IANA timezone] [topics a,b] [difficulty core]` - e.g. `schedule weekdays 09:30 Europe/Berlin topics rollout,rollback`",
        "`/deploy-question schedule list` - this channel's schedules",
        "`/deploy-question schedule remove|pause|resume <id>`",
        "`/deploy-question schedule skip YYYY-MM-DD` - skip a date (holidays); `skip <id> YYYY-MM-DD` for one schedule",
        "`/deploy-question schedule limit <id> topics a,b | difficulty core | any` - what a schedule may ask",
        "`/deploy-question schedule preview <id>` - its next question · `schedule now <id>` - post that question now",
        "The timezone defaults to yours in Slack. Only workspace admins and owners can change schedules.",
    ]
)


def when(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(zone(tz)).strftime("%a %Y-%m-%d %H:%M %Z")


def _limit(schedule: ScheduleView) -> str:
    return f" · {describe(schedule.limit)}" if schedule.limit else ""


def summary(schedule: ScheduleView) -> str:
    """`#3 weekdays at 09:30 (Europe/Berlin) · next Mon … · topics rollout`."""
    state = "paused" if schedule.paused else f"next {when(schedule.next_fire, schedule.tz)}"
    skips = [day.isoformat() for day in schedule.skips]
    skipping = f" · skipping {', '.join(skips)}" if skips else ""
    return (
        f"*#{schedule.id}* {schedule.days} at {schedule.time} ({schedule.tz}) · {state}"
        f"{_limit(schedule)}{skipping}"
    )


def schedule_created(schedule: ScheduleView) -> str:
    return (
        f"Scheduled drill #{schedule.id}: {schedule.days} at {schedule.time} ({schedule.tz})"
        f"{_limit(schedule)}. Next question: {when(schedule.next_fire, schedule.tz)}. "
        "I've announced it in the channel."
    )


def duplicate(existing: ScheduleView) -> str:
    resume = (
        f" It is paused: `/deploy-question schedule resume {existing.id}` turns it back on."
        if existing.paused
        else ""
    )
    return (
        f"This channel already has that drill: {summary(existing)}.{resume} "
        f"To change what it asks: `/deploy-question schedule limit {existing.id} topics …`."
    )


def schedule_list(schedules: list[ScheduleView]) -> str:
    if not schedules:
        return "No scheduled drills in this channel yet. " + SCHEDULE_USAGE.splitlines()[1]
    lines = ["*Scheduled drills in this channel*"]
    lines += [f"• {summary(s)}" for s in schedules]
    return cut("\n".join(lines))


def limit_set(schedule: ScheduleView) -> str:
    return f"Schedule #{schedule.id} now asks {describe(schedule.limit)}."


def preview(schedule: ScheduleView, question: Question) -> str:
    upcoming = when(schedule.next_fire, schedule.tz)
    prompt = "\n".join(f"> {escape(line)}" for line in question.prompt.splitlines() if line)
    return cut(
        f"*Next for schedule #{schedule.id}* ({upcoming}, if nothing changes before then: "
        f"answers in between can reorder the rotation):\n*{escape(question.title)}* "
        f"_({question.topic}, {question.difficulty})_\n{prompt}"
    )


def posted_now(schedule: ScheduleView, question: Question | None) -> str:
    if question is None:
        return f"Schedule #{schedule.id} already posted a question this minute."
    upcoming = schedule.next_fire
    skip = (
        f" `/deploy-question schedule skip {schedule.id} "
        f"{upcoming.astimezone(zone(schedule.tz)).date().isoformat()}` skips the next one."
        if upcoming
        else ""
    )
    return (
        f"Posting *{escape(question.title)}* in <#{schedule.channel}> now (schedule "
        f"#{schedule.id}). Its regular drills stay as they are.{skip}"
    )


class ScheduleMessages:
    """schedule.ScheduleRenderer: a new schedule, announced in its channel."""

    def schedule_announcement(self, schedule: ScheduleView) -> dict[str, Any]:
        text = (
            f":calendar: <@{schedule.created_by}> set up a drill in this channel: "
            f"*{schedule.days} at {schedule.time}* ({schedule.tz}){_limit(schedule)}. "
            f"The first question comes {when(schedule.next_fire, schedule.tz)}; answer in its thread."
        )
        how = (
            f"Admins can pause it with `/deploy-question schedule pause {schedule.id}` or from "
            "the Deploy Drill Home tab; `/deploy-question schedule list` shows this channel's "
            "schedules."
        )
        return {
            "text": f"New drill schedule: {schedule.days} at {schedule.time} ({schedule.tz})",
            "blocks": as_dicts([section(text), context(how)]),
            "metadata": metadata(
                "drill_schedule",
                {
                    "schedule_id": schedule.id,
                    "created_by": schedule.created_by,
                    "days": schedule.days,
                    "time": schedule.time,
                    "tz": schedule.tz,
                },
            ),
            "unfurl_links": False,
            "unfurl_media": False,
        }
