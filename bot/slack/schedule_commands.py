"""`/deploy-question schedule …`: parsing, the admin check, and the replies."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schedule import ScheduleProblem, Schedules, next_fire, parse_day, parse_spec, zone
from bot.slack import blocks

log = logging.getLogger(__name__)

CHANGES = ("daily", "weekdays", "remove", "pause", "resume", "skip")


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


class ScheduleCommands:
    """Reads and changes a channel's schedules; only admins and owners (or DRILL_ADMINS) change them."""

    def __init__(self, schedules: Schedules, admins: tuple[str, ...] = ()) -> None:
        self._schedules = schedules
        self._admins = frozenset(admins)

    @staticmethod
    def asks_slack(args: tuple[str, ...]) -> bool:
        """Whether `handle` calls the Web API for these arguments (a change: users.info)."""
        return bool(args) and args[0].lower() in CHANGES

    async def handle(
        self, client: AsyncWebClient, args: tuple[str, ...], *, team: str, channel: str, user: str
    ) -> str:
        """The `schedule` subcommands; returns the ephemeral reply."""
        verb = args[0].lower() if args else ""
        if verb == "list":
            return blocks.schedule_list(
                await self._schedules.for_channel(team=team, channel=channel), datetime.now(UTC)
            )
        if verb not in CHANGES:
            problem = (
                f"“{blocks.quote(verb, 30)}” is not a day choice or schedule command.\n"
                if verb
                else ""
            )
            return problem + blocks.SCHEDULE_USAGE
        profile = await self._user(client, user)
        if profile is None and user not in self._admins:
            return (
                "I couldn't check with Slack that you may change schedules (it did not answer). "
                "Please try again in a minute."
            )
        profile = profile or {}
        if not (user in self._admins or profile.get("is_admin") or profile.get("is_owner")):
            return (
                "Only workspace admins and owners (or people in DRILL_ADMINS) can change schedules. "
                "`/deploy-question schedule list` shows this channel's schedules."
            )
        try:
            return await self._change_schedule(
                verb, args, profile, team=team, channel=channel, user=user
            )
        except ScheduleProblem as exc:
            return str(exc)

    async def _change_schedule(
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
            return blocks.schedule_created(created, next_fire(created, datetime.now(UTC)))
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
        if len(args) != 2 or not args[1].lstrip("#").isdigit():
            return f"Tell me which schedule: `/deploy-question schedule {verb} <id>` (ids are in `schedule list`)."
        schedule_id = int(args[1].lstrip("#"))
        if verb == "remove":
            done = await self._schedules.remove(team=team, channel=channel, schedule_id=schedule_id)
        else:
            done = await self._schedules.set_paused(
                team=team, channel=channel, schedule_id=schedule_id, paused=verb == "pause"
            )
        if not done:
            return f"There is no schedule #{schedule_id} in this channel. `/deploy-question schedule list` shows them."
        return f"Schedule #{schedule_id} {dict(remove='removed', pause='paused', resume='resumed')[verb]}."

    async def _user(self, client: AsyncWebClient, user: str) -> dict[str, Any] | None:
        """The user's Slack profile; None when Slack cannot say (an error, a timeout)."""
        try:
            response = await client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("users.info failed: %s", exc)
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed: %s", type(exc).__name__)
            return None
        return dict(response.get("user") or {})
