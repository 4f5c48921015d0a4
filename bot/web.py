"""The aiohttp application: /slack/events, /healthz, /metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.foreground import Foreground
from bot.metrics import Metrics

# None while starting (503); otherwise the details /healthz shows with its 200.
HealthCheck = Callable[[], Awaitable[dict[str, str] | None]]


async def to_bolt_request(request: web.Request) -> AsyncBoltRequest:
    """Like Bolt's adapter, but keeps slash commands whose text contains "payload".

    Bolt's form parser takes any body containing the substring "payload" for an
    interactivity payload and parses it to {} (see slack-reference.md §1.6).
    """
    raw = await request.text()
    bolt_request = AsyncBoltRequest(
        body=raw, query=request.query_string, headers=dict(request.headers)
    )
    if not bolt_request.body and "command=" in raw and not raw.startswith("payload="):
        bolt_request.body = dict(parse_qsl(raw, keep_blank_values=True))
        bolt_request.context = build_async_context(AsyncBoltContext({}), bolt_request.body)
    return bolt_request


def build_web(
    *,
    bolt: AsyncApp | None,
    health: HealthCheck,
    metrics: Metrics,
    max_body_bytes: int,
    foreground: Foreground | None = None,
) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes)

    async def slack_events(request: web.Request) -> web.Response:
        assert bolt is not None
        with foreground.request() if foreground else contextlib.nullcontext():
            bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.Response:
        details = await health()
        if details is not None:
            return web.json_response({"status": "ok", **details})
        return web.json_response({"status": "starting"}, status=503)

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    if bolt is not None:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app
