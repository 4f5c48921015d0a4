"""Spaced review's `Directory` over the Web API: a person's timezone (users.info) and the DM
with them (conversations.open), each call with its workspace's own token."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import RetryLater, Undeliverable
from bot.slack.installs import TokenSource
from bot.slack.poster import retry_later, slack_failure, workspace_token


class SlackDirectory:
    def __init__(self, client: AsyncWebClient, tokens: TokenSource) -> None:
        self._client = client
        self._tokens = tokens

    async def timezone(self, team: str, user: str) -> str | None:
        try:
            response = await self._client.users_info(
                user=user, token=await workspace_token(self._tokens, team)
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _translated("users.info", exc) from exc
        tz = (response.get("user") or {}).get("tz")
        return str(tz) if tz else None

    async def open_dm(self, team: str, user: str) -> str:
        try:
            response = await self._client.conversations_open(
                users=user, token=await workspace_token(self._tokens, team)
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
    retry = retry_later(exc, prefix=f"{method}: ")
    if retry is not None:
        return retry
    status, error, _ = slack_failure(exc)
    return Undeliverable(f"{method}: {error or status}")
