"""Posting outbox messages through slack-sdk, translating its errors to ours."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import RetryLater, Undeliverable
from bot.slack.installs import TokenSource

# Errors that retrying cannot fix (the channel is gone, the bot was removed, bad blocks …).
_TRANSIENT = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
    }
)


def slack_failure(exc: SlackApiError) -> tuple[int, str, str | None]:
    """(HTTP status, Slack's error code, Retry-After) of a failed call. Slack's edge may answer
    an HTML page, labelled text/html, text/plain or even JSON: slack-sdk then hands back the
    page as a string, or the raw aiohttp response, instead of Slack's JSON."""
    response = exc.response
    # AsyncSlackResponse has status_code; aiohttp's ClientResponse has status.
    status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
    data = getattr(response, "data", None)
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    return status, error, None if retry_after is None else str(retry_after)


class SlackPoster:
    """outbox.Poster over an AsyncWebClient (which already retries short faults).

    A payload is chat.postMessage kwargs; `_method` selects chat.postEphemeral or
    files_upload_v2 (with the file as `content_b64`).
    """

    def __init__(self, client: AsyncWebClient, tokens: TokenSource | None = None) -> None:
        self._base = client
        self._client: AsyncWebClient | None = None
        self._tokens = tokens  # each message goes out with its own workspace's token
        # The poster's own connection pool and timeout (the runtime sets it); without it,
        # the base client's.
        self.session: aiohttp.ClientSession | None = None

    @property
    def client(self) -> AsyncWebClient:
        """The base client minus the rate-limit handler: it would sleep Retry-After inside the
        post and hold up every other channel (the outbox reschedules a 429 itself). Made on
        first use, so it uses the session the runtime gives the poster or the base client."""
        base = self._base
        session = self.session or base.session
        if self._client is None or self._client.session is not session:
            self._client = AsyncWebClient(
                token=base.token,
                base_url=base.base_url,
                timeout=base.timeout,
                session=session,
                retry_handlers=[
                    h
                    for h in base.retry_handlers
                    if not isinstance(h, AsyncRateLimitErrorRetryHandler)
                ],
            )
        return self._client

    async def post(self, team: str, payload: dict[str, Any]) -> tuple[str, str]:
        payload = dict(payload)
        method = payload.pop("_method", "chat.postMessage")
        if self._tokens is not None:
            token = await self._tokens(team)
            if not token:
                raise Undeliverable(f"the app is not installed in workspace {team}")
            payload["token"] = token
        try:
            if method == "chat.postEphemeral":
                response = await self.client.chat_postEphemeral(**payload)
                return str(payload["channel"]), str(response.get("message_ts", ""))
            if method == "files_upload_v2":
                content = base64.b64decode(payload.pop("content_b64"))
                response = await self.client.files_upload_v2(content=content, **payload)
                files = response.get("files") or [{}]
                return str(payload["channel"]), str(files[0].get("id", ""))
            response = await self.client.chat_postMessage(**payload)
        except SlackApiError as exc:
            status, error, retry_after = slack_failure(exc)
            if status == 429 or status >= 500 or error in _TRANSIENT:
                delay = float(retry_after) if retry_after and retry_after.isdigit() else 0.0
                raise RetryLater(f"slack {status} {error}".strip(), delay) from exc
            raise Undeliverable(f"slack error: {error or status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Unless it never connected, Slack may have posted it before the answer was lost.
            maybe_done = not isinstance(exc, aiohttp.ClientConnectorError)
            raise RetryLater(f"network: {type(exc).__name__}", 0.0, maybe_done=maybe_done) from exc
        return str(response["channel"]), str(response["ts"])
