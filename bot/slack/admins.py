"""Who may manage drills: workspace admins and owners (users.info), and DRILL_ADMINS."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

REFUSED = (
    "Only workspace admins and owners (or people in DRILL_ADMINS) can do that. "
    "`/deploy-question schedule list` shows this channel's schedules."
)
UNANSWERED = (
    "I couldn't check with Slack that you may do that (it did not answer). "
    "Please try again in a minute."
)


@dataclass(frozen=True)
class AdminCheck:
    allowed: bool
    refusal: str  # what to tell a user who is not allowed ("" when allowed)
    profile: dict[str, Any] = field(default_factory=dict)  # from users.info; {} if no answer


class Admins:
    def __init__(self, admins: tuple[str, ...] = ()) -> None:
        self._admins = frozenset(admins)

    async def check(self, client: AsyncWebClient, user: str) -> AdminCheck:
        profile = await self._profile(client, user)
        if user in self._admins:
            return AdminCheck(True, "", profile or {})
        if profile is None:
            return AdminCheck(False, UNANSWERED)
        if profile.get("is_admin") or profile.get("is_owner"):
            return AdminCheck(True, "", profile)
        return AdminCheck(False, REFUSED, profile)

    async def _profile(self, client: AsyncWebClient, user: str) -> dict[str, Any] | None:
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
