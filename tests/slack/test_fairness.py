""" "Was this fair?" under feedback and scorecards, through Slack: the thumbs, the dispute
form, who may use them, the fallback to plain buttons, sharing, and forget-me."""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any

import sqlalchemy as sa

from bot.grading.versions import grader_version
from bot.playground.blockkit import BlockKitHtml
from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from bot.slack.blocks import SlackMessages
from bot.storage.db import unit_of_work
from bot.storage.tables import CalibrationConsent, GradeVerdict
from tests.conftest import RunningBot
from tests.slack import payloads as p
from tests.slack.test_feedback_layout import PARTIAL
from tests.slack.test_mock_interviews import _interview

SHARE = {"share": {"value": {"type": "checkboxes", "selected_options": [{"value": "share"}]}}}


def form_values(
    levels: dict[str, int],
    *,
    score: str | None = None,
    note: str | None = None,
    share: bool = False,
) -> dict[str, Any]:
    """A dispute form's state as Slack sends it on submission."""
    values: dict[str, Any] = {
        f"crit_{cid}": {"level": {"type": "static_select", "selected_option": {"value": str(lv)}}}
        for cid, lv in levels.items()
    }
    if score is not None:
        values["score"] = {"value": {"type": "number_input", "value": score}}
    if note is not None:
        values["note"] = {"value": {"type": "plain_text_input", "value": note}}
    return values | (SHARE if share else {})


def control(message: dict[str, Any]) -> dict[str, Any]:
    """The feedback buttons element of a posted message."""
    [block] = [b for b in message["blocks"] if b["type"] == "context_actions"]
    [element] = block["elements"]
    assert element["type"] == "feedback_buttons"
    return element


async def feedback_for(
    slack: SlackStandIn, bot: RunningBot, user: str = "U0ALICE", answer: str = PARTIAL
) -> dict[str, Any]:
    root = await p.ask(slack, bot)
    before = len(slack.posts("drill_feedback"))
    await slack.send_event(bot.url, p.reply(root, answer, user=user))
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) > before)
    return slack.posts("drill_feedback")[-1]


def said(slack: SlackStandIn, key: str) -> list[dict[str, Any]]:
    return [c.body for c in slack.calls_to("respond") if c.body.get("_key") == key]


async def thumb(
    slack: SlackStandIn, bot: RunningBot, message: dict[str, Any], up: bool, **kw: Any
) -> None:
    side = "positive_button" if up else "negative_button"
    await slack.send_action(
        bot.url,
        "drill_fair",
        kind="feedback_buttons",
        value=control(message)[side]["value"],
        message_ts=str(message["_ts"]),
        **kw,
    )


async def verdicts(bot: RunningBot) -> list[GradeVerdict]:
    async with unit_of_work(bot.runtime.sessions) as session:
        return list((await session.execute(sa.select(GradeVerdict))).scalars().all())


async def dispute(
    slack: SlackStandIn,
    bot: RunningBot,
    feedback: dict[str, Any],
    values: dict[str, Any],
    **kw: Any,
) -> tuple[int, str]:
    """Thumbs down, then submit the form that opens with `values`."""
    opened = len(slack.calls_to("views.open"))
    await thumb(slack, bot, feedback, False, response_key="down", **kw)
    await slack.wait_for(lambda: len(slack.calls_to("views.open")) > opened)
    form = slack.calls_to("views.open")[-1].body["view"]
    return await slack.send_view_submission(
        bot.url,
        "drill_dispute",
        private_metadata=form["private_metadata"],
        values=values,
        **kw,
    )


