"""Who is in a channel: its people (conversations.members, bots and deactivated accounts
left out through users.info), cached for a few minutes per workspace.

Needs the `channels:read` / `groups:read` scopes; without them (an install from before
they were asked for) Slack refuses and the team view says whom it counted instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

TTL_SECONDS = 300.0
MAX_MEMBERS = 1000  # a team channel; a #general of thousands is not a team
MAX_LOOKUPS = 100  # users.info calls per roster; people beyond are counted as people
LOOKUPS_AT_ONCE = 8
_FAILURES = (SlackApiError, aiohttp.ClientError, TimeoutError)


class Roster:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._members: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._person: dict[tuple[str, str], tuple[float, bool]] = {}

    async def people(
        self,
        client: AsyncWebClient,
        *,
        team: str,
        channel: str,
        known_people: frozenset[str] = frozenset(),
    ) -> frozenset[str] | None:
        """The channel's members who are people; None when Slack would not say.
        `known_people` (who answered drills) are people without asking."""
        now = time.monotonic()
        cached = self._members.get((team, channel))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            members = await self._members_of(client, channel)
        except _FAILURES as exc:
            log.info("conversations.members for %s: %s", channel, _reason(exc))
            return None
        unknown = [u for u in members if u not in known_people and not self._known(team, u, now)][
            :MAX_LOOKUPS
        ]
        gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

        async def look_up(user: str) -> None:
            async with gate:
                self._person[(team, user)] = (now + self._ttl, await self._is_person(client, user))

        await asyncio.gather(*(look_up(u) for u in unknown))
        people = frozenset(
            u for u in members if u in known_people or self._person.get((team, u), (0, True))[1]
        )
        self._members[(team, channel)] = (now + self._ttl, people)
        return people

    def _known(self, team: str, user: str, now: float) -> bool:
        entry = self._person.get((team, user))
        return entry is not None and entry[0] > now

    async def _members_of(self, client: AsyncWebClient, channel: str) -> list[str]:
        members: list[str] = []
        cursor = None
        while len(members) < MAX_MEMBERS:
            args: dict[str, Any] = {"channel": channel, "limit": 200}
            if cursor:
                args["cursor"] = cursor
            response = await client.conversations_members(**args)
            members += [str(m) for m in response.get("members") or []]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return members[:MAX_MEMBERS]

    async def _is_person(self, client: AsyncWebClient, user: str) -> bool:
        """Not a bot, not deactivated; a person when Slack does not answer."""
        try:
            response = await client.users_info(user=user)
        except _FAILURES as exc:
            log.info("users.info for %s: %s", user, _reason(exc))
            return True
        profile = response.get("user") or {}
        return not (profile.get("is_bot") or profile.get("deleted") or user == "USLACKBOT")


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc)
    return type(exc).__name__
