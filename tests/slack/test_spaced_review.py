"""Spaced review through Slack, on a controlled clock: `/deploy-question review on`, a weak
answer, then the DM drill when its criterion is due - within working hours in the person's
Slack timezone, on weekdays unless asked, once a day, never on a criterion practised that day,
paused after three left unanswered - answered in its thread and graded on that criterion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import time_machine

from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from bot.storage import profile_rows
from bot.storage.db import unit_of_work
from bot.storage.installation_rows import purge_team
from bot.storage.tables import Attempt, OutboxMessage, Review, ReviewCard, ReviewOptIn
from tests.conftest import RunningBot
from tests.slack import payloads as p

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# 2027-01-04 is a Monday.
MONDAY = datetime(2027, 1, 4, 10, 0, tzinfo=BERLIN)
# The weak answer misses `context` (among others): the first criterion reviewed. A full answer to it:
CONTEXT_REVIEW = (
    "Before choosing anything I ask whether predictions are needed in real time or as a nightly "
    "batch, and what latency budget we have. I also ask what a wrong prediction costs the business."
)


def _at(day_offset: int, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    """Monday 2027-01-04 plus `day_offset` days, at hour:minute in `tz`."""
    day = MONDAY.date() + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def _reviews(slack: SlackStandIn) -> list[dict[str, Any]]:
    return slack.posts("drill_review")


async def _practise(
    slack: SlackStandIn,
    bot: RunningBot,
    user: str = "U0BOB",
    answer: str = p.WEAK_ANSWER,
    question: str = "deploy-ml-models",
) -> None:
    """A drill answered (and its feedback posted)."""
    root = await p.ask(slack, bot, question, user=user)
    before = len(slack.posts("drill_feedback"))
    await slack.send_event(bot.url, p.reply(root, answer, user=user))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) > before)


async def _sent_ts(bot: RunningBot, review_id: int) -> str:
    """The review DM's ts, once the outbox has recorded it as sent."""
    for _ in range(300):
        async with unit_of_work(bot.runtime.sessions, read_only=True) as session:
            row = (
                await session.execute(
                    sa.select(OutboxMessage.sent_ts).where(
                        OutboxMessage.dedupe_key == f"review:{review_id}"
                    )
                )
            ).scalar()
        if row:
            return str(row)
        await _sleep()
    raise AssertionError("the review was never recorded as sent")


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.02)


async def _rows(bot: RunningBot, model: Any, **where: Any) -> list[Any]:
    async with unit_of_work(bot.runtime.sessions, read_only=True) as session:
        return list((await session.execute(sa.select(model).filter_by(**where))).scalars().all())


async def _send_due(bot: RunningBot) -> int:
    return await bot.runtime.reviews.send_due()


async def test_a_due_criterion_comes_back_as_a_dm_and_its_answer_gets_brief_feedback(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Opt in, answer weakly; the next working day at 10:00 Berlin time a DM drills one weak
    criterion; the reply in its thread is graded on that criterion alone, with the missing
    part and the ideal two sentences, and metadata on both messages."""
    slack.users["U0BOB"]["tz"] = "Europe/Berlin"
    with time_machine.travel(MONDAY, tick=True) as clock:
        reply = await slack.command_reply(bot.url, "review on", user="U0BOB")
        assert "Spaced review is on" in reply and "weekdays" in reply
        await _practise(slack, bot)
        assert await _send_due(bot) == 0  # nothing is due the same day

        clock.move_to(_at(1, 10, 30))  # Tuesday 10:30 in Berlin
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 1)
        [dm] = _reviews(slack)
        assert dm["channel"] == slack.dm_channel("U0BOB")
        event = dm["metadata"]["event_payload"]
        assert event["question_id"] == "deploy-ml-models" and event["user"] == "U0BOB"
        assert slack.calls_to("conversations.open")[-1].body["users"] == "U0BOB"
        assert any(c.body.get("user") == "U0BOB" for c in slack.calls_to("users.info"))
        [review] = await _rows(bot, Review, user="U0BOB")
        assert review.criterion == event["criterion"] and review.day == "2027-01-05"

        assert review.criterion == "context" and "two or three sentences" in str(dm["blocks"])
        ts = await _sent_ts(bot, int(review.id))
        await people.say("U0BOB", CONTEXT_REVIEW, thread_ts=ts, channel=dm["channel"])
        await slack.wait_for(lambda: slack.posts("drill_review_feedback"))
        [feedback] = slack.posts("drill_review_feedback")
        assert feedback["thread_ts"] == ts and feedback["channel"] == dm["channel"]
        meta = feedback["metadata"]["event_payload"]
        assert {k: meta[k] for k in ("question_id", "user", "criterion")} == {
            "question_id": "deploy-ml-models",
            "user": "U0BOB",
            "criterion": review.criterion,
        }
        assert meta["level"] == 2
        text = str(feedback["blocks"])
        assert "full marks" in text and "The ideal, in two sentences" in text
        # The DM thread is a review's: it never became a drill answer.
        assert len(slack.posts("drill_feedback")) == 1
        assert len(await _rows(bot, Attempt)) == 1
        # The answer is remembered: the criterion is strong now, and due days later.
        [card] = await _rows(bot, ReviewCard, user="U0BOB", criterion="context")
        assert card.level == 2 and card.first_level == 0 and card.reviews == 2
        assert card.due > _at(3, 10).astimezone(UTC)
        status = await slack.command_reply(bot.url, "review status", user="U0BOB")
        assert "Streak: 1 review answered in a row" in status
