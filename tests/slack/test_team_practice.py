"""Mock interviews, buttons, progress, leaderboard, App Home and the weekly digest, through Slack."""

from __future__ import annotations

import asyncio
import json

from sqlmodel import select

from bot.playground.standin import SlackStandIn
from bot.storage import mock_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import OutboxMessage
from tests.conftest import RunningBot
from tests.slack import payloads as p


async def _outbox(bot: RunningBot) -> list[OutboxMessage]:
    async with unit_of_work(bot.runtime.sessions) as session:
        return list(
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        )


def _text(body: str) -> str:
    return str(json.loads(body)["text"]) if body.startswith("{") else body


async def test_full_mock_interview(bot: RunningBot, slack: SlackStandIn) -> None:
    """Answer, follow-up, answer, follow-up, answer, scorecard - with the metadata contract."""
    root = await p.start_mock(slack, bot, "mock deploy-ml-models")
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_followup"))
    first = slack.posts("drill_followup")[0]
    assert first["thread_ts"] == root
    probed = first["metadata"]["event_payload"]["criterion"]
    assert first["metadata"]["event_payload"]["user"] == "U0ALICE"
    assert probed == "monitoring"  # the heaviest criterion the answer missed
    assert "arrive weeks late" in first["text"]  # the rubric's follow-up for that criterion
    await slack.send_event(
        bot.url, p.reply(root, "Sounds good to me!", user="U0BYSTANDER")
    )  # ignored
    await slack.send_event(bot.url, p.reply(root, p.MONITORING_ANSWER))
    await slack.wait_for(lambda: len(slack.posts("drill_followup")) == 2)
    second = slack.posts("drill_followup")[1]["metadata"]["event_payload"]["criterion"]
    assert second not in ("monitoring", probed)
    await slack.send_event(bot.url, p.reply(root, p.ROLLOUT_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_summary"))
    [summary] = slack.posts("drill_summary")
    meta = summary["metadata"]["event_payload"]
    assert meta["question_id"] == "deploy-ml-models" and meta["user"] == "U0ALICE"
    assert meta["band"] in ("weak", "developing", "solid", "strong")
    rendered = json.dumps(summary["blocks"])
    assert "Improved after probing" in rendered and "Monitors the model" in rendered
    assert "Practise next" in rendered and "30-second" in rendered
    assert slack.posts("drill_feedback") == []  # an interviewer doesn't grade mid-interview


async def test_paired_mock_with_interviewer_rating(bot: RunningBot, slack: SlackStandIn) -> None:
    """The colleague gets the rubric privately, rates through a modal, and the rating shows in the thread."""
    root = await p.start_mock(slack, bot, "mock <@U0BOB|bob>")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    [brief] = slack.calls_to("chat.postEphemeral")
    assert brief.body["user"] == "U0BOB"
    brief_text = json.dumps(brief.body["blocks"])
    assert "What a strong answer covers" in brief_text and "30-second" in brief_text
    mock_id = p.button_value(brief.body["blocks"], "mock_rate")
    await slack.send_event(
        bot.url, p.reply(root, "I don't know, I guess you watch it?", user="U0BOB")
    )  # interviewer
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_followup") or slack.posts("drill_summary"))

    status, _ = await slack.send_action(bot.url, "mock_rate", user="U0BOB", value=mock_id)
    assert status == 200
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    [opened] = slack.calls_to("views.open")
    assert opened.body["view"]["callback_id"] == "mock_rating"
    values = {
        "rating": {"value": {"type": "static_select", "selected_option": {"value": "4"}}},
        "notes": {
            "value": {
                "type": "plain_text_input",
                "value": "Clear structure; add a real <!here> example",
            }
        },
    }
    status, _ = await slack.send_view_submission(
        bot.url, "mock_rating", private_metadata=mock_id, values=values, user="U0BOB"
    )
    assert status == 200
    await slack.wait_for(lambda: slack.posts("drill_rating"))
    [rating] = slack.posts("drill_rating")
    assert rating["thread_ts"] == root
    assert rating["metadata"]["event_payload"]["rating"] == 4
    assert rating["metadata"]["event_payload"]["score"] is not None  # shown beside the bot's score
    assert "<!here>" not in json.dumps(rating["blocks"])
    followups = slack.posts("drill_followup") + slack.posts("drill_summary")
    assert all(m["metadata"]["event_payload"]["user"] == "U0ALICE" for m in followups)


async def test_a_resubmitted_rating_is_posted_once(bot: RunningBot, slack: SlackStandIn) -> None:
    """Submitting the rating modal again (a double click, or the button used twice) stores
    and posts nothing new: the first rating stands and the modal says so."""
    await p.start_mock(slack, bot, "mock <@U0BOB|bob>")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[0].body["blocks"], "mock_rate")
    for rating in ("4", "4", "2"):
        values = {"rating": {"value": {"selected_option": {"value": rating}}}}
        status, body = await slack.send_view_submission(
            bot.url, "mock_rating", private_metadata=mock_id, values=values, user="U0BOB"
        )
        assert status == 200
    assert "already rated" in body
    await slack.wait_for(lambda: slack.posts("drill_rating"))
    await asyncio.sleep(0.5)  # time for a second rating to be posted
    [posted] = slack.posts("drill_rating")
    assert posted["metadata"]["event_payload"]["rating"] == 4
    async with unit_of_work(bot.runtime.sessions) as session:
        mock = await mock_rows.get_mock(session, team="T0TEAM", mock_id=int(mock_id))
    assert mock is not None and mock.rating == 4
    assert [m.kind for m in await _outbox(bot)] == ["prompt", "brief", "rating"]


async def test_rating_by_someone_else_is_refused(bot: RunningBot, slack: SlackStandIn) -> None:
    """Only the named interviewer can rate."""
    await p.start_mock(slack, bot, "mock <@U0BOB|bob>")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[0].body["blocks"], "mock_rate")
    values = {"rating": {"value": {"selected_option": {"value": "5"}}}}
    await slack.send_view_submission(
        bot.url, "mock_rating", private_metadata=mock_id, values=values, user="U0MALLORY"
    )
    async with unit_of_work(bot.runtime.sessions) as session:
        mock = await mock_rows.get_mock(session, team="T0TEAM", mock_id=int(mock_id))
    assert mock is not None and mock.rating is None
    assert [m.kind for m in await _outbox(bot)] == [
        "prompt",
        "brief",
    ]  # nothing queued for the thread


