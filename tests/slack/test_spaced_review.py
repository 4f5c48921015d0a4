"""Spaced review through Slack, on a controlled clock: `/deploy-question review on`, a weak
answer, then the DM drill when its criterion is due - within working hours in the person's
Slack timezone, on weekdays unless asked, once a day, never on a criterion practised that day,
paused after three left unanswered - answered in its thread and graded on that criterion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import time_machine

from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from bot.retention import Retention
from bot.reviews import Reviews
from bot.slack.blocks import SlackMessages
from bot.slack.directory import SlackDirectory
from bot.storage.db import unit_of_work
from bot.storage.installation_rows import purge_team
from bot.storage.tables import Attempt, Review, ReviewCard, ReviewOptIn
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
        ts = await p.review_ts(bot)
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


async def test_reviews_wait_for_working_hours_in_each_persons_timezone(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """The same due moment: Alice in Berlin gets her review at 10:30 her time; Bob in New
    York (04:30 there) waits for his working hours, then gets his. His timezone is asked of
    Slack once and cached."""
    slack.users["U0ALICE"]["tz"] = "Europe/Berlin"
    slack.users["U0BOB"]["tz"] = "America/New_York"
    with time_machine.travel(MONDAY, tick=True) as clock:
        for user in ("U0ALICE", "U0BOB"):
            await slack.command_reply(bot.url, "review on", user=user)
            await _practise(slack, bot, user=user)
        clock.move_to(_at(1, 7, 0))  # Tuesday 07:00 in Berlin: nothing due yet
        assert await _send_due(bot) == 0
        clock.move_to(_at(1, 10, 30))  # 10:30 in Berlin, 04:30 in New York
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 1)
        assert _reviews(slack)[0]["channel"] == slack.dm_channel("U0ALICE")
        [bob] = await _rows(bot, ReviewOptIn, user="U0BOB")
        assert bob.tz == "America/New_York"
        assert bob.next_at == _at(1, 9, 0, NEW_YORK).astimezone(UTC)  # his 09:00 today
        asked = len([c for c in slack.calls_to("users.info") if c.body.get("user") == "U0BOB"])

        clock.move_to(_at(1, 11, 30, NEW_YORK))
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 2)
        assert _reviews(slack)[1]["channel"] == slack.dm_channel("U0BOB")
        again = [c for c in slack.calls_to("users.info") if c.body.get("user") == "U0BOB"]
        assert len(again) == asked == 1


async def test_no_reviews_on_weekends_unless_asked(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Due on Saturday: Bob, who asked for weekends, gets his review then; Alice waits for
    Monday's working hours."""
    for user in ("U0ALICE", "U0BOB"):
        slack.users[user]["tz"] = "Europe/Berlin"
    with time_machine.travel(_at(4, 10), tick=True) as clock:  # Friday
        assert "any day" in await slack.command_reply(bot.url, "review on weekends", user="U0BOB")
        await slack.command_reply(bot.url, "review on", user="U0ALICE")
        for user in ("U0ALICE", "U0BOB"):
            await _practise(slack, bot, user=user)
        clock.move_to(_at(5, 11))  # Saturday
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 1)
        assert _reviews(slack)[0]["channel"] == slack.dm_channel("U0BOB")
        [alice] = await _rows(bot, ReviewOptIn, user="U0ALICE")
        assert alice.next_at == _at(7, 9).astimezone(UTC)  # Monday 09:00
        clock.move_to(_at(6, 11))  # Sunday
        await _send_due(bot)
        clock.move_to(_at(7, 9, 30))  # Monday
        await _send_due(bot)
        await slack.wait_for(
            lambda: any(r["channel"] == slack.dm_channel("U0ALICE") for r in _reviews(slack))
        )
    alice_reviews = await _rows(bot, Review, user="U0ALICE")
    assert [r.day for r in alice_reviews] == ["2027-01-11"]


