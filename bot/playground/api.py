"""The playground page and its small JSON API, served by the bot's own aiohttp app.

`GET /` is the page; `GET /playground/api/state?user=…&since=N` long-polls for
what that person sees (messages, threads, ephemerals, App Home, the open modal)
once anything changed after version N; the POST endpoints are what people do.
POSTs must be JSON (a cross-site form cannot send that without a preflight), and
when the page listens on loopback only loopback host names are served (a page on
another site cannot reach it through DNS rebinding).
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

from aiohttp import web

from bot.playground.blockkit import BlockKitHtml, view_chrome
from bot.playground.localclient import LocalClient, NotAllowed
from bot.playground.slack_screen import Message

STATIC = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
POLL_SECONDS = 20.0
LOCAL_CLIENT: web.AppKey[LocalClient] = web.AppKey("playground_client", LocalClient)
ALLOWED_HOSTS: web.AppKey[frozenset[str]] = web.AppKey("playground_hosts", frozenset)
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _static(name: str) -> bytes:
    return (resources.files("bot.playground") / "static" / name).read_bytes()


def add_routes(
    app: web.Application, client: LocalClient, *, hosts: frozenset[str] = frozenset()
) -> None:
    """Mount the playground on the bot's app (before it starts); `hosts` limits Host names."""
    app[LOCAL_CLIENT] = client
    app[ALLOWED_HOSTS] = hosts
    app.router.add_get("/", _index)
    app.router.add_get("/playground/static/{name}", _asset)
    app.router.add_get("/playground/files/{file_id}", _file)
    app.router.add_get("/playground/api/state", _state)
    app.router.add_post("/playground/api/command", _command)
    app.router.add_post("/playground/api/message", _message)
    app.router.add_post("/playground/api/action", _action)
    app.router.add_post("/playground/api/submit", _submit)
    app.router.add_post("/playground/api/close", _close)
    app.router.add_post("/playground/api/home", _home)

    async def wake_pollers(_: web.Application) -> None:
        client.workspace.close()

    app.on_shutdown.append(wake_pollers)


def _client(request: web.Request) -> LocalClient:
    """The playground's client, once the request's Host is one we serve."""
    hosts = request.app[ALLOWED_HOSTS]
    name = (request.url.host or "").strip("[]").lower()
    if hosts and name not in hosts:
        raise web.HTTPForbidden(text="the playground answers on its own address only")
    return request.app[LOCAL_CLIENT]


# --- page and files -------------------------------------------------------------------


