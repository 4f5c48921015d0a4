"""Privacy and isolation: forget-me, retention, and one workspace never sees another's data."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.playground.standin import SlackStandIn
from bot.retention import Retention
from bot.storage import profile_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Attempt, MockSession, utcnow
from tests.conftest import RunningBot
from tests.slack import payloads as p


async def _attempts(bot: RunningBot, **where: str) -> list[Attempt]:
    async with unit_of_work(bot.runtime.sessions) as session:
        query = sa.select(Attempt).filter_by(**where)
        return list((await session.execute(query)).scalars().all())


async def test_forget_me_asks_first_then_deletes_only_that_user(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """forget-me shows a confirmation; confirming deletes the user's answers and profile, no one else's."""
    root = await p.ask(slack, bot)
    await slack.send_command(bot.url, "level mid")
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2)

    status, body = await slack.send_command(bot.url, "forget-me")
    assert status == 200 and "forget_me_confirm" in body
    assert len(await _attempts(bot, user="U0ALICE")) == 1  # nothing deleted before confirming

    status, _ = await slack.send_action(bot.url, "forget_me_confirm", value="confirm")
    assert status == 200
    await slack.wait_for(lambda: slack.calls_to("respond"))
    assert "deleted 1 answers" in slack.calls_to("respond")[-1].body["text"]
    assert await _attempts(bot, user="U0ALICE") == []
    assert len(await _attempts(bot, user="U0BOB")) == 1
    async with unit_of_work(bot.runtime.sessions) as session:
        assert await profile_rows.get_profile(session, team="T0TEAM", user="U0ALICE") is None


async def test_forget_me_cancel_keeps_everything(bot: RunningBot, slack: SlackStandIn) -> None:
    """Cancelling deletes nothing."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    await slack.send_action(bot.url, "forget_me_cancel")
    await slack.wait_for(lambda: slack.calls_to("respond"))
    assert len(await _attempts(bot, user="U0ALICE")) == 1


async def test_workspaces_are_isolated(bot: RunningBot, slack: SlackStandIn) -> None:
    """One workspace's answers, stats and schedules never show up in, or change from, another."""
    root = await p.ask(slack, bot)
    # Same channel id and thread ts, but another team: not our prompt there.
    await slack.send_event(
        bot.url, p.reply(root, p.STRONG_ANSWER, user="U0MALLORY"), team="T0OTHER"
    )
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    assert [a.user for a in await _attempts(bot)] == ["U0ALICE"]
    other_root = await p.ask(slack, bot, team="T0OTHER")
    await slack.send_event(
        bot.url, p.reply(other_root, p.STRONG_ANSWER, user="U0MALLORY"), team="T0OTHER"
    )
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2)
    assert {a.user for a in await _attempts(bot, team="T0OTHER")} == {"U0MALLORY"}
    assert {a.user for a in await _attempts(bot, team="T0TEAM")} == {"U0ALICE"}
    # Stats and schedules are per workspace too.
    _, body = await slack.send_command(bot.url, "stats", user="U0MALLORY")
    assert "No graded answers yet" in body
    _, body = await slack.send_command(bot.url, "stats", user="U0MALLORY", team="T0OTHER")
    assert "*1* answer · average" in body
    slack.add_user("U0ADMIN", is_admin=True)
    await slack.command_reply(bot.url, "schedule daily 09:00 UTC", user="U0ADMIN", team="T0OTHER")
    _, body = await slack.send_command(bot.url, "schedule list", user="U0ADMIN")
    assert "No scheduled drills" in body
    _, body = await slack.send_command(bot.url, "schedule list", user="U0ADMIN", team="T0OTHER")
    assert "#1" in body
    reply = await slack.command_reply(bot.url, "schedule remove 1", user="U0ADMIN")
    assert "no schedule #1" in reply  # another workspace cannot touch it
    # forget-me in one workspace leaves the same user id in another alone.
    async with unit_of_work(bot.runtime.sessions) as session:
        assert await profile_rows.delete_user_data(session, team="T0OTHER", user="U0ALICE") == 0
    assert len(await _attempts(bot, team="T0TEAM")) == 1


async def test_retention_deletes_only_old_answers(bot: RunningBot, slack: SlackStandIn) -> None:
    """ANSWER_RETENTION_DAYS removes answers older than the window and keeps recent ones."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2)
    async with unit_of_work(bot.runtime.sessions) as session:
        await session.execute(
            sa.update(Attempt)
            .where(Attempt.user == "U0BOB")
            .values(received_at=utcnow() - timedelta(days=40))
        )
    assert await Retention(bot.runtime.sessions, days=30).purge() == 1
    assert [a.user for a in await _attempts(bot)] == ["U0ALICE"]


async def test_forget_me_removes_mock_interviews_and_the_interviewers_name(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Alice's own mock interview goes; in the one she interviews Bob for, her name goes."""
    await p.start_mock(slack, bot, "mock deploy-ml-models")
    await p.start_mock(slack, bot, "mock <@U0ALICE|alice> deploy-ml-models", user="U0BOB")
    await slack.send_command(bot.url, "forget-me")
    await slack.send_action(bot.url, "forget_me_confirm", value="confirm")
    await slack.wait_for(lambda: slack.calls_to("respond"))
    async with unit_of_work(bot.runtime.sessions) as session:
        mocks = (await session.execute(sa.select(MockSession))).scalars().all()
    assert [(m.candidate, m.interviewer) for m in mocks] == [("U0BOB", None)]
