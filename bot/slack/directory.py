"""Spaced review's `Directory` over the Web API: a person's timezone (users.info) and the DM
with them (conversations.open), each call with its workspace's own token."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import RetryLater, Undeliverable
from bot.slack.installs import TokenSource
from bot.slack.poster import TRANSIENT, slack_failure


class SlackDirectory:
    def __init__(self, client: AsyncWebClient, tokens: TokenSource) -> None:
        self._client = client
        self._tokens = tokens

    async def _token(self, team: str) -> str:
        token = await self._tokens(team)
        if not token:
            raise Undeliverable(f"the app is not installed in workspace {team}")
        return token

    async def timezone(self, team: str, user: str) -> str | None:
        try:
            response = await self._client.users_info(user=user, token=await self._token(team))
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _translated("users.info", exc) from exc
        tz = (response.get("user") or {}).get("tz")
        return str(tz) if tz else None

    async def open_dm(self, team: str, user: str) -> str:
        try:
            response = await self._client.conversations_open(
                users=user, token=await self._token(team)
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _translated("conversations.open", exc) from exc
        channel = (response.get("channel") or {}).get("id")
        if not channel:
            raise Undeliverable("conversations.open gave no channel")
        return str(channel)


def _translated(method: str, exc: Exception) -> RetryLater | Undeliverable:
    if not isinstance(exc, SlackApiError):
        return RetryLater(f"{method}: network: {type(exc).__name__}", 0.0)
    status, error, retry_after = slack_failure(exc)
    if status == 429 or status >= 500 or error in TRANSIENT:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else 0.0
        return RetryLater(f"{method}: slack {status} {error}".strip(), delay)
    return Undeliverable(f"{method}: {error or status}")
