"""Multi-workspace mode: the real OAuth install against the stand-in, then drills side by side."""

from __future__ import annotations

import base64
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.cli import _secrets
from bot.config import Settings
from bot.logs import setup_logging
from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from bot.storage import installation_rows as ws
from bot.storage.db import unit_of_work
from bot.storage.tables import Attempt, OutboxMessage, Prompt, Schedule, UserProfile, utcnow
from bot.uninstalls import Uninstalls
from tests.conftest import ROOT, SIGNING_SECRET, RunningBot
from tests.slack import payloads as p

ENCRYPTION_KEY = Fernet.generate_key().decode()
STATE_SECRET = "test-state-secret"
ALPHA, BRAVO = "T0ALPHA", "T0BRAVO"


def oauth_settings(database_url: str, slack: SlackStandIn, **extra: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_client_id=slack.client_id,
        slack_client_secret=slack.client_secret,
        slack_state_secret=STATE_SECRET,
        token_encryption_key=ENCRYPTION_KEY,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        rubrics_dir=ROOT / "rubrics",
        outbox_poll_seconds=0.2,
        **extra,
    )


async def _serve(settings: Settings, bank: QuestionBank) -> AsyncIterator[RunningBot]:
    runtime = Runtime(settings, bank=bank)
    await runtime.start()
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    yield RunningBot(runtime, f"http://127.0.0.1:{port}/slack/events")
    await runtime.stop()


