"""The baseline for bench.burst: a bare Bolt AsyncApp that acks message events and replies.

    SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… HOST=127.0.0.1 PORT=3100 \
        .venv/bin/python -m bench.baseline_app

What a minimal Bolt app does with no storage, no grading and no outbox: Bolt's own
aiohttp server (`AsyncApp.server()`), the same signature check, an automatic ack for
events, and one `chat.postMessage` per message (after the ack, Bolt's default), with a
fixed reply in the thread. The reply carries metadata `baseline_reply {user}` so the
benchmark counts replies per user exactly as it counts the bot's feedback. The Web API
client is slack-sdk's default (it retries connection errors only; no 429 handling).
/healthz answers 200 once the server listens.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

REPLY = "Thanks for your answer! (baseline)"


def build() -> AsyncApp:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=15
    )
    app = AsyncApp(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        logger=logging.getLogger("baseline"),
    )

    @app.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return
        await client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=REPLY,
            metadata={"event_type": "baseline_reply", "event_payload": {"user": event["user"]}},
        )

    return app


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    app = build()
    port = int(os.environ.get("PORT", "3000"))
    server = app.server(port=port, host=os.environ.get("HOST", "127.0.0.1"))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    server.web_app.router.add_get("/healthz", healthz)
    web.run_app(server.web_app, host=server.host, port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
