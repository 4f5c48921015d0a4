"""The drill loop end to end: signed requests in, the real app, a stand-in Slack out."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from bot.playground.standin import SlackStandIn
from tests.conftest import RunningBot
from tests.slack import payloads as p


def _reply_text(body: str) -> str:
    """What an ephemeral command reply says (Bolt sends plain text, or JSON with blocks)."""
    if not body.startswith("{"):
        return body
    data = json.loads(body)
    return str(data.get("text", "")) + json.dumps(data.get("blocks", []), ensure_ascii=False)


def _all_text(body: dict) -> str:
    return json.dumps(body.get("blocks", []), ensure_ascii=False) + body.get("text", "")


async def test_command_posts_the_question_top_level_with_metadata(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """/deploy-question deploy-ml-models posts that question as a new thread root."""
    await p.ask(slack, bot, "deploy-ml-models")
    [prompt] = slack.posts("drill_prompt")
    assert prompt["channel"] == "C0DRILL"
    assert "thread_ts" not in prompt
    assert prompt["metadata"]["event_payload"] == {
        "question_id": "deploy-ml-models",
        "source": "command",
        "message_key": "prompt:1",  # the bot's own key, to find the message after a crash
    }
    assert prompt["blocks"][0]["type"] == "header"


async def test_bare_command_posts_a_question_from_the_bank(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """/deploy-question alone picks a question, and a second call picks a different one."""
    await p.ask(slack, bot, "")
    await p.ask(slack, bot, "")
    first, second = (
        m["metadata"]["event_payload"]["question_id"] for m in slack.posts("drill_prompt")
    )
    assert first in bot.runtime.bank.ids()
    assert first != second


async def test_threaded_answer_gets_graded_feedback_in_the_thread(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A reply in the prompt's thread gets feedback there, with score, evidence and a 30-second answer."""
    root = await p.ask(slack, bot)
    status, _ = await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    assert status == 200
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    [feedback] = slack.posts("drill_feedback")
    meta = feedback["metadata"]["event_payload"]
    assert feedback["thread_ts"] == root
    assert meta["question_id"] == "deploy-ml-models"
    assert meta["user"] == "U0ALICE"
    assert meta["grader"] == "rubric"
    assert meta["score"] >= 70 and meta["band"] in ("strong", "solid")
    text = _all_text(feedback)
    assert "30-second" in text
    assert "What worked" in text
    assert "I monitor latency and error rate" in text  # quoted evidence from the answer


async def test_weak_answer_is_told_what_to_add(bot: RunningBot, slack: SlackStandIn) -> None:
    """A thin answer scores weak and the feedback lists missed criteria and mistakes."""
    root = await p.ask(slack, bot)
    await slack.send_event(
        bot.url, p.reply(root, "We use Docker, Kubernetes, MLflow and FastAPI for everything.")
    )
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    [feedback] = slack.posts("drill_feedback")
    assert feedback["metadata"]["event_payload"]["band"] == "weak"
    text = _all_text(feedback)
    assert "What to add next" in text
    assert "Lists tools without saying why" in text