@pytest.fixture
async def multi(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> AsyncIterator[RunningBot]:
    """The real app in multi-workspace mode; uninstalled workspaces' data goes at once."""
    async for running in _serve(oauth_settings(database_url, slack), bank):
        yield running


@pytest.fixture
async def multi_kept(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> AsyncIterator[RunningBot]:
    """Multi-workspace mode with ANSWER_RETENTION_DAYS=30."""
    async for running in _serve(
        oauth_settings(database_url, slack, answer_retention_days=30), bank
    ):
        yield running


async def install(bot: RunningBot, slack: SlackStandIn, team: str) -> str:
    """Add to Slack as a browser does: the install page, Slack's redirect back; returns the token."""
    token = slack.add_workspace(team)
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.base + "/slack/install") as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"]
        match = re.search(r"[?&]state=([^&\"']+)", html)
        assert match is not None, html
        state = match.group(1)
        assert f"slack-app-oauth-state={state}" in cookie
        async with http.get(
            bot.base + "/slack/oauth_redirect",
            params={"code": f"code-{team}", "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        ) as done:
            assert done.status == 200, await done.text()
    return token


async def drill(bot: RunningBot, slack: SlackStandIn, team: str, user: str) -> str:
    """A command and a threaded answer in `team`; returns the prompt's ts once feedback is out."""
    channel = f"C0{team}"
    root = await p.ask(slack, bot, "deploy-ml-models", team=team, channel=channel)
    status, _ = await slack.send_event(
        bot.url, p.reply(root, p.STRONG_ANSWER, user=user, channel=channel), team=team
    )
    assert status == 200
    await slack.wait_for(
        lambda: any(
            m["channel"] == channel and m.get("thread_ts") == root
            for m in slack.posts("drill_feedback")
        )
    )
    return root


def tokens_used(slack: SlackStandIn, method: str, channel: str) -> set[str]:
    return {
        c.headers.get("Authorization", "")
        for c in slack.calls_to(method)
        if c.body.get("channel") == channel
    }


async def _count(bot: RunningBot, table: type, team: str) -> int:
    async with unit_of_work(bot.runtime.sessions) as session:
        result = await session.execute(
            sa.select(sa.func.count()).select_from(table).where(table.team == team)  # type: ignore[attr-defined]
        )
        return int(result.scalar_one())


async def test_install_flow_stores_the_workspace_token_encrypted(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """Add to Slack: oauth.v2.access with the app's credentials; the bot token is stored sealed."""
    token = await install(multi, slack, ALPHA)
    [exchange] = slack.calls_to("oauth.v2.access")
    assert exchange.body["code"] == f"code-{ALPHA}"
    assert exchange.headers["Authorization"].startswith("Basic ")
    async with unit_of_work(multi.runtime.sessions) as session:
        stored = [
            row
            for table in (ws.bots_table, ws.installations_table)
            for row in (
                await session.execute(sa.select(table.c.bot_token).where(table.c.team_id == ALPHA))
            ).scalars()
        ]
    assert len(stored) == 2
    for value in stored:
        assert "xoxb" not in value
        assert Fernet(ENCRYPTION_KEY.encode()).decrypt(value.encode()).decode() == token
    assert await multi.runtime.installs.token_for(ALPHA) == token


async def test_a_callback_with_a_state_this_app_did_not_issue_is_refused(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """A forged state (even with a matching cookie) never reaches oauth.v2.access."""
    slack.add_workspace(ALPHA)
    forged = "0f4c2d6e-1111-2222-3333-444455556666.c2lnbmF0dXJl"
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            multi.base + "/slack/oauth_redirect",
            params={"code": f"code-{ALPHA}", "state": forged},
            headers={"Cookie": f"slack-app-oauth-state={forged}"},
        ) as response,
    ):
        assert response.status == 401
    assert slack.calls_to("oauth.v2.access") == []
    assert await multi.runtime.installs.token_for(ALPHA) is None


async def _oauth_states(bot: RunningBot) -> int:
    async with unit_of_work(bot.runtime.sessions) as session:
        result = await session.execute(
            sa.select(sa.func.count()).select_from(ws.oauth_states_table)
        )
        return int(result.scalar_one())


async def test_install_page_views_leave_no_expired_state_behind(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """Every GET /slack/install (no login needed) stores a state; expired ones are deleted, so
    page views cannot grow the table beyond the states of the last ten minutes."""
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.get(multi.base + "/slack/install") as page:
                assert page.status == 200
        assert await _oauth_states(multi) == 3
        async with unit_of_work(multi.runtime.sessions) as session:  # ten minutes pass
            expired = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
            await session.execute(sa.update(ws.oauth_states_table).values(expire_at=expired))
        async with http.get(multi.base + "/slack/install") as page:
            assert page.status == 200
    assert await _oauth_states(multi) == 1
    await install(multi, slack, ALPHA)  # and a state issued now still completes an install
    assert await multi.runtime.installs.token_for(ALPHA) is not None


async def test_two_workspaces_drill_side_by_side_each_with_its_own_token(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """Commands, answers and feedback in two workspaces: every call carries that workspace's token."""
    alpha = await install(multi, slack, ALPHA)
    bravo = await install(multi, slack, BRAVO)
    await drill(multi, slack, ALPHA, "U0ANNA")
    await drill(multi, slack, BRAVO, "U0BORIS")
    await drill(multi, slack, ALPHA, "U0AXEL")

    assert tokens_used(slack, "chat.postMessage", f"C0{ALPHA}") == {f"Bearer {alpha}"}
    assert tokens_used(slack, "chat.postMessage", f"C0{BRAVO}") == {f"Bearer {bravo}"}
    assert len([m for m in slack.posts("drill_feedback") if m["channel"] == f"C0{ALPHA}"]) == 2
    assert len([m for m in slack.posts("drill_feedback") if m["channel"] == f"C0{BRAVO}"]) == 1
    # Bolt authorized each request with the installation of the request's own workspace.
    asked = Counter(c.headers["Authorization"] for c in slack.calls_to("auth.test"))
    assert set(asked) == {f"Bearer {alpha}", f"Bearer {bravo}"}
    # Once per token (and once more by the install itself), not on each of alpha's 4 requests.
    assert max(asked.values()) <= 2, asked
    assert await _count(multi, Attempt, ALPHA) == 2
    assert await _count(multi, Attempt, BRAVO) == 1


async def test_a_workspace_that_never_installed_the_app_gets_nothing(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """A command from a workspace without an installation is answered with no post and no row."""
    await install(multi, slack, ALPHA)
    status, _ = await slack.send_command(multi.url, "deploy-ml-models", team="T0STRANGER")
    assert status == 200
    assert slack.posts("drill_prompt") == []
    assert await _count(multi, Prompt, "T0STRANGER") == 0


async def test_uninstall_deletes_the_installation_and_then_the_workspace_data(
    multi: RunningBot, slack: SlackStandIn
) -> None:
    """app_uninstalled: the token is gone at once; with no retention period the data goes too,
    and the other workspace keeps everything and keeps working."""
    await install(multi, slack, ALPHA)
    bravo = await install(multi, slack, BRAVO)
    await drill(multi, slack, ALPHA, "U0ANNA")
    await drill(multi, slack, BRAVO, "U0BORIS")

    status, _ = await slack.send_event(multi.url, {"type": "app_uninstalled"}, team=ALPHA)
    assert status == 200
    assert await multi.runtime.uninstalls.installation_rows(ALPHA) == 0
    assert await multi.runtime.installs.token_for(ALPHA) is None
    for _ in range(100):
        if await _count(multi, Attempt, ALPHA) == 0 and await _count(multi, Prompt, ALPHA) == 0:
            break
        await p.asyncio.sleep(0.05)
    for table in (Attempt, Prompt, OutboxMessage, UserProfile, Schedule):
        assert await _count(multi, table, ALPHA) == 0, table
    assert await _count(multi, Attempt, BRAVO) == 1
    assert await multi.runtime.uninstalls.installation_rows(BRAVO) == 2

    posts_before = len(slack.posts())
    status, _ = await slack.send_command(multi.url, "deploy-ml-models", team=ALPHA)
    assert status == 200
    await drill(multi, slack, BRAVO, "U0BELLA")
    assert len(slack.posts()) == posts_before + 2  # bravo's prompt and feedback, nothing for alpha
    assert tokens_used(slack, "chat.postMessage", f"C0{BRAVO}") == {f"Bearer {bravo}"}


async def test_revoked_bot_token_keeps_data_for_the_retention_period_and_reinstall_cancels(
    multi_kept: RunningBot, slack: SlackStandIn
) -> None:
    """tokens_revoked (bot): installation deleted, data kept ANSWER_RETENTION_DAYS, purged after;
    installing again before then cancels the deletion."""
    await install(multi_kept, slack, ALPHA)
    await drill(multi_kept, slack, ALPHA, "U0ANNA")
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOTLPHA"]}}
    status, _ = await slack.send_event(multi_kept.url, revoked, team=ALPHA)
    assert status == 200
    assert await multi_kept.runtime.uninstalls.installation_rows(ALPHA) == 0
    async with unit_of_work(multi_kept.runtime.sessions) as session:
        removal = await ws.get_removal(session, team=ALPHA)
    assert removal is not None
    assert timedelta(days=29) < removal.purge_after - utcnow() <= timedelta(days=30)
    assert await _count(multi_kept, Attempt, ALPHA) == 1

    later = Uninstalls(
        sessions=multi_kept.runtime.sessions,
        retention_days=30,
        clock=lambda: utcnow() + timedelta(days=30, minutes=1),
    )
    await install(multi_kept, slack, ALPHA)  # back before the deletion is due
    assert await later.purge_due() == {}
    assert await _count(multi_kept, Attempt, ALPHA) == 1

    await slack.send_event(multi_kept.url, {"type": "app_uninstalled"}, team=ALPHA)
    purged = await later.purge_due()
    assert purged[ALPHA]["attempt"] == 1 and purged[ALPHA]["prompt"] == 1
    assert await _count(multi_kept, Attempt, ALPHA) == 0


async def test_the_install_and_a_drill_log_no_secret(
    multi: RunningBot, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """At DEBUG, an install and a drill log neither the app's secrets nor the workspace's token."""
    settings = multi.runtime.settings
    setup_logging("DEBUG", "json", _secrets(settings))
    try:
        token = await install(multi, slack, ALPHA)
        await drill(multi, slack, ALPHA, "U0ANNA")
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "oauth.v2.access" in err  # DEBUG really logged the exchange
    basic = base64.b64encode(f"{slack.client_id}:{slack.client_secret}".encode()).decode()
    for secret in (token, slack.client_secret, basic, STATE_SECRET, ENCRYPTION_KEY, SIGNING_SECRET):
        assert secret not in err


async def test_single_workspace_mode_forgets_on_uninstall_but_not_on_a_revoked_token(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """SLACK_BOT_TOKEN mode: a revoked (rotated) token deletes nothing; an uninstall deletes all."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    team = slack.team_id
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0DRILLBOT"]}}
    assert (await slack.send_event(bot.url, revoked))[0] == 200
    await p.asyncio.sleep(0.3)
    assert await _count(bot, Attempt, team) == 1

    assert (await slack.send_event(bot.url, {"type": "app_uninstalled"}))[0] == 200
    for _ in range(100):
        if await _count(bot, Attempt, team) == 0:
            break
        await p.asyncio.sleep(0.05)
    assert await _count(bot, Attempt, team) == 0
    assert await _count(bot, Prompt, team) == 0
