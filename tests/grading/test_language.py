"""Answers not in English get a kind word and no score that counts."""

from __future__ import annotations

import pytest

from bot.grading.gradable import not_an_answer
from bot.grading.language import detect_other_language
from bot.playground.standin import SlackStandIn
from tests.conftest import RunningBot
from tests.slack import payloads as p

SPANISH = (
    "Primero empaqueto el modelo con su preprocesamiento en una imagen de Docker con las "
    "versiones fijadas. Luego lo sirvo detrás de una API y valido el esquema de los datos de "
    "entrada. Hacemos un canary con el cinco por ciento del tráfico y vigilamos la deriva de "
    "los datos, la latencia y los errores, y si algo va mal volvemos a la versión anterior."
)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (SPANISH, "Spanish"),
        (
            "Je déploie le modèle dans une image Docker avec les dépendances figées, puis nous "
            "faisons un canary et nous surveillons la dérive des données et la latence.",
            "French",
        ),
        (
            "We package the model in a pinned Docker image, serve it behind an API, run a "
            "canary on 5% of traffic and watch drift, latency and errors.",
            None,
        ),
        # English with a few foreign words, and a short reply, stay English.
        ("We called it el modelo de fraude, and the canary de la semana went to 5% of users first.", None),
        ("Hola, con Docker.", None),
    ],
)
def test_detects_answers_not_in_english(text: str, language: str | None) -> None:
    assert detect_other_language(text) == language


def test_not_english_is_not_gradable() -> None:
    assert not_an_answer(SPANISH) == "not_english"


async def test_spanish_answer_gets_a_kind_nudge_in_slack(bot: RunningBot, slack: SlackStandIn) -> None:
    """No score, no "list of keywords": a nudge that says grading is English-only for now."""
    root = await p.ask(slack, bot)
    await slack.send_event(bot.url, p.reply(root, SPANISH))
    await slack.wait_for(lambda: slack.posts("drill_nudge"))
    [nudge] = slack.posts("drill_nudge")
    assert nudge["metadata"]["event_payload"]["reason"] == "not_english"
    assert "English" in nudge["text"]
    assert "keyword" not in nudge["text"]
    assert slack.posts("drill_feedback") == []