async def test_at_most_one_review_a_day_even_from_two_replicas(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Many criteria due: passes running side by side (as on two replicas) send one review;
    another pass that day, even after it was answered, sends none; the next day brings the
    next criterion."""
    runtime = bot.runtime
    replica = Reviews(
        bank=runtime.bank,
        sessions=runtime.sessions,
        grader=runtime.grader,
        renderer=SlackMessages(),
        directory=SlackDirectory(runtime.client, runtime.installs.token_for),
        on_message=runtime.outbox.wake,
    )
    slack.users["U0BOB"]["tz"] = "Europe/Berlin"
    with time_machine.travel(MONDAY, tick=True) as clock:
        await slack.command_reply(bot.url, "review on", user="U0BOB")
        await _practise(slack, bot)
        clock.move_to(_at(1, 10, 30))
        sent = await asyncio.gather(_send_due(bot), _send_due(bot), replica.send_due())
        assert sum(sent) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 1)
        assert len(await _rows(bot, Review, user="U0BOB")) == 1
        ts = await p.review_ts(bot)
        dm = slack.dm_channel("U0BOB")
        await people.say("U0BOB", CONTEXT_REVIEW, thread_ts=ts, channel=dm)
        await slack.wait_for(lambda: slack.posts("drill_review_feedback"))
        clock.move_to(_at(1, 14))
        assert await _send_due(bot) == 0
        assert await replica.send_due() == 0
        clock.move_to(_at(2, 10, 30))
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 2)
    first, second = sorted(await _rows(bot, Review, user="U0BOB"), key=lambda r: r.id)
    assert (first.day, second.day) == ("2027-01-05", "2027-01-06")
    assert first.criterion == "context" and second.criterion != "context"


async def test_a_criterion_practised_today_is_not_reviewed_today(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Telling a story was due (missing from Monday's answer), but Bob told one in another
    drill this morning: no review today; tomorrow is another day."""
    slack.users["U0BOB"]["tz"] = "Europe/Berlin"
    no_story = p.STRONG_ANSWER.split(" At my last job")[0]
    with time_machine.travel(MONDAY, tick=True) as clock:
        await slack.command_reply(bot.url, "review on", user="U0BOB")
        await _practise(slack, bot, answer=no_story)  # every criterion but `story` in full
        clock.move_to(_at(1, 9, 15))
        await _practise(slack, bot, answer=p.WEAK_ANSWER, question="deployment-incident-star")
        clock.move_to(_at(1, 10, 30))
        assert await _send_due(bot) == 0
        [bob] = await _rows(bot, ReviewOptIn, user="U0BOB")
        assert bob.next_at == _at(2, 9).astimezone(UTC)
        assert await _rows(bot, Review, user="U0BOB") == []
        clock.move_to(_at(2, 10, 30))
        assert await _send_due(bot) == 1


async def test_three_unanswered_reviews_pause_them_with_a_note_on_resuming(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Reviews on Tuesday, Wednesday and Thursday go unanswered: on Friday none comes, but
    one line saying how to resume; `review on` resumes them."""
    slack.users["U0BOB"]["tz"] = "Europe/Berlin"
    with time_machine.travel(MONDAY, tick=True) as clock:
        await slack.command_reply(bot.url, "review on", user="U0BOB")
        await _practise(slack, bot)
        for day in (1, 2, 3):
            clock.move_to(_at(day, 10, 30))
            assert await _send_due(bot) == 1
            await slack.wait_for(lambda n=day: len(_reviews(slack)) == n)  # type: ignore[misc]
        clock.move_to(_at(4, 10, 30))  # Friday
        assert await _send_due(bot) == 0
        await slack.wait_for(lambda: slack.posts("drill_review_paused"))
        [note] = slack.posts("drill_review_paused")
        assert note["channel"] == slack.dm_channel("U0BOB")
        assert "/deploy-question review on" in note["text"] and "\n" not in note["text"]
        assert "paused" in await slack.command_reply(bot.url, "review status", user="U0BOB")
        clock.move_to(_at(4, 11))
        assert await _send_due(bot) == 0  # paused stays paused
        assert "Spaced review is on" in await slack.command_reply(
            bot.url, "review on", user="U0BOB"
        )
        assert await _send_due(bot) == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 4)
    statuses = [
        r.status for r in sorted(await _rows(bot, Review, user="U0BOB"), key=lambda r: r.id)
    ]
    assert statuses == ["ignored", "ignored", "ignored", "sent"]
    assert len(slack.posts("drill_review_paused")) == 1


async def _review_now(
    bot: RunningBot, slack: SlackStandIn, user: str = "U0BOB", count: int = 1
) -> tuple[str, str]:
    """Send the reviews due; (DM channel, ts) of `user`'s newest, once recorded as sent."""
    await _send_due(bot)
    await slack.wait_for(lambda: len(_reviews(slack)) >= count)
    return slack.dm_channel(user), await p.review_ts(bot, user=user)


async def _bobs_first_review(
    bot: RunningBot, slack: SlackStandIn, clock: time_machine.Traveller
) -> tuple[str, str]:
    """On Monday (the clock there), Bob in Berlin turns review on and answers weakly; on
    Tuesday at 10:30 his review comes: (DM channel, its ts)."""
    slack.users["U0BOB"]["tz"] = "Europe/Berlin"
    await slack.command_reply(bot.url, "review on", user="U0BOB")
    await _practise(slack, bot)
    clock.move_to(_at(1, 10, 30))
    return await _review_now(bot, slack)


async def test_forget_me_deletes_every_review_row_of_that_person_only(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """forget-me removes Bob's opt-in, memory cards and reviews in this workspace; Alice's,
    and Bob's own in another workspace, stay."""
    with time_machine.travel(MONDAY, tick=True) as clock:
        for user, team in (("U0BOB", None), ("U0ALICE", None), ("U0BOB", "T0OTHER")):
            await slack.command_reply(bot.url, "review on", user=user, team=team)
        await _practise(slack, bot, user="U0BOB")
        await _practise(slack, bot, user="U0ALICE")
        root = await p.ask(slack, bot, team="T0OTHER", user="U0BOB")
        await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER, user="U0BOB"), team="T0OTHER")
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 3)
        clock.move_to(_at(1, 10, 30))
        await _send_due(bot)
        await slack.wait_for(lambda: len(_reviews(slack)) == 3)

        await slack.send_command(bot.url, "forget-me", user="U0BOB")
        await slack.send_action(bot.url, "forget_me_confirm", user="U0BOB", value="confirm")
        await slack.wait_for(lambda: slack.calls_to("respond"))
    for model in (ReviewOptIn, ReviewCard, Review):
        assert await _rows(bot, model, team="T0TEAM", user="U0BOB") == []
        assert await _rows(bot, model, team="T0TEAM", user="U0ALICE") != []
        assert await _rows(bot, model, team="T0OTHER", user="U0BOB") != []


