"""Installations at rest: our tables match slack-sdk's stores, tokens are sealed, states signed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings, load_settings
from bot.errors import ConfigError, Undeliverable
from bot.playground.standin import SlackStandIn
from bot.slack.installs import (
    EncryptedInstallationStore,
    SignedStateStore,
    TokenCipher,
)
from bot.slack.poster import SlackPoster
from bot.storage import installation_rows as ws
from bot.storage.db import make_engine, upgrade_async

KEY = Fernet.generate_key().decode()
TOKEN = "xoxb-1111-2222-alpha-secret-token"


def _installation(team: str = "T0ALPHA", token: str = TOKEN) -> Installation:
    return Installation(
        app_id="A0DRILL",
        team_id=team,
        team_name="Alpha",
        bot_token=token,
        bot_id="B0ALPHA",
        bot_user_id="U0BOTALPHA",
        bot_scopes="chat:write,commands",
        user_id="U0ADMIN",
        incoming_webhook_url="https://hooks.slack.com/services/T0/B0/secret",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await upgrade_async(url)
    engine = make_engine(url)
    yield engine
    await engine.dispose()


def _store(engine: AsyncEngine, keys: str = KEY) -> EncryptedInstallationStore:
    return EncryptedInstallationStore(
        AsyncSQLAlchemyInstallationStore(client_id="1111.2222", engine=engine), TokenCipher(keys)
    )


def test_our_tables_are_the_ones_slack_sdk_stores_use() -> None:
    """Same names, columns, types, nullability and index as slack-sdk's table builders."""
    theirs = sa.MetaData()
    pairs = [
        (
            ws.installations_table,
            AsyncSQLAlchemyInstallationStore.build_installations_table(theirs, ws.INSTALLATIONS),
        ),
        (ws.bots_table, AsyncSQLAlchemyInstallationStore.build_bots_table(theirs, ws.BOTS)),
        (
            ws.oauth_states_table,
            AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, ws.OAUTH_STATES),
        ),
    ]
    for ours, reference in pairs:
        assert ours.name == reference.name
        assert [c.name for c in ours.c] == [c.name for c in reference.c]
        for mine, expected in zip(ours.c, reference.c, strict=True):
            assert type(mine.type) is type(expected.type), mine.name
            assert mine.nullable == expected.nullable, mine.name
            assert mine.primary_key == expected.primary_key, mine.name
            length = getattr(expected.type, "length", None)
            if length is not None:  # ours may be wider (ciphertext), never narrower
                assert mine.type.length >= length, mine.name  # type: ignore[attr-defined]
        assert {(i.name, tuple(c.name for c in i.columns)) for i in ours.indexes} == {
            (i.name, tuple(c.name for c in i.columns)) for i in reference.indexes
        }


async def test_tokens_are_sealed_at_rest_and_opened_on_find(engine: AsyncEngine) -> None:
    """The database holds ciphertext only; Bolt's finds get the plain token back."""
    store = _store(engine)
    await store.async_save(_installation())
    async with engine.connect() as conn:
        rows = [
            dict(row)
            for table in (ws.installations_table, ws.bots_table)
            for row in (await conn.execute(sa.select(table))).mappings()
        ]
    assert len(rows) == 2
    text = repr(rows)
    assert "xoxb" not in text and "hooks.slack.com" not in text
    bot = await store.async_find_bot(enterprise_id=None, team_id="T0ALPHA")
    installation = await store.async_find_installation(enterprise_id=None, team_id="T0ALPHA")
    assert bot is not None and bot.bot_token == TOKEN
    assert installation is not None and installation.bot_token == TOKEN
    assert installation.incoming_webhook_url == "https://hooks.slack.com/services/T0/B0/secret"
    assert await store.async_find_bot(enterprise_id=None, team_id="T0OTHER") is None


