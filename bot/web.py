"""The aiohttp application: /slack/events, /healthz, /metrics."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.in_flight import RequestsInFlight
from bot.metrics import Metrics
from bot.slack.requests import MalformedRequest, signed_by_slack, to_bolt_request

log = logging.getLogger(__name__)

# None while starting (503); otherwise the details /healthz shows with its 200.
HealthCheck = Callable[[], Awaitable[dict[str, str] | None]]


def build_web(
    *,
    bolt: AsyncApp | None,
    health: HealthCheck,
    metrics: Metrics,
    max_body_bytes: int,
    in_flight: RequestsInFlight | None = None,
    signing_secret: str | None = None,
) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes)

    async def slack_events(request: web.Request) -> web.Response:
        assert bolt is not None
        with in_flight.request() if in_flight else contextlib.nullcontext():
            raw = await request.read()
            try:
                bolt_request = to_bolt_request(raw, request.query_string, request.headers)
            except MalformedRequest as exc:
                return malformed(raw, request, str(exc))
            bolt_response = await bolt.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

    def malformed(raw: bytes, request: web.Request, reason: str) -> web.Response:
        """400 for Slack's (signed) request that cannot be handled; 401, as Bolt answers,
        when it is not Slack's either."""
        if not signed_by_slack(signing_secret, raw, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        log.warning("refused a malformed Slack request (400): %s", reason)
        return web.json_response({"error": "malformed request"}, status=400)

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
