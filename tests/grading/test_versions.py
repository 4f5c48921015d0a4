"""A grade's grader version: the offline model by its data hash, the LLM grader by name."""

from __future__ import annotations

import json
from pathlib import Path

from bot.grading.model import MODEL_DIR
from bot.grading.versions import grader_version


def test_the_offline_grader_is_versioned_by_its_models_data_hash(tmp_path: Path) -> None:
    card = json.loads((MODEL_DIR / "claims.json").read_text())["card"]
    assert grader_version("rubric") == f"rubric@{card['data_sha256'][:12]}"
    (tmp_path / "claims.json").write_text(json.dumps({"card": {"data_sha256": "ab" * 32}}))
    assert grader_version("rubric", tmp_path) == "rubric@abababababab"
    assert grader_version("rubric", tmp_path / "none") == "rubric"  # no model trained


def test_other_graders_are_their_grader_string() -> None:
    assert grader_version("llm:gpt-4o-mini") == "llm:gpt-4o-mini"
