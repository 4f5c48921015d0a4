"""Who the app is in a workspace: Bolt's authorize step, made safe for Slack's retries.

Bolt asks `auth.test` before a request's listeners run. Its own single-workspace
authorization answers a Web API error with a 200 ("please install"), which acknowledges
an answer that was never stored, and a timeout reaches the error handler as if a listener
had failed. Here `auth.test` is asked once per token and remembered; when Slack cannot
answer it (a timeout, a broken connection, a 5xx or a 429), the request fails with
`SlackUnreachable`, which the error handler answers 503 so that Slack delivers the event
again. A token Slack rejects (`invalid_auth`, `account_inactive` …) is still Bolt's
"please install" answer.

Multi-workspace apps keep Bolt's installation-store authorize (token rotation, user
tokens), with its cache of `auth.test` switched on.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import (
    AsyncAuthorize,
    AsyncInstallationStoreAuthorize,
)
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError

from bot.errors import DrillError

log = logging.getLogger(__name__)


class SlackUnreachable(DrillError):
    """Slack could not answer a call a request depends on; the request should be retried."""


def is_transient(error: BaseException) -> bool:
    """Whether `error` is Slack (or the way to it) failing for now, not for good."""
    if isinstance(error, SlackUnreachable | asyncio.TimeoutError | aiohttp.ClientError):
        return True
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 0)
        return bool(status == 429 or status >= 500)
    return False


class TokenAuthorize(AsyncAuthorize):
    """Authorizes every request with the one bot token of a single-workspace app."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._result: AuthorizeResult | None = None
        self._asking = asyncio.Lock()  # one auth.test at a time, however many requests wait

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        async with self._asking:
            if self._result is None:
                self._result = await self._ask(context)
        return self._result

    async def _ask(self, context: AsyncBoltContext) -> AuthorizeResult | None:
        try:
            response = await context.client.auth_test(token=self._token)
        except Exception as exc:
            if is_transient(exc):
                raise SlackUnreachable(f"auth.test failed ({type(exc).__name__})") from None
            if isinstance(exc, SlackApiError):
                log.error("Slack rejects the bot token: %s", exc.response.get("error"))
                return None  # Bolt answers "please install"; asked again next request
            raise
        return AuthorizeResult.from_auth_test_response(
            auth_test_response=response,
            bot_token=self._token,
            user_token=None,
            bot_scopes=None,
            user_scopes=None,
        )


def cached_installation_authorize(settings: AsyncOAuthSettings) -> AsyncAuthorize:
    """Bolt's authorize from the installation store, asking auth.test once per token
    instead of on every request."""
    return AsyncInstallationStoreAuthorize(
        logger=logging.getLogger("bot.slack.oauth"),
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_rotation_expiration_minutes=settings.token_rotation_expiration_minutes,
        installation_store=settings.installation_store,
        bot_only=settings.installation_store_bot_only,
        user_token_resolution=settings.user_token_resolution,
        cache_enabled=True,
    )