async def test_retried_delivery_is_graded_once(bot: RunningBot, slack: SlackStandIn) -> None:
    """Slack's retry of the same event (same event_id, X-Slack-Retry-Num) yields one feedback."""
    root = await p.ask(slack, bot)
    event = p.reply(root, p.STRONG_ANSWER)
    assert (await slack.send_event(bot.url, event, event_id="Ev0RETRY"))[0] == 200
    assert (await slack.send_event(bot.url, event, event_id="Ev0RETRY", retry_num=1))[0] == 200
    assert (await slack.send_event(bot.url, event, event_id="Ev0OTHER", retry_num=2))[0] == 200
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    # A second, different answer is the marker that the queue has drained.
    await slack.send_event(
        bot.url, p.reply(root, p.STRONG_ANSWER + " Also I log every request.", user="U0BOB")
    )
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= 2)
    users = [m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback")]
    assert sorted(users) == ["U0ALICE", "U0BOB"]


async def test_ignored_messages_get_200_and_no_reply(bot: RunningBot, slack: SlackStandIn) -> None:
    """Own and other bots' messages, edits, deletions, joins, chatter and foreign threads are never graded."""
    root = await p.ask(slack, bot)
    ignored = [
        p.bot_reply(root, own=True),
        p.bot_reply(root, own=False),
        p.edited(root),
        p.deleted(root),
        p.joined(),
        p.top_level(),
        p.reply("1799999999.000001", p.STRONG_ANSWER),  # a thread the bot did not start
    ]
    for event in ignored:
        status, _ = await slack.send_event(bot.url, event)
        assert status == 200, event
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0MARKER"))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    await asyncio.sleep(0.3)
    feedback_users = [m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback")]
    assert feedback_users == ["U0MARKER"]
    assert slack.posts("drill_nudge") == []


async def test_thread_broadcast_reply_is_graded(bot: RunningBot, slack: SlackStandIn) -> None:
    """A reply also sent to the channel is still an answer."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, subtype="thread_broadcast"))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))


async def test_emoji_only_reply_gets_a_polite_nudge(bot: RunningBot, slack: SlackStandIn) -> None:
    """An emoji-only reply is not graded; the thread gets a short nudge with metadata."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, ":thumbsup: :rocket:"))
    await slack.wait_for(lambda: slack.posts("drill_nudge"))
    [nudge] = slack.posts("drill_nudge")
    assert nudge["thread_ts"] == root
    assert nudge["metadata"]["event_payload"] == {
        "question_id": "deploy-ml-models",
        "user": "U0ALICE",
        "reason": "emoji_only",
        "message_key": "nudge:1",
    }
    assert slack.posts("drill_feedback") == []


async def test_help_lists_every_subcommand(bot: RunningBot, slack: SlackStandIn) -> None:
    """help answers ephemerally with the usage of every subcommand."""
    status, body = await slack.send_command(bot.url, "help")
    assert status == 200
    text = _reply_text(body)
    for word in ("schedule", "stats", "leaderboard", "mock", "level", "forget-me", "list"):
        assert word in text
    assert slack.posts() == []


async def test_unknown_question_lists_valid_ids(bot: RunningBot, slack: SlackStandIn) -> None:
    """An unknown id gets a friendly list of valid ids, and nothing is posted."""
    status, body = await slack.send_command(bot.url, "kubernetes-yoga")
    assert status == 200
    text = _reply_text(body)
    assert "kubernetes-yoga" in text and "`deploy-ml-models`" in text
    assert slack.posts() == []


async def test_command_text_containing_payload_still_works(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Bolt parses any form body containing "payload" as {}; our adapter keeps the command."""
    status, body = await slack.send_command(bot.url, "payload")
    assert status == 200
    assert "payload" in _reply_text(body)


async def test_malformed_subcommand_gets_usage(bot: RunningBot, slack: SlackStandIn) -> None:
    """Malformed arguments get a usage reply, never an error."""
    status, body = await slack.send_command(bot.url, "level wizard")
    assert status == 200
    assert "Usage" in _reply_text(body)


async def test_url_verification_returns_the_challenge(bot: RunningBot, slack: SlackStandIn) -> None:
    """Slack's URL check is answered with its challenge."""
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    status, text = await slack.post_to_bot(bot.url, body, "application/json")
    assert status == 200 and "c-123" in text


async def test_health_and_metrics(bot: RunningBot, slack: SlackStandIn) -> None:
    """/healthz is 200 when ready and says when the rubrics are compiled; /metrics counts
    answers in Prometheus text."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    async with aiohttp.ClientSession() as session:
        for _ in range(200):  # the rubrics compile in the background after start
            async with session.get(bot.base + "/healthz") as response:
                assert response.status == 200
                health = await response.json()
            if health["rubrics"] == "ready":
                break
            assert health["rubrics"] == "compiling"
            await asyncio.sleep(0.05)
        assert health == {"status": "ok", "rubrics": "ready"}
        async with session.get(bot.base + "/metrics") as response:
            text = await response.text()
    assert "drill_answers_total 1.0" in text
    assert "drill_graded_total{band=" in text


async def test_level_is_stored_and_used_in_feedback(bot: RunningBot, slack: SlackStandIn) -> None:
    """/deploy-question level staff makes the next feedback say which level it graded for."""
    _, body = await slack.send_command(bot.url, "level staff")
    assert "staff" in _reply_text(body)
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    assert "*staff* level" in _all_text(slack.posts("drill_feedback")[0])


async def test_second_try_in_thread_shows_what_changed(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Answering again after feedback is graded and compared with the previous try."""
    root = await p.ask(slack, bot)
    await slack.send_event(
        bot.url, p.reply(root, "I would put the model behind an API and monitor latency.")
    )
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 2)
    assert "Since your last try" in _all_text(slack.posts("drill_feedback")[1])