async def _index(request: web.Request) -> web.Response:
    _client(request)
    return web.Response(
        body=_static("index.html"),
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def _asset(request: web.Request) -> web.Response:
    _client(request)
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(
        body=_static(name),
        content_type=STATIC[name],
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def _file(request: web.Request) -> web.Response:
    client = _client(request)
    stored = client.workspace.files.get(request.match_info["file_id"])
    if stored is None or not stored.uploaded:
        raise web.HTTPNotFound()
    return web.Response(
        body=stored.data,
        content_type=stored.mimetype,
        headers={"Content-Disposition": f'inline; filename="{stored.id}"'},
    )


# --- what a person sees -----------------------------------------------------------------


def _message_json(client: LocalClient, renderer: BlockKitHtml, m: Message) -> dict[str, Any]:
    ws = client.workspace
    return {
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "reply": m.is_reply,
        "author": ws.name(m.user),
        "user": m.user,
        "bot": bool(m.bot_id) or m.user == "USLACKBOT",
        "ephemeral": m.ephemeral_to is not None,
        "command": m.command,
        "edited": m.edited,
        "time": time.strftime("%H:%M", time.localtime(m.at)),
        "event_type": (m.metadata or {}).get("event_type"),
        "replies": 0 if m.is_reply else ws.reply_count(m.ts),
        "html": renderer.message(m.text, m.blocks, m.files),
    }


def snapshot(client: LocalClient, user: str) -> dict[str, Any]:
    """Everything `user` sees, rendered, as JSON."""
    ws = client.workspace
    renderer = BlockKitHtml({**ws.channels, **ws.names})  # <#C…> and <@U…> by name
    home = ws.home.get(user)
    modal = ws.modal(user)
    return {
        "version": ws.version,
        "team": ws.team_name,
        "channel": {"id": client.channel, "name": ws.channels.get(client.channel, "")},
        "me": user,
        "people": [{"id": p.id, "name": p.name, "admin": p.admin} for p in client.people.values()],
        "messages": [
            _message_json(client, renderer, m) for m in ws.visible_to(user, client.channel)
        ],
        # The person's DM with the bot (spaced review's drills, answered in their threads).
        "dm": {
            "id": client.dm(user),
            "messages": [
                _message_json(client, renderer, m) for m in ws.visible_to(user, client.dm(user))
            ],
        },
        "home": (
            {"id": home.get("id"), "html": renderer.blocks(list(home.get("blocks") or []))}
            if home
            else None
        ),
        "modal": (
            {
                "id": modal.get("id"),
                "hash": modal.get("hash"),
                "html": renderer.blocks(list(modal.get("blocks") or [])),
                "errors": ws.modal_errors.get(str(modal.get("id")), {}),
                **view_chrome(modal, renderer),
            }
            if modal
            else None
        ),
    }


async def _state(request: web.Request) -> web.Response:
    client = _client(request)
    user = request.query.get("user", "")
    if user not in client.people:
        user = next(iter(client.people))
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        since = 0
    await client.workspace.wait_change(since, POLL_SECONDS)
    return web.json_response(snapshot(client, user), headers={"Cache-Control": "no-store"})


# --- what a person does --------------------------------------------------------------------


async def _body(request: web.Request) -> tuple[LocalClient, str, dict[str, Any]]:
    client = _client(request)
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send JSON")
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="malformed JSON") from None
    if not isinstance(body, dict) or body.get("user") not in client.people:
        raise web.HTTPBadRequest(text="unknown user")
    return client, str(body["user"]), body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise web.HTTPBadRequest(text=f"{name} is required")
    return value


def _ok() -> web.Response:
    return web.json_response({"ok": True})


async def _command(request: web.Request) -> web.Response:
    client, user, body = await _body(request)
    await client.run_command(user, _text(body, "text"))
    return _ok()


async def _message(request: web.Request) -> web.Response:
    """A message in the channel, or with `dm: true` in the person's DM with the bot; with
    `thread_ts`, a reply in that thread (wherever it is)."""
    client, user, body = await _body(request)
    thread_ts = body.get("thread_ts")
    channel = client.dm(user) if body.get("dm") is True else client.channel
    if thread_ts is not None:
        root = client.workspace.message(str(thread_ts))
        if root is None:
            raise web.HTTPBadRequest(text="no such thread")
        channel = root.channel
    try:
        await client.say(
            user,
            _text(body, "text"),
            thread_ts=str(thread_ts) if thread_ts else None,
            channel=channel,
        )
    except NotAllowed as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return _ok()


async def _action(request: web.Request) -> web.Response:
    client, user, body = await _body(request)
    action = body.get("action")
    if not isinstance(action, dict) or not action.get("action_id"):
        raise web.HTTPBadRequest(text="action is required")
    values = body.get("values") if isinstance(body.get("values"), dict) else None
    try:
        await client.act(
            user,
            action,
            ts=str(body["ts"]) if body.get("ts") else None,
            view_id=str(body["view_id"]) if body.get("view_id") else None,
            values=values,
        )
    except NotAllowed as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return _ok()


async def _submit(request: web.Request) -> web.Response:
    client, user, body = await _body(request)
    values = body.get("values")
    if not isinstance(values, dict):
        raise web.HTTPBadRequest(text="values is required")
    try:
        errors = await client.submit(user, _text(body, "view_id"), values)
    except NotAllowed as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response({"ok": not errors, "errors": errors})


async def _close(request: web.Request) -> web.Response:
    client, user, body = await _body(request)
    await client.close(user, _text(body, "view_id"))
    return _ok()


async def _home(request: web.Request) -> web.Response:
    client, user, _ = await _body(request)
    await client.open_home(user)
    return _ok()
