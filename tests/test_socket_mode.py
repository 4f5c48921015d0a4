"""Socket Mode: with SLACK_APP_TOKEN, `serve` takes Slack traffic over a WebSocket (no signing secret)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.playground.standin import SlackStandIn
from tests.conftest import BOT_TOKEN, ROOT
from tests.serving import clean_env, free_port, start_serve
from tests.slack import payloads as p


async def test_socket_mode_drill(tmp_path: Path, slack: SlackStandIn) -> None:
    """A command and a threaded answer over Socket Mode get a prompt and feedback."""
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xapp-1-test-app-token",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path}/drill.db",
        HOST="127.0.0.1",
        PORT=str(free_port()),
        RUBRICS_DIR=str(ROOT / "rubrics"),
        OUTBOX_POLL_SECONDS="0.2",
    )
    proc = await start_serve(env, tmp_path)
    try:
        await slack.wait_for(lambda: slack.sockets, within=20)
        command = await slack.push("slash_commands", slack.command_payload("deploy-ml-models"))
        await slack.wait_for(lambda: command in slack.socket_acks)
        assert "Posting" in str(slack.socket_acks[command].get("payload"))
        await slack.wait_for(lambda: slack.posts("drill_prompt"))
        root = str(slack.posts("drill_prompt")[0]["_ts"])
        await asyncio.sleep(0.5)  # the bot records its prompt's ts
        event = await slack.push("events_api", slack.event_payload(p.reply(root, p.STRONG_ANSWER)))
        await slack.wait_for(lambda: event in slack.socket_acks)
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=15)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)
    assert slack.posts("drill_feedback")[0]["thread_ts"] == root
