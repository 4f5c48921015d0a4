"""The App Home through Slack: a dashboard of buttons, past answers, the weakest criterion,
and the admins' schedules and team view - every click a signed block_actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from bot.playground.localclient import LocalClient
from bot.playground.standin import SlackStandIn
from bot.storage.db import unit_of_work
from bot.storage.tables import Schedule
from tests.conftest import RunningBot
from tests.slack import payloads as p

WEAK = "I would put the model in a Docker container and expose it through an API endpoint."


def _buttons(view: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Buttons by action id (a schedule's buttons repeat per schedule)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found.setdefault(element["action_id"], []).append(element)
    return found


async def _home(
    people: LocalClient, user: str, until: Callable[[dict[str, Any]], bool] = lambda _: True
) -> dict[str, Any]:
    """The user's Home once it satisfies `until` (opened first if it never was)."""
    if user not in people.workspace.home:
        await people.open_home(user)
    ws = people.workspace
    await people.standin.wait_for(lambda: user in ws.home and until(ws.home[user]))
    return ws.home[user]


async def _click(
    people: LocalClient, user: str, view: dict[str, Any], action_id: str, value: str | None = None
) -> None:
    button = next(b for b in _buttons(view)[action_id] if value is None or b.get("value") == value)
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": "b",
        "value": button.get("value"),
    }
    await people.act(user, action, view_id=view["id"])


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def _answer(people: LocalClient, slack: SlackStandIn, bot: RunningBot, *answers: str) -> str:
    root = await p.ask(slack, bot, user="U0BOB")
    before = len(slack.posts("drill_feedback"))
    for answer in answers:
        await people.say("U0BOB", answer, thread_ts=root)
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == before + len(answers))
    return root


async def _schedules(bot: RunningBot) -> list[Schedule]:
    async with unit_of_work(bot.runtime.sessions) as session:
        return list((await session.execute(select(Schedule).order_by(Schedule.id))).scalars())


async def test_the_home_is_a_dashboard_of_buttons(people: LocalClient) -> None:
    """Next drill, a mock, the weakest criterion and past answers; no help text, no admin
    section for a member; before any practice it says where the buttons will post."""
    view = await _home(people, "U0BOB")
    assert {"home_next_drill", "home_mock", "home_weakest", "home_history"} == set(_buttons(view))
    text = _text(view)
    assert "run `/deploy-question` in a channel" in text
    assert "level entry|mid|senior" not in text and "forget-me" not in text
    assert "Team lead" not in text


async def test_next_drill_and_a_mock_post_where_you_practised(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """The suggested question is posted in your channel, asked by you; the Home says so."""
    await _answer(people, slack, bot, WEAK)
    view = await _home(people, "U0BOB")
    [next_drill] = _buttons(view)["home_next_drill"]
    assert "<#C0DRILL>, where you last practised" in _text(view)
    await _click(people, "U0BOB", view, "home_next_drill")
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == 2)
    prompt = slack.posts("drill_prompt")[-1]
    assert prompt["channel"] == "C0DRILL"
    assert prompt["metadata"]["event_payload"]["question_id"] == next_drill["value"]
    assert "asked by <@U0BOB>" in json.dumps(prompt["blocks"])
    view = await _home(people, "U0BOB", lambda v: "Posted" in _text(v))
    assert "in <#C0DRILL> - answer in its thread" in _text(view)

    await _click(people, "U0BOB", view, "home_mock")
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == 3)
    mock = slack.posts("drill_prompt")[-1]
    assert mock["metadata"]["event_payload"]["source"] == "mock"
    assert "Mock interview for <@U0BOB>" in json.dumps(mock["blocks"])


