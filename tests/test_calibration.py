"""The calibration loop end to end: people judge their grades in Slack and rate paired mocks,
then `deploy-drill calibration report` and `calibration export` read what they said, one
workspace at a time, quoting and exporting only the answers of people who share them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bot.labelled_sets import load_calibration
from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.storage.db import unit_of_work
from bot.storage.tables import PairedRating
from tests.conftest import ROOT, RunningBot
from tests.slack import payloads as p
from tests.slack.test_fairness import dispute, feedback_for, form_values, said, thumb

SECRET = "BOB-PRIVATE-NOTE"


async def cli(database_url: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    """`deploy-drill calibration …` in its own process, on the bot's database."""
    env = {**os.environ, "DATABASE_URL": database_url, "RUBRICS_DIR": str(ROOT / "rubrics")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "calibration",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return int(process.returncode or 0), out.decode(), err.decode()


async def report(database_url: str, cwd: Path, *args: str) -> dict[str, Any]:
    code, out, err = await cli(database_url, cwd, "report", "--format", "json", *args)
    assert code == 0, err
    return dict(json.loads(out))


def question_of(data: dict[str, Any], question_id: str = "deploy-ml-models") -> dict[str, Any]:
    return next(q for q in data["questions"] if q["question_id"] == question_id)


def criterion_of(question: dict[str, Any], criterion_id: str) -> dict[str, Any]:
    return next(c for c in question["criteria"] if c["id"] == criterion_id)


async def disputes_of_two(slack: SlackStandIn, bot: RunningBot, *, team: str | None = None) -> None:
    """Alice (who shares) and Bob (who does not) dispute monitoring; Carol finds hers fair."""
    alice = await feedback_for(slack, bot)
    bob = await feedback_for(slack, bot, user="U0BOB")
    carol = await feedback_for(slack, bot, user="U0CAROL", answer=p.STRONG_ANSWER)
    for who, message, note, share in (
        ("U0ALICE", alice, "ALICE-NOTE: I covered drift", True),
        ("U0BOB", bob, SECRET, False),
    ):
        status, _ = await dispute(
            slack,
            bot,
            message,
            form_values({"monitoring": 2}, score="75", note=note, share=share),
            user=who,
        )
        assert status == 200
    await thumb(slack, bot, carol, True, user="U0CAROL", response_key="carol")
    await slack.wait_for(lambda: said(slack, "carol"))


async def test_report_counts_grades_disputes_and_quotes_only_sharers(
    bot: RunningBot, slack: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    """Per question and criterion: grades, fair, disputes and the rate; the most disputed
    criterion first, quoted from Alice (who shares) and never from Bob (who does not)."""
    await disputes_of_two(slack, bot)
    data = await report(database_url, tmp_path)
    assert data["team"] == "T0TEAM" and data["since"] is None
    question = question_of(data)
    assert (question["grades"], question["fair"], question["disputes"]) == (3, 1, 2)
    assert question["dispute_rate"] == 0.667
    assert question["version"].endswith("· rubric")
    monitoring = criterion_of(question, "monitoring")
    assert monitoring["disputes"] == 2 and monitoring["grades"] == 3
    assert monitoring["asked_higher"] == 2 and monitoring["asked_lower"] == 0
    [top, *_] = data["most_disputed"]
    assert (top["criterion_id"], top["disputes"]) == ("monitoring", 2)
    assert any("ALICE-NOTE" in q for q in top["quotes"])
    assert SECRET not in json.dumps(data)
    assert question["change"] is None  # one version so far
    assert question["agreement"]["pairs"] == 0

    code, text, _ = await cli(database_url, tmp_path, "report")
    assert code == 0
    assert "Most disputed criteria" in text and "ALICE-NOTE" in text and SECRET not in text
    assert "3 grades, 2 disputed (67%)" in text
    # --since leaves out what came before.
    later = await report(database_url, tmp_path, "--since", "2999-01-01")
    assert later["questions"] == [] and later["grades"] == 0
    code, _, err = await cli(database_url, tmp_path, "report", "--since", "yesterday")
    assert code == 2 and "not a date" in err


async def test_each_workspace_is_reported_on_its_own(
    bot: RunningBot, slack: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    """Two workspaces in one database: each report and export holds only its own; without
    --team the command names both and asks which."""
    await disputes_of_two(slack, bot)
    root = await p.ask(slack, bot, team="T0OTHER")
    await slack.send_event(bot.url, p.reply(root, p.WEAK_ANSWER, user="U0MALLORY"), team="T0OTHER")
    await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 4)
    other = slack.posts("drill_feedback")[-1]
    status, _ = await dispute(
        slack,
        bot,
        other,
        form_values({"story": 2}, note="MALLORY-NOTE", share=True),
        user="U0MALLORY",
        team="T0OTHER",
    )
    assert status == 200

    code, _, err = await cli(database_url, tmp_path, "report")
    assert code == 2 and "T0OTHER" in err and "T0TEAM" in err and "--team" in err
    ours = await report(database_url, tmp_path, "--team", "T0TEAM")
    theirs = await report(database_url, tmp_path, "--team", "T0OTHER")
    assert question_of(ours)["grades"] == 3 and "MALLORY" not in json.dumps(ours)
    assert question_of(theirs)["grades"] == 1 and question_of(theirs)["disputes"] == 1
    assert "ALICE-NOTE" not in json.dumps(theirs)
    assert theirs["most_disputed"][0]["criterion_id"] == "story"

    out = tmp_path / "ours.yaml"
    code, _, err = await cli(
        database_url, tmp_path, "export", "--team", "T0TEAM", "--out", str(out)
    )
    assert code == 0, err
    exported = out.read_text()
    assert "I covered drift" in exported
    assert "MALLORY" not in exported and "t0other" not in exported


async def _mock(
    slack: SlackStandIn,
    bot: RunningBot,
    answers: tuple[str, ...],
    *,
    rate_first: bool = False,
    rating: int,
    marks: dict[str, int],
) -> dict[str, Any]:
    """A paired mock (Alice answers, Bob interviews and rates it); returns the scorecard."""
    briefs = len(slack.calls_to("chat.postEphemeral"))
    root = await p.start_mock(slack, bot, "mock <@U0BOB|bob> deploy-ml-models")
    await slack.wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) > briefs)
    brief = slack.calls_to("chat.postEphemeral")[-1].body["blocks"]
    mock_id = p.button_value(brief, "mock_rate")
    forms = len(slack.calls_to("views.open"))
    await slack.send_action(bot.url, "mock_rate", user="U0BOB", value=mock_id, response_key="r")
    await slack.wait_for(lambda: len(slack.calls_to("views.open")) > forms)
    form = slack.calls_to("views.open")[-1].body["view"]
    assert form["callback_id"] == "mock_rating"
    columns = [b["block_id"] for b in form["blocks"] if b.get("block_id", "").startswith("crit_")]
    assert len(columns) == 8  # met / partly / missed for every criterion
    values: dict[str, Any] = {"rating": {"value": {"selected_option": {"value": str(rating)}}}}
    values |= {
        f"crit_{c}": {"level": {"selected_option": {"value": str(lv)}}} for c, lv in marks.items()
    }

    async def rate() -> None:
        ratings = len(slack.posts("drill_rating"))
        status, body = await slack.send_view_submission(
            bot.url,
            "mock_rating",
            private_metadata=form["private_metadata"],
            values=values,
            user="U0BOB",
        )
        assert status == 200 and body == "", body
        await slack.wait_for(lambda: len(slack.posts("drill_rating")) > ratings)

    if rate_first:
        await rate()
    summaries = len(slack.posts("drill_summary"))
    followups = len(slack.posts("drill_followup"))
    for turn, answer in enumerate(answers):
        await slack.send_event(bot.url, p.reply(root, answer))
        await slack.wait_for(
            lambda n=turn: (
                len(slack.posts("drill_followup")) > followups + n
                or len(slack.posts("drill_summary")) > summaries
            )
        )
        if len(slack.posts("drill_summary")) > summaries:
            break
    if not rate_first:
        await rate()
    return slack.posts("drill_summary")[-1]


