"""Calibration-set items from what people said: their levels over the bot's, the score and
band by the shared rule, in a file `deploy-drill eval` reads as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.calibration_export import Labelled, item, to_yaml
from bot.labelled_sets import implied_score, load_calibration
from bot.questions import QuestionBank

ANSWER = "We ship it in a container.\nThen we watch drift and latency, with alerts."


def labelled(bank: QuestionBank, **kw: object) -> Labelled:
    question = bank.get("deploy-ml-models")
    assert question is not None
    fields: dict[str, object] = {
        "id": "t0team-dispute-1",
        "question": question,
        "answer": ANSWER,
        "levels": {"monitoring": 2},
        "bot_levels": {c.id: 1 for c in question.criteria} | {"monitoring": 0},
        "mistakes": ("no_story", "a_mistake_the_rubric_dropped"),
        "note": "Disputed by its author",
    }
    return Labelled(**(fields | kw))  # type: ignore[arg-type]


def test_the_peoples_levels_win_and_the_score_follows(bank: QuestionBank) -> None:
    one = item(labelled(bank))
    question = bank.get("deploy-ml-models")
    assert question is not None
    assert one["levels"]["monitoring"] == 2 and one["levels"]["context"] == 1
    assert set(one["levels"]) == {c.id for c in question.criteria}
    assert one["mistakes"] == ["no_story"]  # unknown ones are dropped
    assert one["score"] == implied_score(question, one["levels"], ("no_story",))
    assert one["voice"] == one["band"]


def test_the_file_loads_as_a_calibration_set(bank: QuestionBank, tmp_path: Path) -> None:
    question = bank.get("deploy-ml-models")
    assert question is not None
    items = [labelled(bank), labelled(bank, id="t0team-mock-4", levels={"story": 2, "rollout": 0})]
    text = to_yaml(question, items, team="T0TEAM", now=datetime(2026, 12, 8, tzinfo=UTC))
    assert text.startswith("# Calibration candidates") and "Review every label" in text
    assert "levels: {context: 1" in text  # levels on one line, as the hand-written files
    (tmp_path / "deploy-ml-models.yaml").write_text(text)
    loaded = load_calibration(bank, tmp_path)
    assert [i.label.id for i in loaded] == ["t0team-dispute-1", "t0team-mock-4"]
    assert loaded[0].label.answer == ANSWER + "\n"
    assert yaml.safe_load(text)[1]["levels"]["rollout"] == 0
