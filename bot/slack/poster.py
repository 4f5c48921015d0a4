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


class SlackPoster:
    """outbox.Poster over an AsyncWebClient (which already retries short faults).

    A payload is chat.postMessage kwargs; `_method` selects chat.postEphemeral or
    files_upload_v2 (with the file as `content_b64`).
    """

    def __init__(self, client: AsyncWebClient, tokens: TokenSource | None = None) -> None:
        self._base = client
        self._client: AsyncWebClient | None = None
        self._tokens = tokens  # each message goes out with its own workspace's token

    @property
    def client(self) -> AsyncWebClient:
        """The base client minus the rate-limit handler: it would sleep Retry-After inside the
        post and hold up every other channel (the outbox reschedules a 429 itself). Made on
        first use, so it shares the connection pool the runtime gives the base client."""
        base = self._base
        if self._client is None or self._client.session is not base.session:
            self._client = AsyncWebClient(
                token=base.token,
                base_url=base.base_url,
                timeout=base.timeout,
                session=base.session,
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
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if exc.response.data else ""
            if status == 429 or status >= 500 or error in _TRANSIENT:
                retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                delay = float(retry_after) if retry_after and str(retry_after).isdigit() else 0.0
                raise RetryLater(f"slack {status} {error}".strip(), delay) from exc
            raise Undeliverable(f"slack error: {error or status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}", 0.0) from exc
        return str(response["channel"]), str(response["ts"])
