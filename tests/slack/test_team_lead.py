"""Team leads through Slack: no duplicate schedules, announced schedules, limits, a
schedule's next question (seen or posted now), who practised, and the digest on demand."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.storage.db import unit_of_work
from bot.storage.tables import Schedule
from tests.conftest import RunningBot
from tests.slack import payloads as p


def _admin(slack: SlackStandIn) -> None:
    slack.add_user("U0ADMIN", is_admin=True, tz="Europe/Berlin")
    slack.add_user("U0MEMBER")


async def _schedules(bot: RunningBot) -> list[Schedule]:
    async with unit_of_work(bot.runtime.sessions) as session:
        return list((await session.execute(select(Schedule).order_by(Schedule.id))).scalars())


def _asked(slack: SlackStandIn) -> list[str]:
    return [m["metadata"]["event_payload"]["question_id"] for m in slack.posts("drill_prompt")]


async def test_the_same_schedule_twice_is_refused_pointing_at_the_first(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Same days, time and timezone in a channel: refused, naming the existing schedule;
    a paused one is pointed at with how to resume it; another time is fine."""
    _admin(slack)
    first = await slack.command_reply(bot.url, "schedule weekdays 09:30", user="U0ADMIN")
    assert "#1" in first
    again = await slack.command_reply(
        bot.url, "schedule weekdays 9:30 Europe/Berlin topics rollout", user="U0ADMIN"
    )
    assert "already has that drill" in again and "*#1* weekdays at 09:30 (Europe/Berlin)" in again
    await slack.command_reply(bot.url, "schedule pause 1", user="U0ADMIN")
    again = await slack.command_reply(bot.url, "schedule weekdays 09:30", user="U0ADMIN")
    assert "paused" in again and "schedule resume 1" in again
    other = await slack.command_reply(bot.url, "schedule weekdays 09:30 UTC", user="U0ADMIN")
    assert "#2" in other
    elsewhere = await slack.command_reply(
        bot.url, "schedule weekdays 09:30", user="U0ADMIN", channel="C0OTHER"
    )
    assert "#3" in elsewhere
    assert [(s.channel, s.tz) for s in await _schedules(bot)] == [
        ("C0DRILL", "Europe/Berlin"),
        ("C0DRILL", "UTC"),
        ("C0OTHER", "Europe/Berlin"),
    ]


