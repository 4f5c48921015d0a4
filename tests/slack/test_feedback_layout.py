"""Feedback that fits one screen, and the Details button behind it, through Slack."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.playground.standin import SlackStandIn
from tests.conftest import RunningBot
from tests.slack import payloads as p

TOOLS = "Docker, Kubernetes, MLflow, Prometheus"
PARTIAL = (
    "I would put the model behind an API and monitor latency, and we release it with a canary "
    "first."
)


def sections(message: dict[str, Any]) -> list[str]:
    return [
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and b.get("text")
    ]


def listed(message: dict[str, Any], heading: str) -> list[str]:
    """The bullets under a heading (e.g. "*What worked*"), without the bullet marks."""
    for text in sections(message):
        if text.startswith(heading):
            return [line[2:] for line in text.splitlines()[1:] if line.startswith("• ")]
    return []


def name_of(bullet: str) -> str:
    return bullet.split("*")[1]


def button(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


def visible_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for b in blocks:
        if b.get("text"):
            parts.append(b["text"]["text"])
        parts += [e["text"] for e in b.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts)


def quotes(text: str) -> list[str]:
    return re.findall(r"“([^”]+)”", text)


async def _feedback_for(slack: SlackStandIn, bot: RunningBot, answer: str) -> dict[str, Any]:
    root = await p.ask(slack, bot)
    before = len(slack.posts("drill_feedback"))
    await slack.send_event(bot.url, p.reply(root, answer))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) > before)
    return slack.posts("drill_feedback")[-1]


async def test_a_four_word_answer_gets_a_short_reply(bot: RunningBot, slack: SlackStandIn) -> None:
    """ "Docker, Kubernetes, MLflow, Prometheus": a verdict, two strengths at most, the two
    gaps worth most, one line per mistake and the model answer - and no more."""
    feedback = await _feedback_for(slack, bot, TOOLS)
    text = visible_text(feedback["blocks"])
    assert "A list of tools isn't an answer yet" in text  # the one-line verdict
    assert len(listed(feedback, "*What worked*")) <= 2
    assert len(listed(feedback, "*What to add next*")) == 2
    assert [name_of(m) for m in listed(feedback, "*Mistakes*")] == [
        "Lists tools without saying why"
    ]
    assert "Model 30-second answer" in text
    assert len(feedback["blocks"]) <= 12
    assert len(text) < 1600  # every criterion and tip made it 2,400, with seven bullets to add
    assert text.count(TOOLS) <= 2  # one sentence never stands for more than two criteria


async def test_no_criterion_is_both_a_strength_and_a_gap(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Partial credit is shown once, marked as partial; the gaps are those worth the most."""
    feedback = await _feedback_for(slack, bot, PARTIAL)
    strengths = listed(feedback, "*What worked*")
    gaps = listed(feedback, "*What to add next*")
    assert strengths and gaps
    assert not {name_of(b) for b in strengths} & {name_of(b) for b in gaps}
    question = bot.runtime.bank.get("deploy-ml-models")
    assert question is not None
    text = visible_text(feedback["blocks"])
    for criterion in question.criteria:
        assert text.count(f"*{criterion.name}*") <= 1, criterion.name
    partial = [b for b in strengths + gaps if "(partly" in b]
    assert partial  # it touches serving, rollout and monitoring, none of them in full


async def test_details_opens_every_criterion_with_evidence_and_tips(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """The Details button opens a modal (after the ack) with all criteria, evidence and tips;
    still no quote stands for more than two criteria."""
    feedback = await _feedback_for(
        slack, bot, "I would put the model behind an API and monitor latency. We canary it first."
    )
    value = button(feedback, "drill_details")
    status, _ = await slack.send_action(
        bot.url, "drill_details", value=value, message_ts=str(feedback["_ts"]), user="U0BOB"
    )
    assert status == 200
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    [opened] = slack.calls_to("views.open")
    view = opened.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "modal" and view["title"]["text"] == "Feedback details"
    text = visible_text(view["blocks"])
    question = bot.runtime.bank.get("deploy-ml-models")
    assert question is not None
    for criterion in question.criteria:
        assert criterion.name in text and criterion.tip in text
    assert "<@U0ALICE>'s answer" in text
    criterion_quotes = quotes(text.split("*Common mistakes spotted*")[0])
    assert criterion_quotes and all(criterion_quotes.count(q) <= 2 for q in criterion_quotes)
    assert slack.posts("drill_feedback") == [feedback]  # nothing more in the thread


async def test_details_of_a_deleted_answer_say_so(bot: RunningBot, slack: SlackStandIn) -> None:
    """After forget-me the Details button explains, privately, instead of failing."""
    feedback = await _feedback_for(slack, bot, PARTIAL)
    await slack.send_action(bot.url, "forget_me_confirm", value="confirm")
    await slack.wait_for(lambda: slack.calls_to("respond"))
    await slack.send_action(
        bot.url,
        "drill_details",
        value=button(feedback, "drill_details"),
        response_key="details",
        message_ts=str(feedback["_ts"]),
    )
    await slack.wait_for(
        lambda: [c for c in slack.calls_to("respond") if c.body["_key"] == "details"]
    )
    [said] = [c.body for c in slack.calls_to("respond") if c.body["_key"] == "details"]
    assert "no longer kept" in said["text"] and said["response_type"] == "ephemeral"
    assert slack.calls_to("views.open") == []


async def test_feedback_metadata_keeps_the_contract(bot: RunningBot, slack: SlackStandIn) -> None:
    """The metadata is unchanged by the new layout (plus the bot's own message_key)."""
    feedback = await _feedback_for(slack, bot, PARTIAL)
    meta = feedback["metadata"]
    assert meta["event_type"] == "drill_feedback"
    assert set(meta["event_payload"]) == {
        "question_id",
        "user",
        "score",
        "band",
        "grader",
        "message_key",
    }
