"""review_blocks.py: the review DM, its brief feedback and the pause note, with their
metadata; the replies to `/deploy-question review`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.questions import QuestionBank
from bot.review_rules import DEFAULT_HOURS
from bot.reviews import Remembered, ReviewStatus
from bot.slack.blocks import SlackMessages
from bot.slack.review_blocks import home_section, review_reply

MESSAGES = SlackMessages()


def test_the_review_dm_names_the_criterion_and_carries_its_metadata(bank: QuestionBank) -> None:
    question = bank.get("rollout-strategies")
    assert question is not None
    prompt = question.criterion("canary").review_prompts[0]
    payload = MESSAGES.review_prompt(question, "canary", prompt, user="U0BOB")
    assert payload["metadata"] == {
        "event_type": "drill_review",
        "event_payload": {
            "question_id": "rollout-strategies",
            "user": "U0BOB",
            "criterion": "canary",
        },
    }
    text = json.dumps(payload["blocks"])
    assert "Limits exposure with a canary" in text and "in this thread" in text


def test_feedback_says_what_was_missing_and_the_ideal_in_two_sentences(
    bank: QuestionBank,
) -> None:
    question = bank.get("deploy-ml-models")
    assert question is not None
    criterion = question.criterion("monitoring")
    missed = MESSAGES.review_feedback(question, "monitoring", user="U0BOB", level=0, evidence=None)
    assert missed["metadata"]["event_payload"] == {
        "question_id": "deploy-ml-models",
        "user": "U0BOB",
        "criterion": "monitoring",
        "level": 0,
    }
    text = json.dumps(missed["blocks"], ensure_ascii=False)
    assert "What was missing" in text and criterion.tip in text
    assert criterion.levels.l2 in text
    full = MESSAGES.review_feedback(
        question, "monitoring", user="U0BOB", level=2, evidence="We watch drift & the <KPI>."
    )
    text = json.dumps(full["blocks"], ensure_ascii=False)
    assert "What was missing" not in text and "full marks" in text
    assert "&amp; the &lt;KPI&gt;" in text  # the person's words, escaped


def test_the_pause_note_is_one_line_saying_how_to_resume() -> None:
    note = MESSAGES.review_paused(user="U0BOB")
    assert note["metadata"] == {
        "event_type": "drill_review_paused",
        "event_payload": {"user": "U0BOB"},
    }
    assert "\n" not in note["text"] and "`/deploy-question review on`" in note["text"]


def _status(bank: QuestionBank, **changes: object) -> ReviewStatus:
    question = bank.get("deploy-ml-models")
    assert question is not None
    due = tuple(
        Remembered(question, c, datetime(2027, 1, 5, tzinfo=UTC), 0, 0) for c in question.criteria
    )
    fields: dict[str, object] = {
        "on": True,
        "paused": False,
        "weekends": False,
        "tz": "Europe/Berlin",
        "hours": DEFAULT_HOURS,
        "due": due,
        "next_due": None,
        "streak": 0,
        "stronger": (),
        "remembered": len(due),
    }
    return ReviewStatus(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_replies_say_where_review_stands(bank: QuestionBank) -> None:
    on = review_reply(_status(bank))
    assert "between 09:00-17:00 your time (Europe/Berlin), on weekdays" in on
    assert "Due now:" in on and "and 5 more" in on
    assert "any day" in review_reply(_status(bank, weekends=True))
    assert "is off" in review_reply(_status(bank, on=False))
    assert "paused" in review_reply(_status(bank, paused=True))
    nothing = review_reply(_status(bank, due=(), next_due=datetime(2027, 1, 7, 8, tzinfo=UTC)))
    assert "comes back Thu 2027-01-07 09:00" in nothing
    home = json.dumps(home_section(_status(bank, streak=3)))
    assert "*3* answered in a row" in home