async def test_a_new_schedule_is_announced_in_its_channel(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Everyone in the channel sees who set it, when it fires first, and how to pause it."""
    _admin(slack)
    reply = await slack.command_reply(
        bot.url, "schedule daily 08:15 America/New_York difficulty advanced", user="U0ADMIN"
    )
    await slack.wait_for(lambda: slack.posts("drill_schedule"))
    [announced] = slack.posts("drill_schedule")
    assert announced["channel"] == "C0DRILL"
    text = json.dumps(announced["blocks"])
    assert "<@U0ADMIN>" in text and "daily at 08:15" in text and "America/New_York" in text
    assert "difficulty advanced" in text
    assert "schedule pause 1" in text
    first = reply.split("Next question: ")[1].split(".")[0]  # the admin's reply names it too
    assert first in text
    meta = announced["metadata"]["event_payload"]
    assert meta["schedule_id"] == 1 and meta["created_by"] == "U0ADMIN"


async def test_limits_are_checked_against_the_bank(
    bot: RunningBot, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """A wrong topic or difficulty is named with the valid ones listed; nothing is created."""
    _admin(slack)
    reply = await slack.command_reply(
        bot.url, "schedule daily 09:00 topics rollout,kubernetes", user="U0ADMIN"
    )
    assert "“kubernetes” is not a topic" in reply
    assert all(q.topic in reply for q in bank.questions)
    reply = await slack.command_reply(
        bot.url, "schedule daily 09:00 difficulty hard", user="U0ADMIN"
    )
    assert "“hard” is not a difficulty" in reply and "intro, core, advanced" in reply
    intro = {q.topic for q in bank.questions if q.difficulty == "intro"}
    other = sorted({q.topic for q in bank.questions} - intro)[0]
    reply = await slack.command_reply(
        bot.url, f"schedule daily 09:00 topic {other} difficulty intro", user="U0ADMIN"
    )
    assert "No question matches" in reply
    reply = await slack.command_reply(bot.url, "schedule daily 09:00 topics", user="U0ADMIN")
    assert "Name at least one topic" in reply
    reply = await slack.command_reply(bot.url, "schedule daily 09:00 UTC sometimes", user="U0ADMIN")
    assert "“sometimes” is not a limit" in reply
    assert await _schedules(bot) == []


async def test_preview_shows_what_post_now_posts_within_the_limit(
    bot: RunningBot, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """An admin sees a schedule's next question, posts it now (once a minute), and changes
    the limit; members may do neither."""
    _admin(slack)
    await slack.command_reply(
        bot.url, "schedule daily 09:00 UTC topics rollout,rollback", user="U0ADMIN"
    )
    allowed = {q.id for q in bank.questions if q.topic in ("rollout", "rollback")}
    preview = await slack.command_reply(bot.url, "schedule preview 1", user="U0ADMIN")
    assert "Next for schedule #1" in preview
    [shown] = [q for q in bank.questions if f"*{q.title}*" in preview]
    assert shown.id in allowed
    posted = await slack.command_reply(bot.url, "schedule now 1", user="U0ADMIN")
    assert f"Posting *{shown.title}* in <#C0DRILL> now" in posted
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    [prompt] = slack.posts("drill_prompt")
    assert prompt["metadata"]["event_payload"] == {
        "question_id": shown.id,
        "source": "scheduled",
        "message_key": prompt["metadata"]["event_payload"]["message_key"],
    }
    again = await slack.command_reply(bot.url, "schedule now 1", user="U0ADMIN")
    assert "already posted a question this minute" in again
    for text in ("schedule now 1", "schedule preview 1", "schedule limit 1 any"):
        assert "Only workspace admins" in await slack.command_reply(bot.url, text, user="U0MEMBER")
    changed = await slack.command_reply(
        bot.url, "schedule limit 1 difficulty=intro", user="U0ADMIN"
    )
    assert changed == "Schedule #1 now asks difficulty intro."
    [intro] = [q for q in bank.questions if q.difficulty == "intro"]
    assert f"*{intro.title}*" in await slack.command_reply(
        bot.url, "schedule preview 1", user="U0ADMIN"
    )
    cleared = await slack.command_reply(bot.url, "schedule limit 1 any", user="U0ADMIN")
    assert cleared == "Schedule #1 now asks any question."
    listed = await slack.command_reply(bot.url, "schedule list", user="U0MEMBER")
    assert "*#1* daily at 09:00 (UTC)" in listed and "topic" not in listed
    assert "no schedule #7" in await slack.command_reply(bot.url, "schedule now 7", user="U0ADMIN")


async def test_team_names_only_leaderboard_members_and_counts_the_rest(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Who practised this week and who hasn't, among the channel's people (not its bots)."""
    for user in ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"):
        slack.add_user(user)
    slack.add_user("B0JIRA", is_bot=True)
    slack.join("C0DRILL", "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "B0JIRA")
    for user in ("U0ALICE", "U0CAROL"):
        await slack.send_command(bot.url, "leaderboard join", user=user)
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0ALICE"))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2)
    reply = await slack.command_reply(bot.url, "team", user="U0DAVE")
    assert "*2* of 4 members" in reply
    assert "Practised (2 answers): <@U0ALICE> and 1 other" in reply
    assert "Not yet: <@U0CAROL> and 1 other" in reply
    assert "U0BOB" not in reply and "U0DAVE" not in reply and "B0JIRA" not in reply


async def test_team_without_the_members_scope_counts_recent_answerers(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Slack refusing conversations.members: whom the view counted is said, and why."""
    slack.fail("conversations.members", status=200, error="missing_scope", retry_after=None)
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0ALICE"))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    reply = await slack.command_reply(bot.url, "team")
    assert "*1* of the 1 people who answered here in the last 8 weeks" in reply
    assert "Practised (1 answer): 1 person" in reply
    assert "channels:read" in reply


async def test_digest_on_demand_privately_and_posted_by_an_admin(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """`digest` shows the week to anyone; an admin's copy has a button that posts it, once a day."""
    _admin(slack)
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0MEMBER"))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    seen = await slack.command_reply(bot.url, "digest", user="U0MEMBER")
    assert "Weekly Deploy Drill digest" in seen and "*1* answers from *1* people" in seen
    [member_reply] = [c for c in slack.calls_to("respond") if c.body.get("text") == seen]
    assert "digest_post" not in json.dumps(member_reply.body.get("blocks"))
    assert "Only workspace admins" in await slack.command_reply(
        bot.url, "digest post", user="U0MEMBER"
    )
    await slack.command_reply(bot.url, "digest", user="U0ADMIN")
    admin_reply = slack.calls_to("respond")[-1]
    assert "digest_post" in json.dumps(admin_reply.body["blocks"])
    assert slack.calls_to("files.completeUploadExternal") == []

    status, _ = await slack.send_action(bot.url, "digest_post", user="U0ADMIN", value="C0DRILL")
    assert status == 200
    await slack.wait_for(lambda: slack.calls_to("files.completeUploadExternal"))
    [done] = slack.calls_to("files.completeUploadExternal")
    assert done.body["channel_id"] == "C0DRILL"
    assert "*1* answers from *1* people" in done.body["initial_comment"]
    again = await slack.command_reply(bot.url, "digest post", user="U0ADMIN")
    assert "already posted" in again
    assert "Usage" in await slack.command_reply(bot.url, "digest now please")
