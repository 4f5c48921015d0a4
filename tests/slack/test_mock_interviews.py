"""Mock interviews without surprises: a closed thread after the scorecard, one score
everywhere, a brief that stands on its own, and buttons that can't be used twice."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from tests.conftest import RunningBot
from tests.slack import payloads as p
from tests.slack.test_feedback_layout import listed, name_of, visible_text


async def _interview(slack: SlackStandIn, bot: RunningBot, root: str) -> dict[str, Any]:
    """Alice answers, and answers both follow-ups; returns the scorecard."""
    for turn, answer in enumerate((p.WEAK_ANSWER, p.MONITORING_ANSWER, p.ROLLOUT_ANSWER)):
        await slack.send_event(bot.url, p.reply(root, answer))
        if turn < 2:
            await slack.wait_for(lambda n=turn: len(slack.posts("drill_followup")) > n)
    await slack.wait_for(lambda: slack.posts("drill_summary"))
    [summary] = slack.posts("drill_summary")
    return summary


async def _stats(slack: SlackStandIn, bot: RunningBot, user: str) -> str:
    _, body = await slack.send_command(bot.url, "stats", user=user)
    return str(json.loads(body)["text"]) if body.startswith("{") else body


def _respond(slack: SlackStandIn, key: str) -> list[dict[str, Any]]:
    return [c.body for c in slack.calls_to("respond") if c.body.get("_key") == key]


async def test_replies_after_the_scorecard_are_not_graded(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """After the scorecard the thread is closed: one kind note offering another mock, and
    nothing said later (by the interviewer or the candidate) is graded or counted."""
    root = await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    summary = await _interview(slack, bot, root)
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER, user="U0BOB"))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.send_event(bot.url, p.reply(root, "One more thing: " + p.ROLLOUT_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_nudge"))
    await asyncio.sleep(0.6)  # time for anything else to be posted
    [closed] = slack.posts("drill_nudge")
    assert closed["thread_ts"] == root
    assert closed["metadata"]["event_payload"]["reason"] == "mock_finished"
    assert closed["metadata"]["event_payload"]["user"] == "U0BOB"  # the first to reply after
    assert "/deploy-question mock" in closed["text"] and "finished" in closed["text"]
    assert slack.posts("drill_feedback") == [] and len(slack.posts("drill_summary")) == 1
    alice = await _stats(slack, bot, "U0ALICE")
    assert "• *1* mock interview · average" in alice  # not three answers: one interview
    score = summary["metadata"]["event_payload"]["score"]
    assert f"best *{score}*" in alice and f"oldest → newest: {score}" in alice
    assert "No graded answers yet" in await _stats(slack, bot, "U0BOB")


async def test_a_reply_racing_the_scorecard_is_not_graded(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A reply sent right after the last answer, stored before the scorecard was made, is
    not graded either: one scorecard, one closing note, no feedback."""
    root = await p.start_mock(slack, bot, "mock deploy-ml-models")
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_followup"))
    await slack.send_event(bot.url, p.reply(root, p.MONITORING_ANSWER))
    await slack.wait_for(lambda: len(slack.posts("drill_followup")) == 2)
    await slack.send_event(bot.url, p.reply(root, p.ROLLOUT_ANSWER))
    await slack.send_event(bot.url, p.reply(root, p.STRONG_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_summary") and slack.posts("drill_nudge"))
    await asyncio.sleep(0.5)
    assert len(slack.posts("drill_summary")) == 1 and len(slack.posts("drill_nudge")) == 1
    assert slack.posts("drill_feedback") == []


async def test_practise_next_never_lists_what_the_scorecard_met(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """The scorecard follows the feedback's rules; its Details show each criterion's best level,
    and nothing under Practise next is met there."""
    root = await p.start_mock(slack, bot, "mock deploy-ml-models")
    summary = await _interview(slack, bot, root)
    practise = [name_of(b) for b in listed(summary, "*Practise next*")]
    strengths = [name_of(b) for b in listed(summary, "*What worked*")]
    assert 1 <= len(practise) <= 2 and len(strengths) <= 2
    assert not set(practise) & set(strengths)
    await slack.send_action(
        bot.url, "drill_details", value=p.button_value(summary["blocks"], "drill_details")
    )
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    view = slack.calls_to("views.open")[0].body["view"]
    assert view["title"]["text"] == "Scorecard details"
    text = visible_text(view["blocks"])
    met = set(re.findall(r":white_check_mark: \*([^*]+)\*", text))
    assert met and not met & set(practise)
    assert f"*{summary['metadata']['event_payload']['score']}/100*" in text


async def test_a_paired_mock_has_one_score(bot: RunningBot, slack: SlackStandIn) -> None:
    """Rated mid-interview, the rating promises the scorecard instead of a score of its own;
    rated after it, it shows the scorecard's score."""
    root = await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[0].body["blocks"], "mock_rate")
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER))
    await slack.wait_for(lambda: slack.posts("drill_followup"))
    values = {"rating": {"value": {"selected_option": {"value": "3"}}}}
    await slack.send_view_submission(
        bot.url, "mock_rating", private_metadata=mock_id, values=values, user="U0BOB"
    )
    await slack.wait_for(lambda: slack.posts("drill_rating"))
    [early] = slack.posts("drill_rating")
    assert early["metadata"]["event_payload"]["score"] is None
    assert "scorecard follows" in visible_text(early["blocks"])

    root = await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    await slack.wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) == 2)
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[1].body["blocks"], "mock_rate")
    for turn, answer in enumerate((p.WEAK_ANSWER, p.MONITORING_ANSWER, p.ROLLOUT_ANSWER)):
        await slack.send_event(bot.url, p.reply(root, answer))
        if turn < 2:
            await slack.wait_for(lambda n=turn: len(slack.posts("drill_followup")) > n + 1)
    await slack.wait_for(lambda: slack.posts("drill_summary"))
    [summary] = slack.posts("drill_summary")
    await slack.send_view_submission(
        bot.url, "mock_rating", private_metadata=mock_id, values=values, user="U0BOB"
    )
    await slack.wait_for(lambda: len(slack.posts("drill_rating")) == 2)
    rating = slack.posts("drill_rating")[1]
    score = summary["metadata"]["event_payload"]["score"]
    assert rating["metadata"]["event_payload"]["score"] == score
    assert f"scorecard: *{score}/100*" in visible_text(rating["blocks"])
    assert summary["blocks"][0]["text"]["text"].startswith(f"Mock interview scorecard: {score}/100")


