"""Scheduled drills through Slack: created by command, fired by APScheduler, posted once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import RunningBot, make_settings

BERLIN = ZoneInfo("Europe/Berlin")


def _scheduled(slack: SlackStandIn) -> list[dict]:
    return [
        m
        for m in slack.posts("drill_prompt")
        if m["metadata"]["event_payload"]["source"] == "scheduled"
    ]


async def test_only_admins_change_schedules(bot: RunningBot, slack: SlackStandIn) -> None:
    """A member gets a polite refusal; an admin creates, lists, pauses, resumes and removes."""
    slack.add_user("U0MEMBER")
    slack.add_user("U0ADMIN", is_admin=True, tz="America/New_York")
    reply = await slack.command_reply(bot.url, "schedule daily 09:00", user="U0MEMBER")
    assert "Only workspace admins" in reply
    reply = await slack.command_reply(bot.url, "schedule weekdays 9:30", user="U0ADMIN")
    assert "#1" in reply and "America/New_York" in reply  # the admin's own timezone
    reply = await slack.command_reply(bot.url, "schedule list", user="U0MEMBER")
    assert "#1" in reply and "weekdays at 09:30" in reply and "next " in reply
    reply = await slack.command_reply(bot.url, "schedule pause 1", user="U0ADMIN")
    assert "paused" in reply
    reply = await slack.command_reply(bot.url, "schedule list", user="U0ADMIN")
    assert "paused" in reply
    reply = await slack.command_reply(bot.url, "schedule skip 2026-12-24", user="U0ADMIN")
    assert "2026-12-24" in reply
    reply = await slack.command_reply(bot.url, "schedule remove 1", user="U0ADMIN")
    assert "removed" in reply
    reply = await slack.command_reply(bot.url, "schedule remove 1", user="U0ADMIN")
    assert "no schedule #1" in reply


async def test_invalid_schedule_input_names_the_bad_part(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Bad days, times and timezones each get an error naming them, with an example."""
    slack.add_user("U0ADMIN", is_owner=True)
    for text, part in [
        ("schedule sometimes 09:00", "sometimes"),
        ("schedule daily 27:00", "27:00"),
        ("schedule daily 09:00 Moon/Base", "Moon/Base"),
        ("schedule", "schedule daily|weekdays"),
    ]:
        assert part in await slack.command_reply(bot.url, text, user="U0ADMIN"), text


async def test_schedule_fires_at_its_minute_once_across_restarts(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """Created by command, the app restarted, the prompt posts at the set minute - once."""
    slack.add_user("U0ADMIN", is_admin=True)
    first = Runtime(make_settings(database_url, slack), bank=bank)
    await first.start()
    port = await first.serve_http(host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{port}/slack/events"
    fire_local = (datetime.now(BERLIN) + timedelta(minutes=3)).replace(second=0, microsecond=0)
    reply = await slack.command_reply(
        url, f"schedule daily {fire_local:%H:%M} Europe/Berlin", user="U0ADMIN"
    )
    assert "#1" in reply
    await first.stop()

    # Jump to two seconds before the fire; APScheduler then waits in real time.
    with time_machine.travel(fire_local.astimezone(UTC) - timedelta(seconds=2), tick=True):
        second = Runtime(make_settings(database_url, slack), bank=bank)
        await second.start()
        assert second.scheduler.jobs() == ["digest:T0TEAM:C0DRILL", "schedule:1"]
        try:
            await slack.wait_for(lambda: _scheduled(slack), within=15)
            await asyncio.sleep(1)
        finally:
            await second.stop()
        third = Runtime(
            make_settings(database_url, slack), bank=bank
        )  # a restart right after the fire
        await third.start()
        await asyncio.sleep(1)
        await third.stop()
    [prompt] = _scheduled(slack)
    assert prompt["channel"] == "C0DRILL"
    assert prompt["metadata"]["event_type"] == "drill_prompt"
