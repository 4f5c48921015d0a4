"""`/deploy-question schedule …`: parsing, the admin check, and the replies."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.schedule import (
    DuplicateSchedule,
    ScheduleProblem,
    Schedules,
    parse_day,
    parse_schedule_limit,
    parse_spec,
    zone,
)
from bot.slack import blocks, schedule_blocks
from bot.slack.admins import Admins
from bot.teamlead import TeamLead

# Everything but `list` is for admins (so it asks Slack who the user is first).
ADMIN_VERBS = ("daily", "weekdays", "remove", "pause", "resume", "skip", "limit", "now", "preview")
CLEARS_LIMIT = ("any", "none", "all", "off")


def _valid_zone(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    try:
        zone(name)
    except ScheduleProblem:
        return None
    return name


def _skip_args(args: tuple[str, ...]) -> tuple[date, int | None]:
    if len(args) == 1:
        return parse_day(args[0]), None
    if len(args) == 2 and args[0].lstrip("#").isdigit():
        return parse_day(args[1]), int(args[0].lstrip("#"))
    raise ScheduleProblem(
        "Use `/deploy-question schedule skip YYYY-MM-DD` (or `skip <id> YYYY-MM-DD`)."
    )


def _no_such(schedule_id: int) -> str:
    return (
        f"There is no schedule #{schedule_id} in this channel. "
        "`/deploy-question schedule list` shows them."
    )


class ScheduleCommands:
    """Reads and changes a channel's schedules; only admins and owners (or DRILL_ADMINS) change them."""

    def __init__(self, schedules: Schedules, teamlead: TeamLead, admins: Admins) -> None:
        self._schedules = schedules
        self._teamlead = teamlead
        self._admins = admins

    @staticmethod
    def asks_slack(args: tuple[str, ...]) -> bool:
        """Whether `handle` calls the Web API for these arguments (users.info)."""
        return bool(args) and args[0].lower() in ADMIN_VERBS

    async def handle(
        self, client: AsyncWebClient, args: tuple[str, ...], *, team: str, channel: str, user: str
    ) -> str:
        """The `schedule` subcommands; returns the ephemeral reply."""
        verb = args[0].lower() if args else ""
        if verb == "list":
            return schedule_blocks.schedule_list(
                await self._schedules.for_channel(team=team, channel=channel)
            )
        if verb not in ADMIN_VERBS:
            problem = (
                f"“{blocks.quote(verb, 30)}” is not a day choice or schedule command.\n"
                if verb
                else ""
            )
            return problem + schedule_blocks.SCHEDULE_USAGE
        check = await self._admins.check(client, user)
        if not check.allowed:
            return check.refusal
        try:
            return await self._admin_verb(
                verb, args, check.profile, team=team, channel=channel, user=user
            )
        except DuplicateSchedule as exc:
            return schedule_blocks.duplicate(exc.existing)
        except ScheduleProblem as exc:
            return str(exc)

    async def _admin_verb(
        self,
        verb: str,
        args: tuple[str, ...],
        profile: dict[str, Any],
        *,
        team: str,
        channel: str,
        user: str,
    ) -> str:
        if verb in ("daily", "weekdays"):
            spec = parse_spec(args)
            tz = spec.tz or _valid_zone(profile.get("tz")) or "UTC"
            created = await self._schedules.create(
                team=team, channel=channel, spec=spec, tz=tz, user=user
            )
            return schedule_blocks.schedule_created(created)
        if verb == "skip":
            day, target = _skip_args(args[1:])
            changed = await self._schedules.skip(
                team=team, channel=channel, day=day, schedule_id=target
            )
            if not changed:
                return "There is no such schedule in this channel. `/deploy-question schedule list` shows them."
            return (
                f"Skipping {day.isoformat()} for schedule(s) {', '.join(f'#{i}' for i in changed)}."
            )
        if (
            len(args) < 2
            or not args[1].lstrip("#").isdigit()
            or (verb != "limit" and len(args) > 2)
        ):
            more = " topics a,b | difficulty core | any" if verb == "limit" else ""
            return (
                f"Tell me which schedule: `/deploy-question schedule {verb} <id>{more}` "
                "(ids are in `schedule list`)."
            )
        schedule_id = int(args[1].lstrip("#"))
        if verb == "limit":
            return await self._limit(args[2:], team=team, channel=channel, schedule_id=schedule_id)
        if verb in ("now", "preview"):
            return await self._next(verb, team=team, channel=channel, schedule_id=schedule_id)
        if verb == "remove":
            done = await self._schedules.remove(team=team, channel=channel, schedule_id=schedule_id)
        else:
            done = await self._schedules.set_paused(
                team=team, channel=channel, schedule_id=schedule_id, paused=verb == "pause"
            )
        if not done:
            return _no_such(schedule_id)
        return f"Schedule #{schedule_id} {dict(remove='removed', pause='paused', resume='resumed')[verb]}."

    async def _limit(
        self, words: tuple[str, ...], *, team: str, channel: str, schedule_id: int
    ) -> str:
        if not words:
            return (
                "Say what the schedule may ask: `topics a,b`, `difficulty core`, both, or `any`. "
                "`/deploy-question list` shows each question's topic and difficulty."
            )
        cleared = len(words) == 1 and words[0].lower() in CLEARS_LIMIT
        limit = parse_schedule_limit(() if cleared else words)
        changed = await self._schedules.set_limit(
            team=team, channel=channel, schedule_id=schedule_id, limit=limit
        )
        return _no_such(schedule_id) if changed is None else schedule_blocks.limit_set(changed)

    async def _next(self, verb: str, *, team: str, channel: str, schedule_id: int) -> str:
        schedule = await self._schedules.get(team=team, schedule_id=schedule_id)
        if schedule is None or schedule.channel != channel:
            return _no_such(schedule_id)
        if verb == "preview":
            return schedule_blocks.preview(schedule, await self._teamlead.preview(schedule))
        return schedule_blocks.posted_now(schedule, await self._teamlead.post_now(schedule))
