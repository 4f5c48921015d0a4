"""Disputed and human-rated answers as calibration-set items (`tests/calibration/*.yaml`, read
by labelled_sets.py), labelled with what the people said: the levels the author would give,
or the paired interviewer's met/partly/missed, over the bot's levels for the rest. The score
and band follow from the labels by the shared rule, so `deploy-drill eval` accepts the file
as it is; a reviewer checks each label before adding it. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from bot.grading.grade import band_for
from bot.labelled_sets import implied_score
from bot.questions import Question


@dataclass(frozen=True)
class Labelled:
    """An answer to export, with the people's labels."""

    id: str
    question: Question
    answer: str
    levels: dict[str, int]  # the people's levels, where they gave one
    bot_levels: dict[str, int]  # the bot's, for the criteria they left alone
    mistakes: tuple[str, ...]  # the bot's mistakes
    note: str


def item(labelled: Labelled) -> dict[str, Any]:
    """One labelled answer in the calibration-set format."""
    question = labelled.question
    levels = {
        c.id: labelled.levels.get(c.id, labelled.bot_levels.get(c.id, 0)) for c in question.criteria
    }
    known = {m.id for m in question.mistakes}
    mistakes = tuple(dict.fromkeys(m for m in labelled.mistakes if m in known))
    score = implied_score(question, levels, mistakes)
    band = band_for(score)
    return {
        "id": labelled.id,
        "voice": band,
        "answer": labelled.answer.strip() + "\n",
        "levels": levels,
        "mistakes": list(mistakes),
        "score": score,
        "band": band,
        "note": labelled.note,
    }


class _Dumper(yaml.SafeDumper):
    """SafeDumper with multi-line strings as `|` blocks (registered below), as people write
    calibration files."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _flow_levels(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    flow = all(isinstance(v, int) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow or None)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(dict, _flow_levels)


def to_yaml(question: Question, items: Sequence[Labelled], *, team: str, now: datetime) -> str:
    """A calibration file for one question: a header saying where it came from, then the
    items (the file is named `<question id>.yaml` to be read by `deploy-drill eval`)."""
    header = (
        f"# Calibration candidates for “{question.title}” ({question.id}, rubric version "
        f"{question.version}),\n"
        f"# exported from workspace {team} on {now:%Y-%m-%d} by `deploy-drill calibration "
        "export`.\n"
        "# Labels are what people said (a disputed grade's author, a paired mock's interviewer)\n"
        "# over the bot's levels for the criteria they left alone; score and band follow.\n"
        "# Review every label against the rubric before adding an item to tests/calibration/.\n"
    )
    body = yaml.dump(
        [item(i) for i in items],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + "\n" + body
