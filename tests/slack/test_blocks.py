"""Block Kit rendering: escaping, limits and the metadata contract."""

from __future__ import annotations

import json

from bot.grading.rubric import RubricGrader
from bot.questions import QuestionBank
from bot.slack.blocks import DrillMessages, escape, quote


def test_escape_neutralises_mentions() -> None:
    """&, < and > become entities, so <!channel> cannot be live."""
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_quotes_are_cut_and_flattened() -> None:
    """A long quote is cut with an ellipsis and keeps no newlines or backticks."""
    text = quote("`code`\n" + "word " * 200)
    assert len(text) <= 280 and text.endswith("…") and "\n" not in text and "`" not in text


def test_feedback_fits_block_kit_limits(bank: QuestionBank) -> None:
    """Even a 40,000-character answer renders sections under 3,000 characters and <50 blocks."""
    question = bank.get("deploy-ml-models")
    assert question is not None
    answer = (
        "We monitor drift and latency and roll back to the previous version if needed. " * 600
    )[:40_000]
    grade = RubricGrader(bank).grade_sync(question, answer)
    payload = DrillMessages().feedback(question, grade, user="U1", previous=None)
    assert len(payload["blocks"]) < 50
    for block in payload["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= 3000
    assert payload["metadata"]["event_type"] == "drill_feedback"
    assert set(payload["metadata"]["event_payload"]) == {
        "question_id",
        "user",
        "score",
        "band",
        "grader",
    }
    assert "30-second" in json.dumps(payload["blocks"])
