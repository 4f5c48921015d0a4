"""Posting outbox messages through slack-sdk, translating its errors to ours; and, after a
try that may have posted without our hearing back, finding what is already in Slack."""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.errors import RetryLater, Undeliverable
from bot.outbox import Place
from bot.slack.fairness import has_native_control, to_plain
from bot.slack.installs import TokenSource

log = logging.getLogger(__name__)

# Slack errors worth trying again later (any other error is permanent: the channel is gone, the
# bot was removed, the blocks are bad …).
TRANSIENT = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
    }
)
# conversations.replies and .history: Tier 3 (50 a minute) for internal and Marketplace
# apps, 1 a minute for other distributed apps (their 429 says how long to wait). Used
# only to recover after a try that may have posted, one call a second per workspace.
READ_INTERVAL_SECONDS = 1.0
READ_PAGE = 200
READ_PAGES = 10  # a thread's 2,000 newest messages, or a channel's since the message was queued


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


def retry_later(exc: SlackApiError, prefix: str = "") -> RetryLater | None:
    """What a transient Slack failure (429, 5xx, a transient error code) means: try again after
    Retry-After (or at once); None when retrying cannot help."""
    status, error, retry_after = slack_failure(exc)
    if status == 429 or status >= 500 or error in TRANSIENT:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else 0.0
        return RetryLater(f"{prefix}slack {status} {error}".strip(), delay)
    return None


async def workspace_token(tokens: TokenSource, team: str) -> str:
    """The bot token of `team`; Undeliverable when the app is not installed there."""
    token = await tokens(team)
    if not token:
        raise Undeliverable(f"the app is not installed in workspace {team}")
    return token


class SlackPoster:
    """outbox.Poster over an AsyncWebClient (which already retries short faults).

    A payload is chat.postMessage kwargs without the channel and thread (the message's place
    gives them); `_method` selects chat.postEphemeral or files_upload_v2 (with the file as
    `content_b64`).
    """

    def __init__(self, client: AsyncWebClient, tokens: TokenSource | None = None) -> None:
        self._base = client
        self._client: AsyncWebClient | None = None
        self._tokens = tokens  # each message goes out with its own workspace's token
        # The poster's own connection pool and timeout (the runtime sets it); without it,
        # the base client's.
        self.session: aiohttp.ClientSession | None = None
        self._reads: dict[str, asyncio.Lock] = {}  # per workspace: one read at a time …
        self._read_after: dict[str, float] = {}  # … and when the next may start
        # Workspaces whose Slack refused the feedback buttons element (invalid_blocks): their
        # messages carry plain buttons instead, from then on (for this process's life).
        self.plain_controls: set[str] = set()

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

    async def _token(self, team: str) -> dict[str, str]:
        if self._tokens is None:
            return {}
        return {"token": await workspace_token(self._tokens, team)}

    async def post(self, place: Place, payload: dict[str, Any], key: str) -> tuple[str, str]:
        """Post one message. Its `key` (the outbox's key for it) goes into its metadata as
        `message_key`, so `posted` can find it later."""
        team, channel, thread_ts = place
        where = {"channel": channel} | ({"thread_ts": thread_ts} if thread_ts else {})
        payload = {**payload, **where, **await self._token(team)}
        method = payload.pop("_method", "chat.postMessage")
        metadata = payload.get("metadata")
        if isinstance(metadata, dict):
            event = {**(metadata.get("event_payload") or {}), "message_key": key}
            payload["metadata"] = {**metadata, "event_payload": event}
        if team in self.plain_controls and has_native_control(payload):
            payload = to_plain(payload)
        try:
            if method == "chat.postMessage" and has_native_control(payload):
                return await self._post_with_control(team, payload)
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
            retry = retry_later(exc)
            if retry is not None:
                raise retry from exc
            status, error, _ = slack_failure(exc)
            raise Undeliverable(f"slack error: {error or status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Unless it never connected, Slack may have posted it before the answer was lost.
            maybe_done = not isinstance(exc, aiohttp.ClientConnectorError)
            raise RetryLater(f"network: {type(exc).__name__}", 0.0, maybe_done=maybe_done) from exc
        return str(response["channel"]), str(response["ts"])

    async def _post_with_control(self, team: str, payload: dict[str, Any]) -> tuple[str, str]:
        """Post a message with the feedback buttons element; where Slack refuses the block
        (`invalid_blocks`), post it again at once with plain buttons, and keep to those for
        the workspace."""
        try:
            response = await self.client.chat_postMessage(**payload)
        except SlackApiError as exc:
            if slack_failure(exc)[1] != "invalid_blocks":
                raise
            log.warning("workspace %s refused the feedback buttons: using plain buttons", team)
            self.plain_controls.add(team)
            response = await self.client.chat_postMessage(**to_plain(payload))
        return str(response["channel"]), str(response["ts"])

    async def posted(
        self, place: Place, payload: dict[str, Any], since: datetime
    ) -> dict[str, tuple[str, str]]:
        """(channel, ts) by `message_key` of this app's messages where `payload` would go:
        its thread (conversations.replies), or for a message that starts one, the channel
        since `since` (conversations.history). Empty when Slack cannot say (an ephemeral
        message or a file; no permission to read): the message is then posted again.
        Raises RetryLater on a 429 or a transient failure."""
        if payload.get("_method", "chat.postMessage") != "chat.postMessage":
            return {}
        team, channel, thread = place
        args: dict[str, Any] = {"channel": channel, "include_all_metadata": True}
        if thread:
            read, method = self.client.conversations_replies, "conversations.replies"
            args["ts"] = thread
        else:
            read, method = self.client.conversations_history, "conversations.history"
            args["oldest"] = f"{since.timestamp() - 1:.6f}"
        args |= await self._token(team)
        found: dict[str, tuple[str, str]] = {}
        try:
            for _ in range(READ_PAGES):
                response = await self._paced(team, functools.partial(read, limit=READ_PAGE, **args))
                for message in response.get("messages") or []:
                    event = (message.get("metadata") or {}).get("event_payload") or {}
                    if event.get("message_key") and message.get("ts"):
                        found[str(event["message_key"])] = (channel, str(message["ts"]))
                args["cursor"] = (response.get("response_metadata") or {}).get("next_cursor")
                if not args["cursor"]:
                    break
        except SlackApiError as exc:
            retry = retry_later(exc, prefix=f"{method}: ")
            if retry is not None:
                self._read_after[team] = time.monotonic() + retry.delay
                raise retry from exc
            log.warning(
                "%s: %s; cannot tell whether a message was posted", method, slack_failure(exc)[1]
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"{method}: network: {type(exc).__name__}", 0.0) from exc
        return found

    async def _paced(
        self, team: str, call: Callable[[], Awaitable[AsyncSlackResponse]]
    ) -> AsyncSlackResponse:
        """A read made once this workspace's previous one is a second old."""
        async with self._reads.setdefault(team, asyncio.Lock()):
            wait = self._read_after.get(team, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._read_after[team] = time.monotonic() + READ_INTERVAL_SECONDS
            return await call()
