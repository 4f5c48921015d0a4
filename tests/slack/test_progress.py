"""Progress people can read: stats grouped by question with scores in a stated order, and a
digest whose "most improved" shows when someone improved."""

from __future__ import annotations

import json

from bot.playground.standin import SlackStandIn
from tests.conftest import RunningBot
from tests.slack import payloads as p

ROLLOUT_STRATEGIES_ANSWER = (
    "We start with shadow traffic to compare outputs, then a 5% canary watched on error rate "
    "and the business metric, and an A/B test when we need to prove the lift."
)


async def _stats(slack: SlackStandIn, bot: RunningBot, user: str = "U0ALICE") -> str:
    _, body = await slack.send_command(bot.url, "stats", user=user)
    return str(json.loads(body)["text"]) if body.startswith("{") else body


async def _answer(slack: SlackStandIn, bot: RunningBot, question: str, *answers: str) -> list[int]:
    root = await p.ask(slack, bot, question)
    scores = []
    for answer in answers:
        before = len(slack.posts("drill_feedback"))
        await slack.send_event(bot.url, p.reply(root, answer))
        await slack.wait_for(lambda n=before: len(slack.posts("drill_feedback")) > n)
        scores.append(slack.posts("drill_feedback")[-1]["metadata"]["event_payload"]["score"])
    return scores


async def test_stats_group_criteria_by_question(bot: RunningBot, slack: SlackStandIn) -> None:
    """Each question practised is listed with its own criteria (latest first), not one
    merged list of every question's criteria."""
    await _answer(slack, bot, "deploy-ml-models", p.WEAK_ANSWER)
    await _answer(slack, bot, "rollout-strategies", ROLLOUT_STRATEGIES_ANSWER)
    text = await _stats(slack, bot)
    bank = bot.runtime.bank
    deploy, rollout = bank.get("deploy-ml-models"), bank.get("rollout-strategies")
    assert deploy is not None and rollout is not None
    text = text.split("*By question* (most recently practised first)")[1]
    first, second = text.index(f"*{rollout.title}* - 1 answer"), text.index(f"*{deploy.title}*")
    assert first < second  # the latest first
    for c in rollout.criteria:
        assert first < text.index(c.name) < second, c.name
    for c in deploy.criteria:
        assert text.index(c.name) > second, c.name


async def test_recent_scores_say_their_order(bot: RunningBot, slack: SlackStandIn) -> None:
    """The recent scores are labelled oldest → newest, and are in that order."""
    scores = await _answer(slack, bot, "deploy-ml-models", p.WEAK_ANSWER, p.STRONG_ANSWER)
    assert scores[0] != scores[1]
    text = await _stats(slack, bot)
    assert f"Recent scores, oldest → newest: {scores[0]} → {scores[1]}" in text


async def test_digest_names_the_most_improved_member(bot: RunningBot, slack: SlackStandIn) -> None:
    """A leaderboard member who went from a weak to a strong answer this week is the most
    improved; a member with one answer is never named."""
    await slack.send_command(bot.url, "leaderboard join")
    await slack.send_command(bot.url, "leaderboard join", user="U0BOB")
    await _answer(slack, bot, "deploy-ml-models", p.WEAK_ANSWER, p.STRONG_ANSWER)
    root = await p.ask(slack, bot, "deploy-ml-models")
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 3)
    assert await bot.runtime.scheduler.post_digest("T0TEAM", "C0DRILL")
    await slack.wait_for(lambda: slack.calls_to("files.completeUploadExternal"))
    comment = slack.calls_to("files.completeUploadExternal")[0].body["initial_comment"]
    assert "Most improved: <@U0ALICE>" in comment and "<@U0BOB>" not in comment
