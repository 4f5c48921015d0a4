"""A local stand-in for Slack: the Web API on loopback, and signed deliveries to the bot.

The test suite and the playground use it: it answers the Web API methods the bot
calls, records every call, can fail on purpose (429 with Retry-After, 5xx, Slack
error codes), and sends events, slash commands and interactions to the bot's
`/slack/events` signed exactly as Slack signs them. What a Slack client would
show (messages, threads, ephemerals, DMs with the bot, App Home, modals, files) is kept in
`workspace` (see workspace.py); `LocalClient` (localclient.py) acts for people.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.playground.slack_screen import Workspace

BOT_USER_ID = "U0DRILLBOT"
BOT_ID = "B0DRILLBOT"
# When Slack delivers an event again after anything but a 2xx (or no answer): at once, a
# minute later, five minutes after that, then never (slack-reference.md §1.3).
SLACK_RETRY_DELAYS = (0.0, 60.0, 300.0)


@dataclass
class Call:
    method: str  # Web API method name, e.g. "chat.postMessage", or "respond"
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None
    times: int
    delay: float = 0.0  # seconds before answering: a slow Slack
    page: str | None = None  # answer an HTML page with this content type, as Slack's edge may


@dataclass
class Stall:
    """Calls that hang: answered only after `seconds` (a client has long given up by then)."""

    seconds: float
    times: int
    channel: str | None  # only calls for this channel; None: every call of the method
    accepted: bool  # done on arrival (the answer is what hangs), else never done at all


@dataclass
class SlackStandIn:
    """A fake Slack Web API server. `await start()`, then point SLACK_API_URL at `api_url`."""

    signing_secret: str = "test-signing-secret"
    team_id: str = "T0TEAM"
    calls: list[Call] = field(default_factory=list)
    # file id -> bytes sent to the upload URL
    uploads: dict[str, bytes] = field(default_factory=dict)
    # Socket Mode: open connections, and the app's ack for each envelope id
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # channel -> its members (conversations.members); the bot is in every channel
    members: dict[str, list[str]] = field(default_factory=dict)
    workspace: Workspace = field(default_factory=Workspace)
    # Multi-workspace (OAuth): the app's credentials, and each installed workspace by bot token
    client_id: str = "1111.2222"
    client_secret: str = "test-client-secret"
    installs: dict[str, dict[str, str]] = field(default_factory=dict)
    # Whether this Slack takes the feedback buttons element (a `context_actions` block); one
    # that does not answers `invalid_blocks`, as Slack does for a block it does not know.
    feedback_buttons: bool = True
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _stalls: dict[str, list[Stall]] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    _unstalled: asyncio.Event = field(default_factory=asyncio.Event)  # set: hung calls end
    port: int = 0

    # --- lifecycle -----------------------------------------------------------------

    async def start(self, port: int = 0) -> SlackStandIn:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and friends are GETs
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get(
            "/link", self._socket
        )  # Socket Mode WebSocket  # files.getUploadURLExternal's URL
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._changed = asyncio.Condition()
        return self

    async def close(self) -> None:
        self.recover()  # hung calls end now, not when their stall would
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{key}"

    # --- scripting -------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int | None = 1,
        times: int = 1,
        delay: float = 0.0,
        page: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail this way (after `delay` seconds).
        With `page` (a content type: text/html, text/plain, even application/json) the body
        is an HTML error page instead of Slack's JSON."""
        self._failures.setdefault(method, []).append(
            Failure(status, error, retry_after, times, delay, page)
        )

    def stall(
        self,
        method: str,
        *,
        seconds: float = 3600.0,
        times: int = 1,
        channel: str | None = None,
        accepted: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` (to `channel`, if given) hang for `seconds`.

        `accepted=False`: the call is never carried out (answered 504 when the stall ends).
        `accepted=True`: it is carried out on arrival and only the answer hangs, as when
        Slack posted a message but its reply was lost on the way.
        """
        self._stalls.setdefault(method, []).append(Stall(seconds, times, channel, accepted))

    def recover(self) -> None:
        """Forget every scripted failure and stall; calls hanging now are answered."""
        self._failures.clear()
        self._stalls.clear()
        self._unstalled.set()
        self._unstalled = asyncio.Event()

    def add_workspace(self, team_id: str, *, code: str | None = None) -> str:
        """A workspace that can install the app: Slack's redirect carries `code`, and
        `oauth.v2.access` trades it for this workspace's own bot token (returned)."""
        token = f"xoxb-{team_id.lower()}-{len(self.installs) + 1}-installed-token"
        self.installs[token] = {
            "team_id": team_id,
            "code": code or f"code-{team_id}",
            "user_id": f"U0BOT{team_id[-4:]}",
            "bot_id": f"B0BOT{team_id[-4:]}",
        }
        return token

    def add_user(
        self,
        user_id: str,
        *,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
        name: str | None = None,
        is_bot: bool = False,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_bot": is_bot,
        }
        if name:
            self.users[user_id].update(
                name=name.lower(), real_name=name, profile={"real_name": name, "display_name": name}
            )
            self.workspace.names[user_id] = name

    def join(self, channel: str, *users: str) -> None:
        """`users` become members of `channel` (conversations.members lists them)."""
        members = self.members.setdefault(channel, [BOT_USER_ID])
        members += [u for u in users if u not in members]

    def dm_channel(self, user: str) -> str:
        """The bot's DM channel with `user` (what conversations.open answers)."""
        return self.workspace.open_dm(user)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Bodies of chat.postMessage calls that succeeded, optionally by metadata event type."""
        out = []
        for call in self.calls:
            if call.method != "chat.postMessage" or not call.body.get("_ok"):
                continue
            meta = call.body.get("metadata") or {}
            if event_type is None or meta.get("event_type") == event_type:
                out.append(call.body)
        return out

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        """Wait until predicate() is true (checked after every call), or fail."""
        assert self._changed is not None
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise TimeoutError(
                "condition not met; calls: " + ", ".join(c.method for c in self.calls)
            ) from None

    # --- the Web API -------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def next_ts(self) -> str:
        """A fresh message ts, unique in this stand-in (for messages people post)."""
        return self._next_ts()

    def trigger(self, user: str) -> str:
        """A trigger_id for an interaction by `user` (views.open finds the user by it)."""
        trigger_id = f"trig.{next(self._ts)}"
        self.workspace.triggers[trigger_id] = user
        return trigger_id

    async def _record(self, method: str, body: dict[str, Any], request: web.Request) -> Call:
        call = Call(method, body, dict(request.headers), time.monotonic())
        self.calls.append(call)
        return call

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            body: dict[str, Any] = json.loads(raw)
        else:
            body = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
            body.update(dict(request.query))
        call = await self._record(method, body, request)
        stall = self._take_stall(method, body)
        queue = self._failures.get(method)
        delay = queue[0].delay if queue else 0.0
        try:
            if stall is not None and not stall.accepted:
                await self._notify()
                await self._hang(stall.seconds)
                return web.json_response({"ok": False, "error": "timeout"}, status=504)
            response = self._answer(method, body, call, request)  # decided on arrival
            if stall is not None:
                await self._notify()
                await self._hang(stall.seconds)
            elif delay:
                await asyncio.sleep(delay)
            return response
        finally:
            await self._notify()

    async def _hang(self, seconds: float) -> None:
        """Wait `seconds`, or until `recover()` (or `close()`) ends every stall."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._unstalled.wait(), seconds)

    def _take_stall(self, method: str, body: dict[str, Any]) -> Stall | None:
        for stall in self._stalls.get(method, []):
            if stall.channel is None or stall.channel == body.get("channel"):
                stall.times -= 1
                if stall.times <= 0:
                    self._stalls[method].remove(stall)
                return stall
        return None

    def _answer(
        self, method: str, body: dict[str, Any], call: Call, request: web.Request
    ) -> web.Response:
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            if failure.page is not None:
                return web.Response(
                    text=f"<html><body><h1>{failure.status} {failure.error}</h1></body></html>",
                    status=failure.status,
                    headers=headers,
                    content_type=failure.page,
                )
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        if method == "oauth.v2.access":
            return self._oauth_access(body, request)
        if not request.headers.get("Authorization", "").startswith(("Bearer xox", "Bearer xapp-")):
            return web.json_response({"ok": False, "error": "not_authed"})
        install = self.installs.get(request.headers["Authorization"].removeprefix("Bearer "))
        if method == "auth.test" and install is not None:
            return web.json_response(
                {
                    "ok": True,
                    "url": f"https://{install['team_id'].lower()}.slack.com/",
                    "team": f"Team {install['team_id']}",
                    "user": "deploy-drill",
                    "team_id": install["team_id"],
                    "user_id": install["user_id"],
                    "bot_id": install["bot_id"],
                }
            )
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://drill.example.slack.com/",
                    "team": "Drill Team",
                    "user": "deploy-drill",
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
            )
        if method == "apps.connections.open":  # Socket Mode: where to open the WebSocket
            return web.json_response(
                {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=t"}
            )
        if method == "chat.postMessage":
            if not body.get("channel"):
                return web.json_response({"ok": False, "error": "channel_not_found"})
            if not self.feedback_buttons and _has_block(body, "context_actions"):
                return web.json_response({"ok": False, "error": "invalid_blocks"})
            ts = self._next_ts()
            body["_ok"] = True
            body["_ts"] = ts
            message = {
                "type": "message",
                "text": body.get("text", ""),
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "ts": ts,
            }
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            self.workspace.bot_posted(body, ts=ts, user=BOT_USER_ID, bot_id=BOT_ID)
            return web.json_response(
                {"ok": True, "channel": body["channel"], "ts": ts, "message": message}
            )
        if method == "chat.postEphemeral":
            ts = self._next_ts()
            self.workspace.bot_ephemeral(body, ts=ts, user=BOT_USER_ID, bot_id=BOT_ID)
            return web.json_response({"ok": True, "message_ts": ts})
        if method == "chat.update":
            self.workspace.bot_updated(body)
            return web.json_response(
                {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
            )
        if method == "chat.delete":
            self.workspace.bot_deleted(body)
            return web.json_response(
                {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
            )
        if method == "views.publish":
            return web.json_response({"ok": True, "view": self.workspace.publish_home(body)})
        if method in ("views.open", "views.push"):
            view = self.workspace.open_view(body, push=method == "views.push")
            return web.json_response({"ok": True, "view": view})
        if method == "views.update":
            updated = self.workspace.update_view(body)
            if updated is None:
                return web.json_response({"ok": False, "error": "not_found"})
            return web.json_response({"ok": True, "view": updated})
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):08d}"
            self.workspace.new_file(file_id, body)
            return web.json_response(
                {
                    "ok": True,
                    "file_id": file_id,
                    "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
                }
            )
        if method == "files.completeUploadExternal":
            files = self.workspace.complete_upload(
                body, ts=self._next_ts(), user=BOT_USER_ID, bot_id=BOT_ID
            )
            if files is None:
                return web.json_response({"ok": False, "error": "file_not_found"})
            return web.json_response({"ok": True, "files": files})
        if method in ("conversations.replies", "conversations.history"):
            return self._conversation(method, body)
        if method == "users.info":
            wanted = str(body.get("user"))
            user = self.users.get(
                wanted, {"id": wanted, "tz": "UTC", "is_bot": wanted == BOT_USER_ID}
            )
            return web.json_response({"ok": True, "user": user})
        if method == "conversations.members":
            return self._members(body)
        if method == "conversations.open":
            users = [u for u in str(body.get("users") or "").split(",") if u]
            if len(users) != 1:  # a group DM: the bot opens none
                return web.json_response({"ok": False, "error": "users_list_not_supplied"})
            channel = self.workspace.open_dm(users[0])
            return web.json_response({"ok": True, "channel": {"id": channel}})
        return web.json_response({"ok": True})

    def _members(self, body: dict[str, Any]) -> web.Response:
        """conversations.members, a page at a time (a channel nobody joined has the bot)."""
        members = self.members.get(str(body.get("channel", "")), [BOT_USER_ID])
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        more = start + limit < len(members)
        return web.json_response(
            {
                "ok": True,
                "members": members[start : start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }
        )

    def _conversation(self, method: str, body: dict[str, Any]) -> web.Response:
        """conversations.replies (a thread: its root, then the replies) or .history (the
        channel's top-level messages, newest first), a page at a time. Message metadata is
        included only with `include_all_metadata`, as Slack does."""
        channel = str(body.get("channel", ""))
        visible = [
            m for m in self.workspace.messages if m.channel == channel and not m.ephemeral_to
        ]
        if method == "conversations.replies":
            ts = str(body.get("ts", ""))
            found = [m for m in visible if ts in (m.ts, m.thread_ts)]
            if not found:
                return web.json_response({"ok": False, "error": "thread_not_found"})
            found.sort(key=lambda m: float(m.ts))
        else:
            oldest = float(body.get("oldest") or 0)
            found = [m for m in visible if not m.is_reply and float(m.ts) > oldest]
            found.sort(key=lambda m: -float(m.ts))
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = found[start : start + limit]
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for message in page:
            shown = message.to_payload()
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        more = start + limit < len(found)
        return web.json_response(
            {
                "ok": True,
                "messages": messages,
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }
        )

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0DRILL"}}
        )
        await self._notify()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.socket_acks[data["envelope_id"]] = data
                    await self._notify()
        self.sockets.remove(ws)
        return ws

    async def push(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Send an envelope over Socket Mode (events_api, slash_commands, interactive); returns its id."""
        envelope_id = f"env-{next(self._ts)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self.sockets[-1].send_json(envelope)
        return envelope_id

    def command_payload(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0DRILL"
    ) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "channel_id": channel,
            "user_id": user,
            "command": "/deploy-question",
            "text": text,
            "response_url": self.response_url("socket"),
            "trigger_id": f"trig.{next(self._ts)}",
            "api_app_id": "A0DRILL",
        }

    def event_payload(
        self, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "api_app_id": "A0DRILL",
            "type": "event_callback",
            "event": event,
            "event_id": event_id or f"Ev{next(self._ts):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": BOT_USER_ID, "is_bot": True}],
        }

    def _oauth_access(self, body: dict[str, Any], request: web.Request) -> web.Response:
        """oauth.v2.access: the app's credentials (HTTP Basic) and a workspace's code."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"ok": False, "error": "invalid_client_id"})
        for token, install in self.installs.items():
            if body.get("code") == install["code"]:
                team = install["team_id"]
                return web.json_response(
                    {
                        "ok": True,
                        "app_id": "A0DRILL",
                        "authed_user": {"id": f"U0ADMIN{team[-4:]}"},
                        "scope": "chat:write,commands,channels:history,groups:history,users:read",
                        "token_type": "bot",
                        "access_token": token,
                        "bot_user_id": install["user_id"],
                        "team": {"id": team, "name": f"Team {team}"},
                        "enterprise": None,
                        "is_enterprise_install": False,
                    }
                )
        return web.json_response({"ok": False, "error": "invalid_code"})

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        self.workspace.upload(file_id, self.uploads[file_id])
        await self._record(
            "upload", {"file_id": file_id, "bytes": len(self.uploads[file_id])}, request
        )
        await self._notify()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record("respond", {**body, "_key": request.match_info["key"]}, request)
        self.workspace.responded(
            request.match_info["key"], body, ts=self._next_ts(), user=BOT_USER_ID, bot_id=BOT_ID
        )
        await self._notify()
        return web.Response(text="ok")

    # --- deliveries to the bot ---------------------------------------------------------

    def sign(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": str(signature)}

    async def post_to_bot(
        self,
        url: str,
        body: str,
        content_type: str,
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> tuple[int, str]:
        all_headers = {
            "Content-Type": content_type,
            **(self.sign(body) if signed else {}),
            **(headers or {}),
        }
        if retry_num is not None:
            all_headers["X-Slack-Retry-Num"] = str(retry_num)
            all_headers["X-Slack-Retry-Reason"] = retry_reason
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body.encode(), headers=all_headers) as response,
        ):
            return response.status, await response.text()

    async def send_event(
        self,
        url: str,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        team: str | None = None,
    ) -> tuple[int, str]:
        envelope = {
            "token": "legacy",
            "team_id": team or self.team_id,
            "api_app_id": "A0DRILL",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ts):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": team or self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        return await self.post_to_bot(
            url,
            json.dumps(envelope),
            "application/json",
            retry_num=retry_num,
            retry_reason=retry_reason,
        )

    async def deliver_event(
        self,
        url: str | Callable[[int], str],
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        team: str | None = None,
        retry_delays: tuple[float, ...] = SLACK_RETRY_DELAYS,
    ) -> list[int]:
        """Deliver an event as Slack does: after anything but a 2xx (or no answer at all),
        again with X-Slack-Retry-Num 1, 2, 3 after `retry_delays`, until one is acknowledged.
        `url` may be a function of the attempt (0-3), for replicas behind a load balancer.
        Returns the HTTP status of each delivery (0: the connection failed)."""
        event_id = event_id or f"Ev{next(self._ts):08d}"
        statuses: list[int] = []
        for retry, delay in enumerate((0.0, *retry_delays)):
            await asyncio.sleep(delay)
            reason = "http_error" if statuses and statuses[-1] else "connection_failed"
            try:
                status, _ = await self.send_event(
                    url(retry) if callable(url) else url,
                    event,
                    event_id=event_id,
                    retry_num=retry or None,
                    retry_reason=reason,
                    team=team,
                )
            except aiohttp.ClientError:
                status = 0
            statuses.append(status)
            if 200 <= status < 300:
                break
        return statuses

    async def send_command(
        self,
        url: str,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0DRILL",
        team: str | None = None,
        response_key: str = "cmd",
    ) -> tuple[int, str]:
        form = {
            "token": "legacy",
            "team_id": team or self.team_id,
            "team_domain": "drill",
            "channel_id": channel,
            "channel_name": "ml-drills",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/deploy-question",
            "text": text,
            "api_app_id": "A0DRILL",
            "response_url": self.response_url(response_key),
            "trigger_id": self.trigger(user),
            "is_enterprise_install": "false",
        }
        return await self.post_to_bot(
            url, urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
        )

    async def command_reply(self, url: str, text: str, **kwargs: Any) -> str:
        """Run a slash command and return the reply its user sees: the ack's text, or, when
        the ack is empty (the bot answers once it has asked Slack something), the text it
        sends to the command's response_url."""
        key = f"cmd-{next(self._ts)}"
        status, body = await self.send_command(url, text, response_key=key, **kwargs)
        if status != 200:
            raise AssertionError(f"/deploy-question {text}: HTTP {status}")
        if body:
            return str(json.loads(body)["text"]) if body.startswith("{") else body

        def answered() -> list[Call]:
            return [c for c in self.calls_to("respond") if c.body.get("_key") == key]

        await self.wait_for(answered)
        return str(answered()[0].body.get("text", ""))

    async def send_view_submission(
        self,
        url: str,
        callback_id: str,
        *,
        private_metadata: str,
        values: dict[str, Any],
        user: str = "U0ALICE",
        team: str | None = None,
    ) -> tuple[int, str]:
        """Submit a modal: `values` is view.state.values ({block_id: {action_id: {...}}})."""
        payload = {
            "type": "view_submission",
            "team": {"id": team or self.team_id, "domain": "drill"},
            "user": {"id": user, "team_id": team or self.team_id},
            "api_app_id": "A0DRILL",
            "trigger_id": self.trigger(user),
            "view": {
                "id": "V0MODAL",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
            },
        }
        return await self.send_interaction(url, payload)

    async def send_action(
        self,
        url: str,
        action_id: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0DRILL",
        team: str | None = None,
        value: str = "",
        response_key: str = "action",
        message_ts: str | None = None,
        kind: str = "button",
    ) -> tuple[int, str]:
        payload = {
            "type": "block_actions",
            "team": {"id": team or self.team_id, "domain": "drill"},
            "user": {"id": user, "team_id": team or self.team_id},
            "api_app_id": "A0DRILL",
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
            "channel": {"id": channel},
            "trigger_id": self.trigger(user),
            "response_url": self.response_url(response_key),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b1",
                    "type": kind,
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        if message_ts:
            payload["message"] = {"type": "message", "ts": message_ts}
        return await self.send_interaction(url, payload)

    async def send_interaction(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        """Any interactivity payload (block_actions, view_submission, view_closed), signed."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post_to_bot(url, body, "application/x-www-form-urlencoded")


def _has_block(body: dict[str, Any], kind: str) -> bool:
    """Whether a Web API call's blocks (a list, or JSON text in a form post) hold one of `kind`."""
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return False
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == kind for b in blocks
    )