async def test_every_feedback_and_scorecard_asks_was_this_fair(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Feedback ends with Slack's feedback buttons (thumbs up and down, accessible labels);
    the scorecard of a mock interview too, keyed to the interview."""
    feedback = await feedback_for(slack, bot)
    element = control(feedback)
    attempt = feedback["metadata"]["event_payload"]["message_key"].split(":")[1]
    assert element["positive_button"]["value"] == f"up:attempt:{attempt}"
    assert element["negative_button"]["value"] == f"down:attempt:{attempt}"
    assert "fair" in element["negative_button"]["accessibility_label"]
    assert feedback["blocks"][-1]["type"] == "context_actions"

    summary = await _interview(slack, bot, await p.start_mock(slack, bot, "mock deploy-ml-models"))
    assert control(summary)["positive_button"]["value"].startswith("up:mock:")
    for followup in slack.posts("drill_followup"):
        assert "context_actions" not in json.dumps(followup["blocks"])
    # The scorecard's dispute is stored against the interview and its last answer.
    await thumb(slack, bot, summary, False, response_key="card")
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    form = slack.calls_to("views.open")[-1].body["view"]
    [story] = [b for b in form["blocks"] if b.get("block_id") == "crit_story"]
    chosen = int(story["element"]["options"][0]["value"])  # a level the scorecard did not give
    status, _ = await slack.send_view_submission(
        bot.url,
        "drill_dispute",
        private_metadata=form["private_metadata"],
        values=form_values({"story": chosen}),
    )
    assert status == 200
    [verdict] = await verdicts(bot)
    assert verdict.mock_id is not None and not verdict.fair
    assert verdict.score == summary["metadata"]["event_payload"]["score"]
    assert json.loads(verdict.disputed) == {"story": chosen}


async def test_thumbs_up_is_recorded_and_thanked_privately(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Up records the verdict against the answer, its grader, grader version and rubric
    version; the author is thanked with an ephemeral reply and nothing is posted."""
    feedback = await feedback_for(slack, bot)
    posted = len(slack.posts())
    await thumb(slack, bot, feedback, True, response_key="up")
    await slack.wait_for(lambda: said(slack, "up"))
    [thanks] = said(slack, "up")
    assert thanks["response_type"] == "ephemeral" and thanks["replace_original"] is False
    assert "Thanks" in thanks["text"] and "fair" in thanks["text"]
    [verdict] = await verdicts(bot)
    payload = feedback["metadata"]["event_payload"]
    assert verdict.fair and verdict.user == "U0ALICE" and verdict.team == "T0TEAM"
    assert f"feedback:{verdict.attempt_id}" == payload["message_key"]
    assert verdict.grader == payload["grader"] == "rubric"
    assert verdict.grader_version == grader_version("rubric") != "rubric"  # the model's hash
    question = bot.runtime.bank.get("deploy-ml-models")
    assert question is not None and verdict.rubric_version == question.version
    assert verdict.score == payload["score"]
    assert len(slack.posts()) == posted


async def test_thumbs_down_opens_the_form_and_stores_the_dispute(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Down opens a form listing every criterion with the level given (not offered again);
    the criteria marked, the score and the note are stored, the author is thanked privately,
    and the thread is left as it was."""
    feedback = await feedback_for(slack, bot)
    posted = len(slack.posts())
    await thumb(slack, bot, feedback, False, response_key="down")
    await slack.wait_for(lambda: slack.calls_to("views.open"))
    form = slack.calls_to("views.open")[0].body["view"]
    assert form["callback_id"] == "drill_dispute"
    question = bot.runtime.bank.get("deploy-ml-models")
    assert question is not None
    criteria = {
        b["block_id"]: b for b in form["blocks"] if b.get("block_id", "").startswith("crit_")
    }
    assert set(criteria) == {f"crit_{c.id}" for c in question.criteria}
    [down] = await verdicts(bot)  # the thumbs down counts at once, form or not
    assert not down.fair and json.loads(down.disputed) == {}
    given = json.loads(down.levels)
    for cid, block in criteria.items():
        offered = {o["value"] for o in block["element"]["options"]}
        assert str(given[cid.removeprefix("crit_")]) not in offered and len(offered) == 2

    wanted = {"monitoring": (given["monitoring"] + 1) % 3, "story": (given["story"] + 1) % 3}
    values = form_values(wanted, score="70", note="I did say we watch drift.", share=True)
    status, body = await slack.send_view_submission(
        bot.url, "drill_dispute", private_metadata=form["private_metadata"], values=values
    )
    assert status == 200 and body == ""  # the form closes
    await slack.wait_for(lambda: len(said(slack, "down")) == 1)
    [thanks] = said(slack, "down")
    assert thanks["response_type"] == "ephemeral"
    assert "2 criteria and your score" in thanks["text"] and "stays as it is" in thanks["text"]
    [verdict] = await verdicts(bot)
    assert not verdict.fair and verdict.proposed_score == 70
    assert json.loads(verdict.disputed) == wanted
    assert verdict.note == "I did say we watch drift."
    async with unit_of_work(bot.runtime.sessions) as session:
        shared = (await session.execute(sa.select(CalibrationConsent.user))).scalars().all()
    assert shared == ["U0ALICE"]  # ticked in the form
    # A second thumbs down keeps what was said, and the form shows it again to change.
    await thumb(slack, bot, feedback, False, response_key="again")
    await slack.wait_for(lambda: len(slack.calls_to("views.open")) == 2)
    again = {b.get("block_id"): b for b in slack.calls_to("views.open")[1].body["view"]["blocks"]}
    assert again["note"]["element"]["initial_value"] == "I did say we watch drift."
    assert again["score"]["element"]["initial_value"] == "70"
    assert again["crit_story"]["element"]["initial_option"]["value"] == str(wanted["story"])
    assert again["share"]["element"]["initial_options"][0]["value"] == "share"
    [verdict] = await verdicts(bot)
    assert json.loads(verdict.disputed) == wanted and verdict.proposed_score == 70
    await asyncio.sleep(0.3)
    assert len(slack.posts()) == posted


async def test_the_form_asks_for_something_and_a_real_score(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """An empty form, or a score outside 0-100, is answered with the error beside the field."""
    feedback = await feedback_for(slack, bot)
    status, body = await dispute(slack, bot, feedback, {})
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    assert "Mark a criterion" in json.dumps(json.loads(body)["errors"])
    status, body = await dispute(slack, bot, feedback, form_values({}, score="150"))
    assert json.loads(body)["errors"] == {
        "score": "A whole number from 0 to 100, or leave it empty."
    }
    [verdict] = await verdicts(bot)
    assert verdict.proposed_score is None


async def test_only_the_author_may_judge_their_grade(bot: RunningBot, slack: SlackStandIn) -> None:
    """Anyone else clicking the thumbs is told so privately; nothing is recorded, no form."""
    feedback = await feedback_for(slack, bot)
    await thumb(slack, bot, feedback, True, user="U0BOB", response_key="bob-up")
    await thumb(slack, bot, feedback, False, user="U0BOB", response_key="bob-down")
    await slack.wait_for(lambda: said(slack, "bob-up") and said(slack, "bob-down"))
    for reply in said(slack, "bob-up") + said(slack, "bob-down"):
        assert reply["response_type"] == "ephemeral"
        assert "Only the person who answered" in reply["text"]
    assert slack.calls_to("views.open") == []
    assert await verdicts(bot) == []
    # Nor may a form be forged: the use case checks the author again.
    status, _ = await slack.send_view_submission(
        bot.url,
        "drill_dispute",
        private_metadata=json.dumps({"key": "attempt:1", "url": None}),
        values=form_values({"story": 2}, note="mine now"),
        user="U0BOB",
    )
    assert status == 200 and await verdicts(bot) == []


async def test_another_workspace_cannot_judge_this_ones_grades(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """The same user id in another workspace finds no such answer there."""
    feedback = await feedback_for(slack, bot)
    await thumb(slack, bot, feedback, True, team="T0OTHER", response_key="other")
    await slack.wait_for(lambda: said(slack, "other"))
    assert "no longer kept" in said(slack, "other")[0]["text"]
    assert await verdicts(bot) == []


async def test_a_slack_without_feedback_buttons_gets_plain_buttons(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A post refused with invalid_blocks goes out again at once with two plain buttons
    beside Details, and the workspace's later feedback goes plain straight away; the plain
    buttons work like the thumbs."""
    slack.feedback_buttons = False
    first = await feedback_for(slack, bot)
    second = await feedback_for(slack, bot, user="U0BOB")
    refused = [c for c in slack.calls_to("chat.postMessage") if not c.body.get("_ok")]
    assert len(refused) == 1  # only the first feedback tried the element
    for message in (first, second):
        kinds = [b["type"] for b in message["blocks"]]
        assert "context_actions" not in kinds
        [row] = [b for b in message["blocks"] if b.get("block_id") == "drill_details"]
        assert [e["action_id"] for e in row["elements"]] == [
            "drill_details",
            "drill_fair_up",
            "drill_fair_down",
        ]
    up = p.button_value(first["blocks"], "drill_fair_up")
    await slack.send_action(bot.url, "drill_fair_up", value=up, response_key="plain")
    await slack.wait_for(lambda: said(slack, "plain"))
    [verdict] = await verdicts(bot)
    assert verdict.fair and verdict.user == "U0ALICE"


def test_the_setting_chooses_plain_buttons(bank: Any) -> None:
    """FEEDBACK_BUTTONS=plain: the renderer puts plain buttons beside Details from the start."""
    from bot.grading.grade import Grade, Length

    question = bank.get("deploy-ml-models")
    grade = Grade(
        question_id=question.id,
        rubric_version=question.version,
        grader="rubric",
        score=50,
        band="developing",
        criteria=(),
        mistakes=(),
        length=Length(10, 5, 90, None),
        model_answer_30s="Model answer.",
    )
    native = SlackMessages().feedback(
        question, grade, user="U1", previous=None, details="attempt:3"
    )
    plain = SlackMessages(fairness="plain").feedback(
        question, grade, user="U1", previous=None, details="attempt:3"
    )
    assert native["blocks"][-1]["type"] == "context_actions"
    assert len(plain["blocks"]) == len(native["blocks"]) - 1
    assert p.button_value(plain["blocks"], "drill_fair_down") == "down:attempt:3"
    # Without a Details key there is nothing to judge: no control.
    bare = SlackMessages().feedback(question, grade, user="U1", previous=None)
    assert "drill_fair" not in json.dumps(bare)


async def test_share_on_off_and_status(bot: RunningBot, slack: SlackStandIn) -> None:
    """`/deploy-question share on|off|status` sets and tells the opt-in; anything else gets
    the usage line."""
    assert "Sharing is off (it was already)" in await slack.command_reply(bot.url, "share status")
    assert "Sharing is on:" in await slack.command_reply(bot.url, "share on")
    assert "Sharing is on (it was already)" in await slack.command_reply(bot.url, "share on")
    assert "Sharing is on" in await slack.command_reply(bot.url, "share status")
    assert "Sharing is off:" in await slack.command_reply(bot.url, "share off")
    reply = await slack.command_reply(bot.url, "share maybe")
    assert "/deploy-question share on|off|status" in reply


async def test_forget_me_removes_disputes_and_consent(bot: RunningBot, slack: SlackStandIn) -> None:
    """forget-me deletes the person's verdicts and their opt-in, and no one else's."""
    alice = await feedback_for(slack, bot)
    bob = await feedback_for(slack, bot, user="U0BOB")
    await dispute(slack, bot, alice, form_values({}, note="unfair", share=True))
    await thumb(slack, bot, bob, True, user="U0BOB", response_key="bob")
    await slack.command_reply(bot.url, "share on", user="U0BOB")
    await slack.wait_for(lambda: said(slack, "bob"))
    assert {v.user for v in await verdicts(bot)} == {"U0ALICE", "U0BOB"}
    await slack.send_action(bot.url, "forget_me_confirm", value="confirm", response_key="forget")
    await slack.wait_for(lambda: said(slack, "forget"))
    assert {v.user for v in await verdicts(bot)} == {"U0BOB"}
    async with unit_of_work(bot.runtime.sessions) as session:
        shared = (await session.execute(sa.select(CalibrationConsent.user))).scalars().all()
    assert shared == ["U0BOB"]
    assert "Sharing is off" in await slack.command_reply(bot.url, "share status")


def _drawn_actions(message_html: str) -> list[dict[str, Any]]:
    """The actions the playground page would send for each feedback thumb it drew."""
    found = re.findall(r'class="bk-button bk-feedback" data-action="([^"]+)"', message_html)
    return [json.loads(html.unescape(a)) for a in found]


async def test_in_the_playground_the_thumbs_are_drawn_and_work(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """The page draws the feedback buttons; clicking 👎 opens the form in the person's Slack,
    and submitting it shows the thanks only to them."""
    await people.run_command("U0ALICE", "/deploy-question deploy-ml-models")
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    root = str(slack.posts("drill_prompt")[-1]["_ts"])
    await p.wait_recorded(bot, root)
    await people.say("U0ALICE", PARTIAL, thread_ts=root)
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    ts = str(slack.posts("drill_feedback")[-1]["_ts"])
    message = people.workspace.message(ts)
    assert message is not None
    up, down = _drawn_actions(BlockKitHtml().message(message.text, message.blocks, []))
    assert up["type"] == down["type"] == "feedback_buttons"
    assert up["value"].startswith("up:attempt:") and down["value"].startswith("down:attempt:")
    await people.act("U0ALICE", down, ts=ts)
    await slack.wait_for(lambda: people.workspace.modals.get("U0ALICE"))
    [form] = people.workspace.modals["U0ALICE"]
    assert form["callback_id"] == "drill_dispute"
    assert await people.submit("U0ALICE", form["id"], form_values({}, note="Too harsh")) == {}

    def thanked() -> bool:
        return any("I've recorded your note" in m.text for m in people.workspace.messages)

    await slack.wait_for(thanked)
    [thanks] = [m for m in people.workspace.messages if "I've recorded your note" in m.text]
    assert thanks.ephemeral_to == "U0ALICE"


async def test_admins_see_the_most_disputed_criteria_on_the_home(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """The App Home's admin section lists the top disputed criteria; others never see it."""
    feedback = await feedback_for(slack, bot, user="U0BOB")
    await dispute(slack, bot, feedback, form_values({"monitoring": 2}), user="U0BOB")
    await people.open_home("U0ALICE")
    await slack.wait_for(lambda: "U0ALICE" in people.workspace.home)
    text = json.dumps(people.workspace.home["U0ALICE"]["blocks"], ensure_ascii=False)
    assert "Most disputed criteria" in text
    assert "1. *Monitors the model, not just the server* in _How do you deploy ML models" in text
    assert "1 of 1 grades disputed (100%)" in text
    await people.open_home("U0BOB")
    await slack.wait_for(lambda: "U0BOB" in people.workspace.home)
    assert "Most disputed" not in json.dumps(people.workspace.home["U0BOB"]["blocks"])