async def test_a_new_key_first_still_opens_tokens_sealed_with_the_old_one(
    engine: AsyncEngine,
) -> None:
    """TOKEN_ENCRYPTION_KEY=new,old rotates keys without losing installations."""
    await _store(engine).async_save(_installation())
    rotated = _store(engine, f"{Fernet.generate_key().decode()},{KEY}")
    bot = await rotated.async_find_bot(enterprise_id=None, team_id="T0ALPHA")
    assert bot is not None and bot.bot_token == TOKEN


async def test_a_wrong_key_finds_nothing_and_says_why(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Tokens sealed with another key are never handed out; the log names the setting."""
    await _store(engine).async_save(_installation())
    wrong = _store(engine, Fernet.generate_key().decode())
    with caplog.at_level(logging.ERROR):
        assert await wrong.async_find_bot(enterprise_id=None, team_id="T0ALPHA") is None
    assert "TOKEN_ENCRYPTION_KEY" in caplog.text
    assert TOKEN not in caplog.text


async def test_states_are_signed_and_used_once(engine: AsyncEngine) -> None:
    """An issued state is accepted once; a tampered or unsigned one never."""
    states = SignedStateStore(
        AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine), "state-secret"
    )
    state = await states.async_issue()
    raw, _, _ = state.rpartition(".")
    other = SignedStateStore(
        AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine), "another-secret"
    )
    assert await other.async_consume(state) is False  # another deployment's secret
    assert await states.async_consume(raw) is False  # unsigned
    assert await states.async_consume(state[:-2] + "xx") is False  # tampered
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False  # used


async def test_the_poster_refuses_a_workspace_without_a_token(slack: SlackStandIn) -> None:
    """No installation for the message's team: undeliverable, and Slack is never called."""

    async def tokens(team: str) -> str | None:
        return TOKEN if team == "T0ALPHA" else None

    client = AsyncWebClient(base_url=slack.api_url)
    poster = SlackPoster(client, tokens)
    try:
        with pytest.raises(Undeliverable):
            await poster.post(("T0OTHER", "C0X", None), {"text": "hi"}, "m1")
        assert slack.calls == []
        await poster.post(("T0ALPHA", "C0X", None), {"text": "hi"}, "m2")
        [call] = slack.calls_to("chat.postMessage")
        assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    finally:
        if client.session is not None:
            await client.session.close()


# --- settings -----------------------------------------------------------------------


def _oauth(**extra: object) -> Settings:
    base: dict[str, object] = {
        "slack_client_id": "1111.2222",
        "slack_client_secret": "client-secret",
        "slack_state_secret": "state-secret",
        "slack_signing_secret": "signing-secret",
        "token_encryption_key": KEY,
    }
    base.update(extra)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg,arg-type]


def test_the_three_oauth_settings_turn_on_multi_workspace_mode() -> None:
    """CLIENT_ID, CLIENT_SECRET and STATE_SECRET together: OAuth mode, credentials complete."""
    settings = _oauth()
    assert settings.oauth_enabled and settings.has_slack_credentials
    settings.check_slack()
    assert settings.slack_scopes[:2] == ("chat:write", "commands")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"slack_state_secret": None}, "SLACK_STATE_SECRET"),
        ({"slack_bot_token": "xoxb-1-2"}, "SLACK_BOT_TOKEN"),
        ({"token_encryption_key": None}, "TOKEN_ENCRYPTION_KEY"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_an_incomplete_or_mixed_mode_names_the_variable(
    extra: dict[str, object], named: str
) -> None:
    """Half an OAuth setup, or OAuth and a bot token at once, stop the bot naming the variable."""
    with pytest.raises(ConfigError, match=named):
        _oauth(**extra).check_slack()


def test_a_malformed_encryption_key_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKEN_ENCRYPTION_KEY must be Fernet keys; the error names it and never echoes it."""
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "not-a-key-at-all")
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY") as info:
        load_settings(_env_file=None)
    assert "not-a-key-at-all" not in str(info.value)
