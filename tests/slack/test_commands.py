"""Parsing /deploy-question text, including any text Slack can send."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.commands import Command, Usage, parse_command


def test_subcommands_parse() -> None:
    """Each documented form parses to its command."""
    assert parse_command("") == Command("ask")
    assert parse_command("  deploy-ml-models ") == Command("ask", ("deploy-ml-models",))
    assert parse_command("HELP") == Command("help")
    assert parse_command("list") == Command("list")
    assert parse_command("level Senior") == Command("level", ("senior",))
    assert parse_command("level staff") == Command("level", ("staff",))
    assert parse_command("forget-me") == Command("forget-me")
    assert parse_command("schedule daily 09:00 Europe/Berlin") == Command(
        "schedule", ("daily", "09:00", "Europe/Berlin")
    )


def test_malformed_input_gets_usage() -> None:
    """A bad level or unknown multi-word input is a Usage, not an exception."""
    assert isinstance(parse_command("level wizard"), Usage)
    assert isinstance(parse_command("please deploy my model"), Usage)


@given(st.text(max_size=4000))
def test_any_text_parses_without_error(text: str) -> None:
    """Any Unicode up to Slack's limit yields a command or a usage reply."""
    result = parse_command(text)
    assert isinstance(result, Command | Usage)


@given(st.text(max_size=400))
def test_no_control_character_survives_parsing(text: str) -> None:
    """What a reply may echo (the arguments, the problem named) holds no control character."""
    result = parse_command(text)
    echoed = result.problem if isinstance(result, Usage) else " ".join(result.args)
    assert [c for c in echoed if unicodedata.category(c) in ("Cc", "Cf")] == []
