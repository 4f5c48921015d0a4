"""Parsing /deploy-question text, including any text Slack can send; `review` over Slack."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.playground.standin import SlackStandIn
from bot.slack.commands import Command, MockRequest, Usage, parse_command, parse_mock
from tests.conftest import RunningBot


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


def test_review_subcommands_parse() -> None:
    """`review` on (with weekends or weekdays), off and status; anything else is a usage."""
    assert parse_command("review") == Command("review", ("status",))
    assert parse_command("Review Status") == Command("review", ("status",))
    assert parse_command("review on") == Command("review", ("on",))
    assert parse_command("review on WEEKENDS") == Command("review", ("on", "weekends"))
    assert parse_command("review on weekdays") == Command("review", ("on", "weekdays"))
    assert parse_command("review off") == Command("review", ("off",))
    for bad in ("review maybe", "review on sundays", "review off now", "review on weekends too"):
        result = parse_command(bad)
        assert isinstance(result, Usage) and "review on [weekends|weekdays]" in result.usage


async def test_review_command_answers_over_slack(bot: RunningBot, slack: SlackStandIn) -> None:
    """A signed `/deploy-question review …` turns review on, says so, and malformed input
    gets the usage line; help lists it."""
    reply = await slack.command_reply(bot.url, "review on weekends")
    assert "Spaced review is on" in reply and "any day" in reply
    reply = await slack.command_reply(bot.url, "review sometimes")
    assert "Usage: `/deploy-question review on [weekends|weekdays] | off | status`" in reply
    assert "review on [weekends] | off | status" in await slack.command_reply(bot.url, "help")
    assert "Spaced review is off" in await slack.command_reply(bot.url, "review off")


def test_mock_arguments_are_a_question_and_a_real_mention() -> None:
    assert parse_mock(("rollout", "<@U0BOB|bob>"), user="U0ALICE") == MockRequest(
        "rollout", "U0BOB"
    )
    assert parse_mock((), user="U0ALICE") == MockRequest(None, None)
    typed = parse_mock(("@bob",), user="U0ALICE")
    assert isinstance(typed, Usage) and "@-mention menu" in typed.problem
    assert isinstance(parse_mock(("<@U0ALICE>",), user="U0ALICE"), Usage)  # not yourself
    assert isinstance(parse_mock(("rollout", "monitoring"), user="U0ALICE"), Usage)
