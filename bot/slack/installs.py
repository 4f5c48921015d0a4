"""Workspaces and their tokens: single-workspace mode, or Slack's OAuth install flow.

Single-workspace mode has one bot token (SLACK_BOT_TOKEN). Multi-workspace mode
(SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET) serves Bolt's install
flow on `GET /slack/install` and `GET /slack/oauth_redirect` and keeps each
workspace's installation in slack-sdk's SQLAlchemy installation store on our
database (tables from our migrations), with every token Fernet-encrypted at rest
(TOKEN_ENCRYPTION_KEY). Bolt builds each request's client from the installation
of the request's workspace; the outbox asks `Installs.token_for(team)`.

`app_uninstalled` and `tokens_revoked` (bot) delete the workspace's installation
at once and hand over to `Uninstalls.removed`, which schedules its data's deletion.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from bot.config import Settings
from bot.uninstalls import Uninstalls

log = logging.getLogger(__name__)

TokenSource = Callable[[str], Awaitable[str | None]]
"""A workspace's bot token by team id; None when the app is not installed there."""

STATE_SECONDS = 600
# Everything slack-sdk stores that lets someone act as the app: encrypted at rest.
_SECRET_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
_Row = TypeVar("_Row", Installation, Bot)


class TokenCipher:
    """Fernet over one or more keys: seals with the first, opens with any (key rotation)."""

    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet(
            [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        )

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """Plain text; raises InvalidToken if no key fits (or the value was never sealed)."""
        return self._fernet.decrypt(value.encode()).decode()


class EncryptedInstallationStore(AsyncInstallationStore):
    """slack-sdk's SQLAlchemy installation store with tokens encrypted on save, opened on find.

    A wrapper rather than a subclass: the inner store's `async_save` calls its own
    `async_save_bot` with the already sealed bot, which must not be sealed twice.
    """

    def __init__(
        self,
        inner: AsyncSQLAlchemyInstallationStore,
        cipher: TokenCipher,
        *,
        on_installed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.inner = inner
        self._cipher = cipher
        self._on_installed = on_installed

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    @property
    def client_id(self) -> str:
        return self.inner.client_id

    def seal(self, row: _Row) -> _Row:
        sealed = copy.copy(row)
        for name in _SECRET_FIELDS:
            value = getattr(sealed, name, None)
            if value:
                setattr(sealed, name, self._cipher.seal(value))
        return sealed

    def open(self, row: _Row | None) -> _Row | None:
        if row is None:
            return None
        opened = copy.copy(row)
        try:
            for name in _SECRET_FIELDS:
                value = getattr(opened, name, None)
                if value:
                    setattr(opened, name, self._cipher.open(value))
        except InvalidToken:
            log.error(
                "the stored installation of workspace %s cannot be decrypted "
                "(was TOKEN_ENCRYPTION_KEY changed without keeping the old key?)",
                row.team_id,
            )
            return None
        return opened

    async def async_save(self, installation: Installation) -> None:
        await self.inner.async_save(self.seal(installation))
        if self._on_installed is not None and installation.team_id:
            await self._on_installed(installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(self.seal(bot))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return self.open(
            await self.inner.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return self.open(
            await self.inner.async_find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )


class SignedStateStore(AsyncOAuthStateStore):
    """The SQLAlchemy OAuth state store, with each state signed by SLACK_STATE_SECRET.

    A callback whose state was not issued by this deployment (another app sharing
    the database, a forged or truncated value) is refused before the database is asked.
    Issuing a state first deletes the expired ones (`purge_expired`): the install page
    needs no login, and slack-sdk deletes a state only when it is used.
    """

    def __init__(
        self,
        inner: AsyncSQLAlchemyOAuthStateStore,
        secret: str,
        *,
        purge_expired: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.inner = inner
        self._key = secret.encode()
        self._purge_expired = purge_expired

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    def _sign(self, state: str) -> str:
        digest = hmac.new(self._key, state.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        if self._purge_expired is not None:
            await self._purge_expired()
        state = await self.inner.async_issue(*args, **kwargs)
        return f"{state}.{self._sign(state)}"

    async def async_consume(self, state: str) -> bool:
        raw, _, signature = (state or "").rpartition(".")
        if not raw or not hmac.compare_digest(signature, self._sign(raw)):
            log.warning("OAuth callback with a state this app did not issue; refused")
            return False
        return await self.inner.async_consume(raw)


class Installs:
    """Where each workspace's bot token comes from, and what happens when one leaves."""

    def __init__(
        self,
        *,
        uninstalls: Uninstalls,
        tokens: TokenSource,
        store: EncryptedInstallationStore | None = None,
        oauth_settings: AsyncOAuthSettings | None = None,
    ) -> None:
        self.uninstalls = uninstalls
        self.token_for = tokens
        self.store = store
        self.oauth_settings = oauth_settings

    @property
    def multi_workspace(self) -> bool:
        return self.oauth_settings is not None

    def register(self, app: AsyncApp) -> None:
        app.event("app_uninstalled")(self.on_app_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)

    async def on_app_uninstalled(self, body: dict[str, Any]) -> None:
        await self._forget(body, reason="app_uninstalled")

    async def on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        tokens = event.get("tokens") or {}
        if tokens.get("bot") and self.store is None:
            # Single-workspace mode: rotating SLACK_BOT_TOKEN revokes the old one; that is
            # no reason to delete the workspace's data.
            log.warning(
                "Slack revoked the bot token of %s: set a new SLACK_BOT_TOKEN", body.get("team_id")
            )
            return
        if tokens.get("bot"):
            await self._forget(body, reason="tokens_revoked")
            return
        if self.store is not None:  # only some users' tokens: the bot stays
            for user in tokens.get("oauth") or []:
                await self.store.async_delete_installation(
                    enterprise_id=body.get("enterprise_id"),
                    team_id=body.get("team_id"),
                    user_id=user,
                )

    async def _forget(self, body: dict[str, Any], *, reason: str) -> None:
        team = body.get("team_id")
        if not team:
            return
        if self.store is not None:
            await self.store.async_delete_all(enterprise_id=body.get("enterprise_id"), team_id=team)
        await self.uninstalls.removed(str(team), reason=reason)

    def routes(self, app: AsyncApp) -> list[web.RouteDef]:
        """`GET /slack/install` and `GET /slack/oauth_redirect` (multi-workspace mode only)."""
        flow = app.oauth_flow
        if flow is None:
            return []

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        return [
            web.get(flow.install_path, install),
            web.get(flow.redirect_uri_path, oauth_redirect),
        ]


def build_installs(settings: Settings, *, engine: Any, uninstalls: Uninstalls) -> Installs:
    """Installs for the configured mode. `engine` is the app's AsyncEngine (the stores share it)."""
    if not settings.oauth_enabled:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None

        async def the_token(team: str) -> str | None:
            return token

        return Installs(uninstalls=uninstalls, tokens=the_token)

    settings.check_slack()  # raises ConfigError naming what is missing
    assert settings.slack_client_id and settings.slack_client_secret
    assert settings.slack_state_secret and settings.token_encryption_key
    client_id = settings.slack_client_id
    cipher = TokenCipher(settings.token_encryption_key.get_secret_value())
    store = EncryptedInstallationStore(
        AsyncSQLAlchemyInstallationStore(
            client_id=client_id, engine=engine, logger=logging.getLogger("bot.slack.oauth")
        ),
        cipher,
        on_installed=uninstalls.installed,
    )
    state_store = SignedStateStore(
        AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS,
            engine=engine,
            logger=logging.getLogger("bot.slack.oauth"),
        ),
        settings.slack_state_secret.get_secret_value(),
        purge_expired=uninstalls.purge_expired_states,
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(settings.slack_scopes),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        installation_store=store,
        state_store=state_store,
        state_expiration_seconds=STATE_SECONDS,
        logger=logging.getLogger("bot.slack.oauth"),
    )

    async def installed_token(team: str) -> str | None:
        sealed = await uninstalls.stored_bot_token(team, client_id=client_id)
        if sealed is None:
            return None
        try:
            return cipher.open(sealed)
        except InvalidToken:
            log.error("the stored bot token of workspace %s cannot be decrypted", team)
            return None

    return Installs(
        uninstalls=uninstalls, tokens=installed_token, store=store, oauth_settings=oauth_settings
    )