async def test_the_interviewer_brief_stands_on_its_own(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Each criterion says what partly and fully meeting it look like, so a full-marks line
    that says "those stages" has the stages right above it."""
    await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-by-seniority")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    text = visible_text(slack.calls_to("chat.postEphemeral")[0].body["blocks"])
    question = bot.runtime.bank.get("deploy-by-seniority")
    assert question is not None
    for c in question.criteria:
        assert c.levels.l1 in text and c.levels.l2 in text, c.id
    stages = text.index("package, serve, check, release, watch, undo")
    assert stages < text.index("four or more of those stages") < text.index("Hints you can give")
    assert text.index("three or more of those four") > text.index("a standard platform")


async def test_the_rate_button_gives_way_to_the_rating(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Rate opens the form; once the rating is posted, the brief shows it instead of the
    button, and a stale copy of the button says it was rated rather than opening the form."""
    await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[0].body["blocks"], "mock_rate")
    await slack.send_action(bot.url, "mock_rate", user="U0BOB", value=mock_id, response_key="brief")
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    form = slack.calls_to("views.open")[0].body["view"]
    values = {"rating": {"value": {"selected_option": {"value": "4"}}}}
    status, _ = await slack.send_view_submission(
        bot.url,
        "mock_rating",
        private_metadata=form["private_metadata"],
        values=values,
        user="U0BOB",
    )
    assert status == 200
    await slack.wait_for(lambda: _respond(slack, "brief"))
    [updated] = _respond(slack, "brief")
    assert updated["replace_original"] is True
    assert "mock_rate" not in json.dumps(updated["blocks"])
    assert "You rated <@U0ALICE> *4/5*" in visible_text(updated["blocks"])
    assert "What a strong answer covers" in visible_text(updated["blocks"])  # the brief stays

    await slack.send_action(bot.url, "mock_rate", user="U0BOB", value=mock_id, response_key="old")
    await slack.wait_for(lambda: _respond(slack, "old"))
    [stale] = _respond(slack, "old")
    assert stale["replace_original"] is True and "mock_rate" not in json.dumps(stale["blocks"])
    assert len(slack.calls_to("views.open")) == 1  # no second form