async def test_workspaces_are_isolated_and_purged_with_their_reviews(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """The same person in two workspaces has two memories and two opt-ins; a reply from the
    other workspace in this one's review thread is not its answer; purging a workspace
    deletes its review rows only."""
    with time_machine.travel(MONDAY, tick=True) as clock:
        await slack.command_reply(bot.url, "review on", user="U0BOB")
        await _practise(slack, bot)
        off = await slack.command_reply(bot.url, "review status", user="U0BOB", team="T0OTHER")
        assert "Spaced review is off" in off
        clock.move_to(_at(1, 10, 30))
        dm, ts = await _review_now(bot, slack)
        stray = p.reply(ts, CONTEXT_REVIEW, user="U0BOB", channel=dm, channel_type="im")
        status, _ = await slack.send_event(bot.url, stray, team="T0OTHER")
        assert status == 200
        [review] = await _rows(bot, Review, user="U0BOB")
        assert review.status == "sent" and review.answer is None
        await slack.command_reply(bot.url, "review on", user="U0BOB", team="T0OTHER")
        assert len(await _rows(bot, ReviewOptIn, user="U0BOB")) == 2
        assert await _rows(bot, ReviewCard, team="T0OTHER") == []
    async with unit_of_work(bot.runtime.sessions) as session:
        counts = await purge_team(session, team="T0OTHER")
    assert counts["review_optin"] == 1
    assert len(await _rows(bot, ReviewOptIn, team="T0TEAM")) == 1
    assert await _rows(bot, ReviewCard, team="T0TEAM") != []
    async with unit_of_work(bot.runtime.sessions) as session:
        await purge_team(session, team="T0TEAM")
    for model in (ReviewOptIn, ReviewCard, Review):
        assert await _rows(bot, model) == []


async def test_turning_review_on_remembers_earlier_answers_and_off_forgets_them(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """Answers before `review on` count: their criteria come back. `review off` deletes the
    memory and stops reviews; answers meanwhile are not remembered."""
    with time_machine.travel(MONDAY, tick=True) as clock:
        await _practise(slack, bot)
        assert await _rows(bot, ReviewCard) == []  # nobody opted in: nothing kept
        reply = await slack.command_reply(bot.url, "review on", user="U0BOB")
        assert "Nothing is due" in reply
        cards = await _rows(bot, ReviewCard, user="U0BOB")
        assert {c.criterion for c in cards} == {
            "context", "packaging", "serving", "validation", "rollout", "monitoring",
            "rollback", "story",
        }  # fmt: skip
        reply = await slack.command_reply(bot.url, "review off", user="U0BOB")
        assert "Spaced review is off" in reply
        assert await _rows(bot, ReviewCard, user="U0BOB") == []
        await _practise(slack, bot)
        assert await _rows(bot, ReviewCard, user="U0BOB") == []
        clock.move_to(_at(1, 10, 30))
        assert await _send_due(bot) == 0
        reply = await slack.command_reply(bot.url, "review on", user="U0BOB")
        assert "Due now: *" in reply
        assert {c.reviews for c in await _rows(bot, ReviewCard, user="U0BOB")} == {2}


async def test_a_mock_follow_up_updates_only_the_criterion_it_probed(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """The first answer of a mock interview practises every criterion; the answer to a
    follow-up, only the one it asked about."""
    await slack.command_reply(bot.url, "review on")
    root = await p.start_mock(slack, bot, "mock deploy-ml-models")
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_followup"))
    probed = slack.posts("drill_followup")[0]["metadata"]["event_payload"]["criterion"]
    await slack.send_event(bot.url, p.reply(root, p.MONITORING_ANSWER))
    await slack.wait_for(lambda: len(slack.posts("drill_followup")) == 2)
    reviews = {c.criterion: c.reviews for c in await _rows(bot, ReviewCard, user="U0ALICE")}
    assert reviews[probed] == 2
    assert {n for c, n in reviews.items() if c != probed} == {1}


async def test_a_reply_that_is_not_an_answer_gets_a_nudge_and_the_review_stays_open(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """An emoji in the review's thread: a nudge there, no level; the next reply is graded.
    A thread the bot did not start in the DM, and a top-level DM, are left alone."""
    with time_machine.travel(MONDAY, tick=True) as clock:
        dm, ts = await _bobs_first_review(bot, slack, clock)
        own = await people.say("U0BOB", "a note to self", channel=dm)
        await people.say("U0BOB", "and a reply to it, in a thread", thread_ts=own.ts, channel=dm)
        await people.say("U0BOB", ":thumbsup:", thread_ts=ts, channel=dm)
        await slack.wait_for(lambda: slack.posts("drill_nudge"))
        [nudge] = slack.posts("drill_nudge")
        assert nudge["thread_ts"] == ts and nudge["channel"] == dm
        await people.say("U0BOB", p.WEAK_ANSWER, thread_ts=ts, channel=dm)
        await slack.wait_for(lambda: slack.posts("drill_review_feedback"))
        [feedback] = slack.posts("drill_review_feedback")
        assert feedback["metadata"]["event_payload"]["level"] == 0
        assert "What was missing" in str(feedback["blocks"])
    assert len(slack.posts("drill_nudge")) == 1
    assert len(await _rows(bot, Attempt)) == 1  # the drill only


async def test_the_home_shows_what_is_due_the_streak_and_what_got_stronger(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    with time_machine.travel(MONDAY, tick=True) as clock:
        await people.open_home("U0BOB")
        await slack.wait_for(lambda: "U0BOB" in people.workspace.home)
        assert "review on" in str(people.workspace.home["U0BOB"]["blocks"])
        dm, ts = await _bobs_first_review(bot, slack, clock)
        await people.say("U0BOB", CONTEXT_REVIEW, thread_ts=ts, channel=dm)
        await slack.wait_for(lambda: slack.posts("drill_review_feedback"))
        before = people.workspace.home["U0BOB"]["id"]
        await people.open_home("U0BOB")
        await slack.wait_for(lambda: people.workspace.home["U0BOB"]["id"] != before)
    text = str(people.workspace.home["U0BOB"]["blocks"])
    assert "Spaced review" in text and "Due now:" in text
    assert "*1* answered in a row" in text
    assert "Starts from the product context (missing → full marks)" in text


async def test_retention_deletes_old_reviews_and_their_answers(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    with time_machine.travel(MONDAY, tick=True) as clock:
        dm, ts = await _bobs_first_review(bot, slack, clock)
        await people.say("U0BOB", CONTEXT_REVIEW, thread_ts=ts, channel=dm)
        await slack.wait_for(lambda: slack.posts("drill_review_feedback"))
        clock.move_to(_at(40, 10))
        assert await Retention(bot.runtime.sessions, days=30).purge() == 2  # drill and review
    assert await _rows(bot, Review) == []
    assert await _rows(bot, ReviewCard, user="U0BOB") != []  # the memory has no answer text


async def test_slack_failures_retry_the_review_or_skip_the_day(
    bot: RunningBot, slack: SlackStandIn, people: LocalClient
) -> None:
    """conversations.open rate limited: the day's claim is given back and a later pass sends
    the review; a person Slack cannot DM gets none that day, and nothing breaks."""
    with time_machine.travel(MONDAY, tick=True) as clock:
        for user in ("U0BOB", "U0ALICE"):
            await slack.command_reply(bot.url, "review on", user=user)
            await _practise(slack, bot, user=user)
        clock.move_to(_at(1, 10, 30))
        slack.fail("conversations.open", status=429, retry_after=0, times=4)
        assert await _send_due(bot) == 0
        assert await _rows(bot, Review) == []
        clock.move_to(_at(1, 10, 40))
        slack.recover()
        slack.fail("conversations.open", status=200, error="user_not_found", retry_after=None)
        sent = await _send_due(bot)
        assert sent == 1
        await slack.wait_for(lambda: len(_reviews(slack)) == 1)
    statuses = sorted(r.status for r in await _rows(bot, Review))
    assert statuses == ["failed", "sent"]