async def test_hint_and_show_answer_buttons(bot: RunningBot, slack: SlackStandIn) -> None:
    """Hint is private; the model answer asks for confirmation until the user has answered."""
    root = await p.ask(slack, bot)
    await slack.send_action(bot.url, "drill_hint", value="deploy-ml-models", message_ts=root)
    await slack.wait_for(lambda: slack.calls_to("respond"))
    hint = slack.calls_to("respond")[-1].body
    assert "Hints" in hint["text"] and hint["response_type"] == "ephemeral"
    await slack.send_action(bot.url, "drill_show_answer", value="deploy-ml-models", message_ts=root)
    await slack.wait_for(lambda: len(slack.calls_to("respond")) == 2)
    assert "before answering" in slack.calls_to("respond")[-1].body["text"]
    await slack.send_action(
        bot.url, "drill_show_answer_confirmed", value="deploy-ml-models", message_ts=root
    )
    await slack.wait_for(lambda: len(slack.calls_to("respond")) == 3)
    assert "Model 30-second answer" in slack.calls_to("respond")[-1].body["text"]
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    await slack.send_action(
        bot.url, "drill_show_answer", value="deploy-ml-models", message_ts=root, user="U0BOB"
    )
    await slack.wait_for(lambda: len(slack.calls_to("respond")) == 4)
    assert (
        "Model 30-second answer" in slack.calls_to("respond")[-1].body["text"]
    )  # answered: no confirmation


async def _seed(slack: SlackStandIn, bot: RunningBot) -> None:
    """Alice answers twice (weak, then strong), Bob once (strong)."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 3)


async def test_stats_reflect_the_seeded_answers(bot: RunningBot, slack: SlackStandIn) -> None:
    """/deploy-question stats counts attempts, average, best, streak, weakest criterion and mistakes."""
    await _seed(slack, bot)
    scores = [
        m["metadata"]["event_payload"]["score"]
        for m in slack.posts("drill_feedback")
        if m["metadata"]["event_payload"]["user"] == "U0ALICE"
    ]
    _, body = await slack.send_command(bot.url, "stats")
    text = _text(body)
    assert "*2* answers" in text
    assert f"average *{sum(scores) / 2:.0f}*" in text and f"best *{max(scores)}*" in text
    assert "*1* drill day in a row" in text
    assert "Weakest criterion" in text and "Most common mistake" in text


async def test_leaderboard_is_opt_in(bot: RunningBot, slack: SlackStandIn) -> None:
    """Only people who joined are ranked; a participation-weighted average orders them."""
    await _seed(slack, bot)
    _, body = await slack.send_command(bot.url, "leaderboard")
    assert "Nobody has joined" in _text(body)
    await slack.send_command(bot.url, "leaderboard join")  # Alice
    _, body = await slack.send_command(bot.url, "leaderboard")
    assert "<@U0ALICE>" in _text(body) and "<@U0BOB>" not in _text(body)
    await slack.send_command(bot.url, "leaderboard join", user="U0BOB")
    _, body = await slack.send_command(bot.url, "leaderboard")
    assert (
        _text(body).index("<@U0") >= 0
        and "(2 answers" in _text(body)
        and "(1 answers" in _text(body)
    )


async def test_weekly_digest_posts_a_chart_with_matching_numbers(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """The digest uploads a PNG and its text numbers match the channel's week."""
    await _seed(slack, bot)
    await slack.send_command(bot.url, "leaderboard join")
    scores = [m["metadata"]["event_payload"]["score"] for m in slack.posts("drill_feedback")]
    assert await bot.runtime.scheduler.post_digest("T0TEAM", "C0DRILL")
    assert not await bot.runtime.scheduler.post_digest("T0TEAM", "C0DRILL")  # once per week
    await slack.wait_for(lambda: slack.calls_to("files.completeUploadExternal"))
    [done] = slack.calls_to("files.completeUploadExternal")
    comment = done.body["initial_comment"]
    assert "*3* answers from *2* people" in comment
    assert f"Average score: *{sum(scores) / 3:.0f}*" in comment
    [png] = slack.uploads.values()
    assert png.startswith(b"\x89PNG")
    assert done.body["channel_id"] == "C0DRILL"
