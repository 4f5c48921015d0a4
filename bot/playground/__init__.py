"""The playground: the real bot, wired to the local Slack stand-in, with a page that looks like Slack.

`serve_playground()` starts the built-in stand-in (bot/playground/standin.py - the very
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
from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from bot.runtime import Runtime

TEAM = "T0PLAYGRND"
CHANNEL = "C0PLAYGRND"
CHANNEL_NAME = "ml-drills"
PEOPLE = (("U0ALICE", "Alice", True), ("U0BOB", "Bob", False), ("U0CAROL", "Carol", False))
# Not the bot's usual database: playground rows (a fake workspace, its schedules)
# must not end up in a real deployment's database.
DEFAULT_DATABASE = "sqlite:///./deploy_drill_playground.db"
DEFAULT_HOST = "127.0.0.1"  # the page has no login: it stays on this machine


def playground_settings(
    settings: Settings,
    *,
    api_url: str,
    host: str | None = None,
    database_url: str | None = None,
) -> Settings:
    """The settings with Slack replaced by the stand-in. HOST and DATABASE_URL from the
    environment or `.env` are a deployment's: only `host` and `database_url` (the command's
    flags) move the playground off loopback and its own file."""
    update: dict[str, object] = {
        "slack_bot_token": SecretStr("xoxb-playground-" + secrets.token_hex(12)),
        "slack_signing_secret": SecretStr(secrets.token_hex(16)),
        "slack_app_token": None,
        "slack_api_url": api_url,
        "host": host or DEFAULT_HOST,
        "database_url": database_url or DEFAULT_DATABASE,
    }
    # Multi-workspace (OAuth) settings would route around the stand-in's token.
    for name in ("slack_client_id", "slack_client_secret", "slack_state_secret"):
        if name in Settings.model_fields:
            update[name] = None
    return settings.model_copy(update=update)


def ignored_settings(
    settings: Settings, *, host: str | None = None, database_url: str | None = None
) -> list[str]:
    """One line for each HOST or DATABASE_URL setting the playground leaves aside."""
    lines = []
    if not host and "host" in settings.model_fields_set and settings.host not in LOOPBACK_NAMES:
        lines.append(
            f"HOST={settings.host} from the environment or .env is ignored: the playground "
            f"listens on {DEFAULT_HOST} (its page has no login). Pass --host to change that."
        )
    if (
        not database_url
        and "database_url" in settings.model_fields_set
        and settings.database_url != DEFAULT_DATABASE
    ):
        lines.append(
            "DATABASE_URL from the environment or .env is ignored: the playground keeps its "
            f"fake workspace in {DEFAULT_DATABASE.removeprefix('sqlite:///')}, away from the "
            "bot's data. Pass --database-url to use another database."
        )
    return lines


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


async def start_playground(
    settings: Settings,
    *,
    port: int | None = None,
    host: str | None = None,
    database_url: str | None = None,
) -> Playground:
    """Start the stand-in and the bot on it; `port` 0 picks a free one (default PORT)."""
    standin = await SlackStandIn(team_id=TEAM).start()
    try:
        local = playground_settings(
            settings, api_url=standin.api_url, host=host, database_url=database_url
        )
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
    host: str | None = None,
    database_url: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the playground until SIGINT/SIGTERM."""
    playground = await start_playground(
        settings, port=port, host=host, database_url=database_url
    )
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