async def paired_rows(bot: RunningBot) -> list[PairedRating]:
    async with unit_of_work(bot.runtime.sessions) as session:
        return list((await session.execute(sa.select(PairedRating))).scalars().all())


async def test_paired_mock_ratings_feed_the_agreement_figures(
    bot: RunningBot, slack: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    """The interviewer's met/partly/missed sits beside the bot's scorecard: exact level
    agreement over the criteria marked, weighted kappa on bands, Spearman of the 1-5 against
    the scores - whether the rating came after the scorecard or before it."""
    strong = await _mock(
        slack,
        bot,
        (p.MONITORING_ANSWER + " " + p.ROLLOUT_ANSWER, p.STRONG_ANSWER, p.STRONG_ANSWER),
        rating=5,
        marks={"context": 2, "monitoring": 2, "story": 0},
    )
    weak = await _mock(
        slack,
        bot,
        (p.WEAK_ANSWER, p.WEAK_ANSWER, p.WEAK_ANSWER),
        rating=2,
        marks={},
        rate_first=True,
    )
    strong_score = strong["metadata"]["event_payload"]["score"]
    weak_score = weak["metadata"]["event_payload"]["score"]
    assert strong_score > weak_score
    # Stored side by side: the first with the scorecard's levels (rated after it), the
    # second without (rated before it: the report reads the scorecard made since).
    first, second = await paired_rows(bot)
    marks = {"context": 2, "monitoring": 2, "story": 0}
    assert json.loads(first.levels) == marks and first.bot_score == strong_score
    assert second.bot_levels is None and json.loads(second.levels) == {}
    bot_levels = json.loads(first.bot_levels or "{}")
    data = await report(database_url, tmp_path)
    agreement = question_of(data)["agreement"]
    assert agreement["pairs"] == 2 and agreement["criterion_pairs"] == 3
    assert agreement["score_spearman"] == 1.0  # 5 for the higher score, 2 for the lower
    assert agreement["band_weighted_kappa"] is not None
    hits = [bot_levels[c] == lv for c, lv in marks.items()]
    assert agreement["level_agreement"] == round(sum(hits) / 3, 3)
    for (cid, lv), hit in zip(marks.items(), hits, strict=True):
        figures = criterion_of(question_of(data), cid)
        assert figures["paired"] == 1 and figures["level_agreement"] == float(hit), cid
        assert (bot_levels[cid] == lv) is hit
    # A mock counts once among the grades (its scorecard), not once per answer.
    assert question_of(data)["grades"] == 2


async def test_export_writes_calibration_items_only_for_sharers(
    bot: RunningBot, slack: SlackStandIn, bank: QuestionBank, database_url: str, tmp_path: Path
) -> None:
    """Disputed answers become calibration items labelled with the author's levels (the
    bot's elsewhere), loadable by `deploy-drill eval`; only Alice's, who shares - until she
    stops sharing."""
    await disputes_of_two(slack, bot)
    out = tmp_path / "calibration"
    out.mkdir()
    code, stdout, err = await cli(database_url, tmp_path, "export", "--out", str(out))
    assert code == 0, err
    assert "wrote 1 answers" in stdout
    path = out / "deploy-ml-models.yaml"
    items = yaml.safe_load(path.read_text())
    [item] = items
    assert item["levels"]["monitoring"] == 2 and "ALICE-NOTE" in item["note"]
    assert item["answer"].strip().startswith("I would put the model behind an API")
    assert SECRET not in path.read_text()
    [loaded] = load_calibration(bank, out)  # the format `deploy-drill eval` reads
    assert loaded.label.score == item["score"] and loaded.label.band == item["band"]

    await slack.command_reply(bot.url, "share off")
    path.unlink()
    code, _, err = await cli(database_url, tmp_path, "export", "--out", str(path))
    assert code == 0 and "nothing to export" in err and not path.exists()


async def test_the_commands_say_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    """An unreachable database, or an empty one: a line, never a traceback."""
    code, _, err = await cli("postgresql://nobody@127.0.0.1:1/none", tmp_path, "report")
    assert code == 2 and "cannot open the database (DATABASE_URL)" in err
    assert "Traceback" not in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    code, out, _ = await cli(empty, tmp_path, "report")
    assert code == 0 and "Nothing to report yet" in out
    code, _, err = await cli(empty, tmp_path, "export", "--out", str(tmp_path / "x.yaml"))
    assert code == 0 and "nothing to export" in err and not (tmp_path / "x.yaml").exists()
