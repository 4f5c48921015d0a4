"""Settings: read from the environment, fail at start with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, forget_blank_variables, load_settings
from bot.errors import ConfigError


def test_defaults_match_the_documented_contract() -> None:
    """With nothing set, the defaults are those in the README's configuration table."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///./deploy_drill.db"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.effective_grader == "rubric"
    assert settings.openai_model == "gpt-4o-mini"
    assert settings.grading_processes == 1
    assert settings.review_hours == "09:00-17:00"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables are read from the environment, admins split on commas, tokens kept secret."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123-secret")
    monkeypatch.setenv("DRILL_ADMINS", "U1, U2,,U3")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(_env_file=None)
    assert settings.drill_admins == ("U1", "U2", "U3")
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.log_level == "DEBUG"
    assert "xoxb-123-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("DATABASE_URL", "mysql://x"),
        ("GRADER", "magic"),
        ("SLACK_API_URL", "ftp://x"),
        ("GRADING_PROCESSES", "-1"),
        ("REVIEW_HOURS", "17:00-09:00"),
        ("REVIEW_HOURS", "nine to five"),
    ],
)
def test_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A bad value stops start-up with one line naming the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith(name + ":")


def test_database_urls_get_async_drivers() -> None:
    """sqlite URLs run inline on the loop (storage/sqlite_inline.py), postgresql on asyncpg."""
    assert (
        Settings(_env_file=None, database_url="sqlite:///x.db").async_database_url
        == "sqlite+inline:///x.db"
    )  # type: ignore[call-arg]
    pg = Settings(_env_file=None, database_url="postgresql://u@h/db")  # type: ignore[call-arg]
    assert pg.async_database_url == "postgresql+asyncpg://u@h/db"


def test_auto_grader_picks_llm_only_with_a_key() -> None:
    """GRADER=auto means llm when OPENAI_API_KEY is set."""
    assert Settings(_env_file=None, openai_api_key="sk-test").effective_grader == "llm"  # type: ignore[call-arg]


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_values_count_as_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    """`NAME=` for every setting (a copied .env.example, `docker run --env-file`) leaves the
    default: no empty secret, no Socket Mode, no bad PORT, no rubrics in the current directory."""
    for name in Settings.model_fields:
        monkeypatch.setenv(name.upper(), blank)
    settings = load_settings(_env_file=None)
    assert settings == Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.model_fields_set == set()
    assert settings.slack_app_token is None and settings.effective_grader == "rubric"


def test_a_blank_variable_does_not_hide_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An empty DATABASE_URL in the environment leaves the one in .env in force."""
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=sqlite:///from-dotenv.db\nPORT=\n")
    monkeypatch.setenv("DATABASE_URL", "")
    settings = load_settings(_env_file=env_file)
    assert (settings.database_url, settings.port) == ("sqlite:///from-dotenv.db", 3000)


def test_blank_variables_are_removed_before_the_libraries_read_them() -> None:
    """Bolt takes a blank SLACK_CLIENT_ID as "OAuth on" and the OpenAI SDK a blank
    OPENAI_BASE_URL as its URL: blank settings and SDK variables go; others stay."""
    environ = {
        "SLACK_CLIENT_ID": "",
        "OPENAI_BASE_URL": " ",
        "SLACK_USER_SCOPES": "",
        "PORT": "",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "EDITOR": "",
    }
    forget_blank_variables(environ)
    assert environ == {"SLACK_BOT_TOKEN": "xoxb-1", "EDITOR": ""}