async def test_past_answers_with_their_scores_a_page_at_a_time(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """ "Your answers" opens a modal, newest first with each score; Older turns the page."""
    answers = [f"{WEAK} Attempt {i}: I also monitor latency." for i in range(9)]
    await _answer(people, slack, bot, *answers)
    scores = [m["metadata"]["event_payload"]["score"] for m in slack.posts("drill_feedback")]
    view = await _home(people, "U0BOB")
    await _click(people, "U0BOB", view, "home_history")
    ws = people.workspace
    await slack.wait_for(lambda: ws.modal("U0BOB") is not None)
    modal = ws.modal("U0BOB")
    assert modal is not None and modal["title"]["text"] == "Your answers"
    shown = [b["text"]["text"] for b in modal["blocks"] if b["type"] == "section"]
    assert len(shown) == 8
    assert [int(s.split("*")[1].split("/")[0]) for s in shown] == scores[::-1][:8]
    assert "Attempt 8" in _text(modal) and "Page 1 of 2 · 9 answers" in _text(modal)

    await _click(people, "U0BOB", modal, "home_history_page")
    await slack.wait_for(lambda: "Page 2 of 2" in _text(ws.modal("U0BOB") or {"blocks": []}))
    older = ws.modal("U0BOB")
    assert older is not None and "Attempt 0" in _text(older) and "Attempt 8" not in _text(older)
    assert set(_buttons(older)) == {"home_history_page"}  # only "‹ Newer" now
    assert slack.calls_to("views.update")


async def test_the_weakest_criterion_explained_and_drilled(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """Its name, coverage, what a full answer does and a tip; "Drill it" posts a question for it."""
    await _answer(people, slack, bot, WEAK)
    stats = await bot.runtime.use.reports.stats(team="T0TEAM", user="U0BOB")
    assert stats.weakest is not None
    view = await _home(people, "U0BOB")
    await _click(people, "U0BOB", view, "home_weakest")
    ws = people.workspace
    await slack.wait_for(lambda: ws.modal("U0BOB") is not None)
    modal = ws.modal("U0BOB")
    assert modal is not None
    text = _text(modal)
    assert stats.weakest.name in text and "What a full answer does" in text and "Tip:" in text
    question_id = modal["private_metadata"]
    assert await people.submit("U0BOB", modal["id"], {}) == {}
    await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == 2)
    prompt = slack.posts("drill_prompt")[-1]
    assert prompt["metadata"]["event_payload"]["question_id"] == question_id
    question = bot.runtime.bank.get(question_id)
    assert question is not None
    assert any(c.id == stats.weakest.criterion_id for c in question.criteria)


async def test_admins_pause_resume_skip_preview_and_post_from_the_home(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """The admin section lists the workspace's schedules with working buttons, and the team view."""
    await people.run_command(
        "U0ALICE", "/deploy-question schedule weekdays 09:30 UTC topic rollout"
    )
    await slack.wait_for(lambda: slack.posts("drill_schedule"))
    view = await _home(people, "U0ALICE")
    text = _text(view)
    assert "Team lead" in text and "<#C0DRILL> *#1* weekdays at 09:30 (UTC)" in text
    assert "topic rollout" in text and "This week" in text
    assert set(_buttons(view)) >= {
        "home_schedule_pause",
        "home_schedule_skip",
        "home_schedule_now",
        "home_schedule_preview",
    }

    await _click(people, "U0ALICE", view, "home_schedule_pause", "1")
    view = await _home(people, "U0ALICE", lambda v: "home_schedule_resume" in _buttons(v))
    assert "Schedule #1 paused." in _text(view) and (await _schedules(bot))[0].paused
    await _click(people, "U0ALICE", view, "home_schedule_resume", "1")
    view = await _home(people, "U0ALICE", lambda v: "home_schedule_pause" in _buttons(v))
    assert not (await _schedules(bot))[0].paused

    await _click(people, "U0ALICE", view, "home_schedule_skip", "1")
    view = await _home(people, "U0ALICE", lambda v: "skips its drill on" in _text(v))
    skipped = json.loads((await _schedules(bot))[0].skip_dates)
    assert len(skipped) == 1 and f"skipping {skipped[0]}" in _text(view)

    await _click(people, "U0ALICE", view, "home_schedule_preview", "1")
    ws = people.workspace
    await slack.wait_for(lambda: ws.modal("U0ALICE") is not None)
    modal = ws.modal("U0ALICE")
    assert modal is not None and modal["title"]["text"] == "Next question"
    [rollout] = [q for q in bot.runtime.bank.questions if q.topic == "rollout"]
    assert rollout.title in _text(modal)
    assert await people.submit("U0ALICE", modal["id"], {}) == {}
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    [prompt] = slack.posts("drill_prompt")
    assert prompt["metadata"]["event_payload"]["question_id"] == rollout.id
    assert prompt["metadata"]["event_payload"]["source"] == "scheduled"
    await _home(people, "U0ALICE", lambda v: "Posting" in _text(v))


async def test_members_get_no_admin_section_and_their_clicks_change_nothing(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """A crafted click on an admin button from a member's Home is refused and changes nothing."""
    await people.run_command("U0ALICE", "/deploy-question schedule daily 10:00 UTC")
    await slack.wait_for(lambda: slack.posts("drill_schedule"))
    view = await _home(people, "U0BOB")
    assert "Team lead" not in _text(view)
    action = {"type": "button", "action_id": "home_schedule_pause", "value": "1"}
    await people.act("U0BOB", action, view_id=view["id"])
    await _home(people, "U0BOB", lambda v: "Only workspace admins" in _text(v))
    assert not (await _schedules(bot))[0].paused


async def test_the_team_view_on_the_home_names_only_leaderboard_members(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """Who practised in each channel this week: Bob (on the leaderboard) by name, Carol counted."""
    people.add_person("U0CAROL", "Carol")
    await people.run_command("U0BOB", "/deploy-question leaderboard join")
    await _answer(people, slack, bot, WEAK)
    view = await _home(people, "U0ALICE")
    text = _text(view)
    assert "<#C0DRILL>: *1* of 3 members practised - <@U0BOB> · not yet: 2 people" in text
    assert "U0CAROL" not in text