async def test_someone_elses_rate_button_says_why_nothing_happens(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Only the named interviewer rates; anyone else is told so, privately, and no form opens."""
    await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    await slack.wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    mock_id = p.button_value(slack.calls_to("chat.postEphemeral")[0].body["blocks"], "mock_rate")
    await slack.send_action(
        bot.url, "mock_rate", user="U0MALLORY", value=mock_id, response_key="mallory"
    )
    await slack.wait_for(lambda: _respond(slack, "mallory"))
    [said] = _respond(slack, "mallory")
    assert said["response_type"] == "ephemeral" and said.get("replace_original") is False
    assert "Only <@U0BOB> can rate this mock interview" in said["text"]
    await asyncio.sleep(0.3)
    assert slack.calls_to("views.open") == []


async def test_show_it_anyway_replaces_the_confirmation(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Pressing "Show it anyway" turns the confirmation into the model answer (no second press)."""
    root = await p.ask(slack, bot)
    await slack.send_action(
        bot.url, "drill_show_answer", value="deploy-ml-models", message_ts=root, response_key="ask"
    )
    await slack.wait_for(lambda: _respond(slack, "ask"))
    [confirm] = _respond(slack, "ask")
    assert p.button_value(confirm["blocks"], "drill_show_answer_confirmed") == "deploy-ml-models"
    await slack.send_action(
        bot.url, "drill_show_answer_confirmed", value="deploy-ml-models", response_key="anyway"
    )
    await slack.wait_for(lambda: _respond(slack, "anyway"))
    [shown] = _respond(slack, "anyway")
    assert shown["replace_original"] is True and "Model 30-second answer" in shown["text"]
    assert "drill_show_answer_confirmed" not in json.dumps(shown.get("blocks") or [])


async def test_a_staff_mock_pushes_back_before_moving_on(
    bot: RunningBot, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """On a staff question the interviewer probes one point, then pushes back on it twice
    (the criterion's push-backs) before the scorecard."""
    question = bank.get("staff-should-we-ship-ml")
    assert question is not None
    root = await p.start_mock(slack, bot, "mock staff-should-we-ship-ml")
    await slack.send_event(bot.url, p.reply(root, "I would train a model and ship it."))
    for turn in range(3):
        await slack.wait_for(lambda n=turn: len(slack.posts("drill_followup")) > n)
        if turn < 2:
            await slack.send_event(bot.url, p.reply(root, "We would look at the numbers."))
    await slack.send_event(bot.url, p.reply(root, "And then decide together."))
    await slack.wait_for(lambda: slack.posts("drill_summary"))
    probes = slack.posts("drill_followup")
    criteria = {m["metadata"]["event_payload"]["criterion"] for m in probes}
    assert len(probes) == 3 and len(criteria) == 1  # one point, three levels deep
    criterion = question.criterion(criteria.pop())
    assert criterion.follow_up in probes[0]["text"]
    for probe, push_back in zip(probes[1:], criterion.push_backs, strict=True):
        assert "push on that" in probe["text"] and push_back in probe["text"]
