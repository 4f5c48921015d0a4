"""Settings from the environment and `.env` - the only place the environment is read."""

from __future__ import annotations

import base64
import os
from collections.abc import MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.review_rules import WorkingHours

PACKAGED = Path(__file__).parent / "_packaged"
REPO_ROOT = Path(__file__).resolve().parent.parent
# What the OAuth install asks for: the bot scopes of manifest.yml.
DEFAULT_SCOPES = (
    "chat:write",
    "commands",
    "channels:history",
    "groups:history",
    "users:read",
    "files:write",
    "channels:read",
    "groups:read",
    "im:history",  # replies to spaced review's DMs
    "im:write",  # opening those DMs (conversations.open)
)


def known_database(url: str) -> str:
    """`url` if it names a database the bot can use (ValueError, saying which, if not)."""
    if not url.startswith(("sqlite", "postgresql", "postgres")):
        raise ValueError("must be a sqlite:/// or postgresql:// URL")
    return url


class Settings(BaseSettings):
    """Every setting the app reads; `.env.example` documents each one."""

    # `NAME=` (a copied `.env.example`, `docker run --env-file`) means "not set": the default,
    # or the value from `.env`, applies - for every setting.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds one Web API call may take before it is given up (and retried later).
    slack_timeout_seconds: float = Field(default=10.0, gt=0)
    # Multi-workspace (OAuth) mode: these three instead of SLACK_BOT_TOKEN; each
    # workspace's bot token comes from its installation, encrypted at rest.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    slack_scopes: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SCOPES
    slack_redirect_uri: str | None = None
    token_encryption_key: SecretStr | None = None  # Fernet key(s), comma-separated, newest first

    database_url: str = "sqlite:///./deploy_drill.db"

    grader: Literal["rubric", "llm", "auto"] = "auto"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    llm_concurrency: int = Field(default=4, ge=1, le=64)
    llm_daily_token_budget: int = Field(
        default=200_000, ge=0
    )  # per workspace per UTC day; 0 = unlimited

    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    rubrics_dir: Path | None = None
    drill_admins: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    answer_retention_days: int = Field(default=0, ge=0)  # 0 keeps answers forever
    max_body_bytes: int = Field(default=1_000_000, ge=10_000)
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    # Where an answer goes when the database cannot take it on Slack's last delivery
    # (storage/spool.py); drained into the database when it is back.
    spool_path: Path = Path("./deploy_drill_spool.db")
    # Worker processes for the offline grader (it is CPU-bound: a process uses another
    # core, a thread would not); 0 grades in the event loop's own process.
    grading_processes: int = Field(default=1, ge=0, le=32)
    # How long one claim of answers or messages may be worked on by its process. A crashed
    # process's work is taken over when its heartbeat stops (liveness.py), not after this.
    lease_seconds: float = Field(default=60.0, ge=1)
    # A scheduled fire missed while the bot was down is posted on start if it is at
    # most this old; older misses are skipped and logged. Seconds, or "90m", "1h".
    schedule_grace: timedelta = timedelta(hours=1)
    # Mock interviews: follow-up questions before the summary scorecard (1-3).
    mock_followups: int = Field(default=2, ge=1, le=3)
    # "Was this fair?" under feedback: Slack's feedback buttons element, or plain buttons for
    # a Slack that does not take it (a post refused with invalid_blocks switches by itself).
    feedback_buttons: Literal["native", "plain"] = "native"
    # Weekly digest in every channel with a schedule, at this day and time in its timezone.
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "fri"
    digest_time: str = Field(default="16:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Spaced review: the local hours (each person's Slack timezone) a review DM may arrive in.
    review_hours: str = "09:00-17:00"

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: object) -> object:
        # Whitespace only, too (`SLACK_APP_TOKEN= ` must not switch on Socket Mode).
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
        return values

    @field_validator("schedule_grace", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip().lower()
            units = {"s": 1, "m": 60, "h": 3600}
            factor = units.get(text[-1:], 0)
            number = text[:-1] if factor else text
            if not number.replace(".", "", 1).isdigit():
                raise ValueError("use seconds, or a number with s, m or h (e.g. 3600, 90m, 1h)")
            return timedelta(seconds=float(number) * (factor or 1))
        return value

    @field_validator("review_hours")
    @classmethod
    def _working_hours(cls, value: str) -> str:
        return str(WorkingHours.parse(value))

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for key in value.get_secret_value().split(","):
                try:
                    raw = base64.urlsafe_b64decode(key.strip().encode())
                except ValueError:
                    raw = b""
                if len(raw) != 32:
                    raise ValueError(
                        "each key must be 32 url-safe base64-encoded bytes (a Fernet key: "
                        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
                    )
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            scopes = tuple(part.strip() for part in value.split(",") if part.strip())
            return scopes or DEFAULT_SCOPES  # `SLACK_SCOPES=,`: the default
        return value

    @field_validator("drill_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return known_database(value)

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @property
    def async_database_url(self) -> str:
        """The URL with the async driver SQLAlchemy needs (sqlite+inline / asyncpg)."""
        url = self.database_url
        for prefix, driver in (
            ("sqlite:", "sqlite+inline:"),  # see storage/sqlite_inline.py
            ("postgresql:", "postgresql+asyncpg:"),
            ("postgres:", "postgresql+asyncpg:"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url

    @property
    def web_api_timeout(self) -> float:
        """SLACK_TIMEOUT_SECONDS, but at most half the lease: a sender starts a post only
        while half its lease is left, so every post ends before the lease does."""
        return min(self.slack_timeout_seconds, self.lease_seconds / 2)

    @property
    def effective_grader(self) -> Literal["rubric", "llm"]:
        if self.grader == "auto":
            return "llm" if self.openai_api_key else "rubric"
        return self.grader

    @property
    def oauth_enabled(self) -> bool:
        """Multi-workspace mode: the OAuth install flow and per-workspace tokens."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_state_secret)

    @property
    def has_slack_credentials(self) -> bool:
        if self.oauth_enabled:
            return bool(self.slack_signing_secret)
        return bool(self.slack_bot_token and self.slack_signing_secret) or bool(
            self.slack_bot_token and self.slack_app_token
        )

    def check_slack(self) -> None:
        """Raise ConfigError (naming the variable) unless the Slack settings make one mode."""
        oauth = {
            "SLACK_CLIENT_ID": self.slack_client_id,
            "SLACK_CLIENT_SECRET": self.slack_client_secret,
            "SLACK_STATE_SECRET": self.slack_state_secret,
        }
        if any(oauth.values()):
            missing = [name for name, value in oauth.items() if not value]
            if missing:
                raise ConfigError(
                    f"{missing[0]}: multi-workspace mode needs SLACK_CLIENT_ID, "
                    "SLACK_CLIENT_SECRET and SLACK_STATE_SECRET together"
                )
            if self.slack_bot_token:
                raise ConfigError(
                    "SLACK_BOT_TOKEN: leave it unset in multi-workspace (OAuth) mode; "
                    "each workspace's token comes from its installation"
                )
            if not self.token_encryption_key:
                raise ConfigError(
                    "TOKEN_ENCRYPTION_KEY: required in multi-workspace mode (tokens are "
                    "encrypted at rest); see .env.example"
                )
            if not self.slack_signing_secret:
                raise ConfigError("SLACK_SIGNING_SECRET: required in multi-workspace mode")
            return
        if not self.slack_bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN: required to serve (or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET "
                "and SLACK_STATE_SECRET for multi-workspace mode; see .env.example)"
            )
        if not self.slack_signing_secret and not self.slack_app_token:
            raise ConfigError(
                "SLACK_SIGNING_SECRET: required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
            )

    def resolved_rubrics_dir(self) -> Path:
        if self.rubrics_dir is not None:
            return self.rubrics_dir
        local = Path("rubrics")
        if local.is_dir():
            return local
        packaged = PACKAGED / "rubrics"
        return packaged if packaged.is_dir() else REPO_ROOT / "rubrics"


def forget_blank_variables(environ: MutableMapping[str, str] = os.environ) -> None:
    """Remove this process's blank variables (`NAME=` from `docker run --env-file .env`) for
    the bot's settings and the Slack and OpenAI SDKs, which read some variables themselves and
    take a blank one as set: Bolt turns on its OAuth file stores when SLACK_CLIENT_ID merely
    exists, the OpenAI client posts to a blank OPENAI_BASE_URL."""
    ours = {name.upper() for name in Settings.model_fields}
    for name in [name for name, value in environ.items() if not value.strip()]:
        if name in ours or name.startswith(("SLACK_", "OPENAI_")):
            del environ[name]


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env, with one clear line per bad variable on failure."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "(settings)"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("; ".join(lines)) from None
