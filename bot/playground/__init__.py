"""The playground: the real bot, wired to the local Slack stand-in, with a page that looks like Slack.

`serve_playground()` starts the built-in stand-in (bot/slack/standin.py - the very
one the test suite uses) on a free loopback port, then the same `Runtime` as
`serve` (Bolt app, database, grader, scheduler, outbox) with SLACK_API_URL pointing
at it, a fresh signing secret and a fake bot token. The page at `/` sends people's
messages, commands, clicks and modal submissions to the bot's /slack/events, signed
as Slack signs them, and shows what the bot posted.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from bot.config import Settings
from bot.errors import ConfigError
from bot.playground.api import LOOPBACK_NAMES, add_routes
from bot.runtime import Runtime
from bot.slack.localclient import LocalClient
from bot.slack.standin import SlackStandIn

TEAM = "T0PLAYGRND"
CHANNEL = "C0PLAYGRND"
CHANNEL_NAME = "ml-drills"
PEOPLE = (("U0ALICE", "Alice", True), ("U0BOB", "Bob", False), ("U0CAROL", "Carol", False))
# Not the bot's usual database: playground rows (a fake workspace, its schedules)
# must not end up in a real deployment's database.
DEFAULT_DATABASE = "sqlite:///./deploy_drill_playground.db"


def playground_settings(settings: Settings, *, api_url: str) -> Settings:
    """The settings with Slack replaced by the stand-in (and loopback unless HOST is set)."""
    chosen = settings.model_fields_set
    update: dict[str, object] = {
        "slack_bot_token": SecretStr("xoxb-playground-" + secrets.token_hex(12)),
        "slack_signing_secret": SecretStr(secrets.token_hex(16)),
        "slack_app_token": None,
        "slack_api_url": api_url,
    }
    # Multi-workspace (OAuth) settings would route around the stand-in's token.
    for name in ("slack_client_id", "slack_client_secret", "slack_state_secret"):
        if name in Settings.model_fields:
            update[name] = None
    if "database_url" not in chosen:
        update["database_url"] = DEFAULT_DATABASE
    if "host" not in chosen:
        update["host"] = "127.0.0.1"  # the page has no login: keep it on this machine
    return settings.model_copy(update=update)


@dataclass
class Playground:
    """A running playground: the stand-in, the people's client, and the bot's runtime."""

    standin: SlackStandIn
    client: LocalClient
    runtime: Runtime
    url: str  # the page

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.standin.close()


async def start_playground(settings: Settings, *, port: int | None = None) -> Playground:
    """Start the stand-in and the bot on it; `port` 0 picks a free one (default PORT)."""
    standin = await SlackStandIn(team_id=TEAM).start()
    try:
        local = playground_settings(settings, api_url=standin.api_url)
        secret = local.slack_signing_secret
        assert secret is not None
        standin.signing_secret = secret.get_secret_value()
        client = LocalClient(standin, channel=CHANNEL, channel_name=CHANNEL_NAME)
        for user_id, name, admin in PEOPLE:
            client.add_person(user_id, name, admin=admin)
        runtime = Runtime(local)
    except BaseException:
        await standin.close()
        raise
    loopback = local.host in LOOPBACK_NAMES
    add_routes(runtime.web, client, hosts=LOOPBACK_NAMES if loopback else frozenset())
    try:
        await runtime.start()
        wanted = local.port if port is None else port
        try:
            bound = await runtime.serve_http(port=wanted)
        except OSError as exc:
            raise ConfigError(
                f"PORT: cannot listen on {local.host}:{wanted} ({exc.strerror or exc}); "
                "set PORT to a free port"
            ) from None
    except BaseException:
        await runtime.stop()
        await standin.close()
        raise
    client.bot_url = f"http://127.0.0.1:{bound}/slack/events"
    shown = "127.0.0.1" if local.host in ("0.0.0.0", "::", "") else local.host
    return Playground(standin, client, runtime, f"http://{shown}:{bound}/")


async def serve_playground(
    settings: Settings,
    *,
    port: int | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the playground until SIGINT/SIGTERM."""
    playground = await start_playground(settings, port=port)
    try:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, playground.runtime.request_stop)
        database = playground.runtime.settings.database_url
        announce(
            f"Deploy Drill playground: open {playground.url} "
            f"(a local Slack stand-in, no Slack needed; database {database}). Ctrl-C stops it."
        )
        await playground.runtime.wait_stopped()
    finally:
        await playground.stop()
