"""Building the Bolt AsyncApp and its Web API client from settings."""

from __future__ import annotations

import logging
import math
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.dashboard import Dashboards
from bot.schedule import Schedules
from bot.slack.admins import Admins
from bot.slack.authorization import TokenAuthorize, cached_installation_authorize
from bot.slack.background import AfterAck
from bot.slack.home_listeners import HomeListeners
from bot.slack.installs import Installs
from bot.slack.listeners import Listeners
from bot.slack.roster import Roster
from bot.slack.schedule_commands import ScheduleCommands
from bot.slack.team_commands import TeamCommands
from bot.teamlead import TeamLead
from bot.use_cases import UseCases

# Slack waits 3 s for an ack, and Bolt calls auth.test before the listener runs (on a
# process's first request, and a workspace's first in multi-workspace mode). The requests'
# client is given this long per call, so a hung Slack still leaves time to answer.
ACK_PATH_TIMEOUT_SECONDS = 2.0


def build_client(settings: Settings) -> AsyncWebClient:
    """The Web API client every request copies (base URL and retry handlers included).
    It holds no token: each call carries its workspace's (from the authorize step, or
    the outbox's token source).

    Its timeout holds only for calls made without a session; `web_api_session` gives the
    shared session the same bound."""
    return AsyncWebClient(
        base_url=settings.slack_api_url,
        timeout=math.ceil(settings.web_api_timeout),
        # Short faults are retried here; the outbox takes over for long ones.
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


def web_api_session(timeout: float) -> aiohttp.ClientSession:
    """A connection pool for Web API calls (without one slack-sdk opens a session, and an
    SSL context, per call: about a millisecond of CPU each). slack-sdk ignores its own
    `timeout` for a session it is given, so the session carries the bound: aiohttp's
    default is five minutes, far past any lease."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))


def build_app(
    settings: Settings,
    use: UseCases,
    schedules: Schedules,
    client: AsyncWebClient,
    installs: Installs | None = None,
    *,
    teamlead: TeamLead,
    dashboards: Dashboards,
) -> AsyncApp:
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    oauth: dict[str, Any] = {}
    if installs is not None and installs.oauth_settings is not None:
        # Bolt then authorizes each request from the installation of its workspace and
        # gives listeners a client with that workspace's token (base URL copied from ours).
        oauth = {
            "installation_store": installs.store,
            "oauth_settings": installs.oauth_settings,
            "authorize": cached_installation_authorize(installs.oauth_settings),
        }
    elif settings.slack_bot_token:
        oauth = {"authorize": TokenAuthorize(settings.slack_bot_token.get_secret_value())}
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        **oauth,
        # Listeners only store and queue (grading runs in the worker), so running them
        # before the response is fast, and an answer is durable before Slack hears 200.
        process_before_response=True,
        raise_error_for_unhandled_request=True,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    admins, roster, after_ack = Admins(settings.drill_admins), Roster(), AfterAck()
    team_commands = TeamCommands(
        use=use, teamlead=teamlead, admins=admins, roster=roster, after_ack=after_ack
    )
    schedule_commands = ScheduleCommands(schedules, teamlead, admins)
    Listeners(use, schedule_commands, team_commands, after_ack).register(app)
    HomeListeners(
        dashboards=dashboards,
        teamlead=teamlead,
        schedules=schedules,
        admins=admins,
        roster=roster,
        bank_size=len(use.bank.questions),
        after_ack=after_ack,
    ).register(app)
    if installs is not None:
        installs.register(app)
    return app
