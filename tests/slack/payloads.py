"""Builders for the Slack payloads the tests send, shaped as Slack sends them."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from bot.playground.standin import BOT_ID, BOT_USER_ID, SlackStandIn
from bot.storage import prompt_rows, review_rows
from bot.storage.db import unit_of_work

_ts = itertools.count(1)

STRONG_ANSWER = (
    "First I pin down the use case: is this batch or real-time, what latency budget we have, "
    "and what happens if the model is down. Then I package the model artifact together with its "
    "preprocessing code in a Docker image with pinned dependencies, versioned in a registry with "
    "the training data version. I serve it behind an API because the product needs answers in "
    "under 100 ms. Before release I validate the input schema and null rates and compare the "
    "candidate with the current model on a holdout set. We roll out with shadow traffic, then a "
    "5% canary with a rule-based fallback. After launch I monitor latency and error rate plus "
    "feature drift, the prediction distribution and the business KPI, with alerts. If metrics "
    "degrade we roll back to the previous version, which we keep warm, and we retrain monthly. "
    "At my last job I did this for a churn model; the shadow run caught an encoding bug and as a "
    "result the retention team got scores a day earlier."
)

# Partial answers for mock interviews: thin, then each covering what a follow-up probes.
WEAK_ANSWER = "I would put the model in a Docker container and expose it through an API endpoint."
MONITORING_ANSWER = (
    "After launch I monitor latency and error rate, feature drift and the prediction distribution, "
    "and I alert on the business KPI because labels arrive weeks later."
)
ROLLOUT_ANSWER = (
    "I would send shadow traffic first, then a 5% canary, with a rule-based fallback and "
    "a rollback to the previous version if the metrics degrade."
)


def message_ts() -> str:
    return f"1800000000.{next(_ts):06d}"


def reply(
    thread_ts: str,
    text: str,
    *,
    user: str = "U0ALICE",
    channel: str = "C0DRILL",
    ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A user's reply in a thread (message.channels event)."""
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or message_ts(),
        "thread_ts": thread_ts,
        "channel_type": "channel",
        **extra,
    }


def bot_reply(thread_ts: str, *, own: bool = True) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "bot_message" if not own else None,
        "channel": "C0DRILL",
        "user": BOT_USER_ID if own else None,
        "bot_id": BOT_ID if own else "B0OTHERBOT",
        "text": "beep",
        "ts": message_ts(),
        "thread_ts": thread_ts,
    }


def edited(thread_ts: str) -> dict[str, Any]:
    ts = message_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0DRILL",
        "hidden": True,
        "ts": message_ts(),
        "message": {
            "type": "message",
            "user": "U0ALICE",
            "text": "edited answer",
            "ts": ts,
            "thread_ts": thread_ts,
        },
    }


def deleted(thread_ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "C0DRILL",
        "hidden": True,
        "ts": message_ts(),
        "deleted_ts": thread_ts,
        "previous_message": {"type": "message", "user": "U0ALICE", "text": "x", "ts": thread_ts},
    }


def joined() -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "channel_join",
        "channel": "C0DRILL",
        "user": "U0BOB",
        "text": "<@U0BOB> has joined the channel",
        "ts": message_ts(),
    }


def top_level(text: str = "anyone up for lunch?") -> dict[str, Any]:
    return {
        "type": "message",
        "channel": "C0DRILL",
        "user": "U0BOB",
        "text": text,
        "ts": message_ts(),
    }


async def ask(slack: SlackStandIn, bot: Any, text: str = "deploy-ml-models", **kwargs: Any) -> str:
    """Run /deploy-question; return the prompt's ts once the bot has recorded it as posted."""
    before = len(slack.posts("drill_prompt"))
    status, _ = await slack.send_command(bot.url, text, **kwargs)
    assert status == 200
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) > before)
    ts = str(slack.posts("drill_prompt")[-1]["_ts"])
    await wait_recorded(
        bot, ts, team=kwargs.get("team") or slack.team_id, channel=kwargs.get("channel", "C0DRILL")
    )
    return ts


async def wait_recorded(
    bot: Any, ts: str, *, team: str = "T0TEAM", channel: str = "C0DRILL"
) -> None:
    """Wait until the bot has recorded its prompt `ts` as posted (replies are matched on it)."""
    for _ in range(200):
        async with unit_of_work(bot.runtime.sessions) as session:
            if await prompt_rows.prompt_for_thread(session, team=team, channel=channel, thread_ts=ts):
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never recorded its prompt as posted")


async def start_mock(slack: SlackStandIn, bot: Any, text: str, user: str = "U0ALICE") -> str:
    """Run /deploy-question mock …; return the interview's root ts once recorded as posted."""
    before = len(slack.posts("drill_prompt"))
    status, body = await slack.send_command(bot.url, text, user=user)
    assert status == 200, body
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) > before)
    prompt = slack.posts("drill_prompt")[-1]
    assert prompt["metadata"]["event_payload"]["source"] == "mock"
    ts = str(prompt["_ts"])
    await wait_recorded(bot, ts)
    return ts


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of the button with this action id in a message's blocks."""
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


async def review_ts(bot: Any, *, user: str = "U0BOB", team: str = "T0TEAM") -> str:
    """The ts of `user`'s newest spaced-review DM, once the bot has recorded it as sent
    (replies in its thread are matched on it)."""
    for _ in range(300):
        async with unit_of_work(bot.runtime.sessions) as session:
            reviews = await review_rows.reviews_of(session, team=team, user=user, limit=1)
            keys = [f"review:{r.id}" for r in reviews]
            posted = await review_rows.posted_ts(session, keys)
        if keys and keys[0] in posted:
            return posted[keys[0]][1]
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never recorded the review as sent")
