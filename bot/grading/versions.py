"""Which version of a grader gave a grade: the offline grader's learned model by the data
hash on its model card, the LLM grader by its grader string (which names the model)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from bot.grading.model import MODEL_DIR


@lru_cache(maxsize=4)
def _data_hash(directory: str) -> str | None:
    try:
        meta = json.loads((Path(directory) / "claims.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = (meta.get("card") or {}).get("data_sha256") if isinstance(meta, dict) else None
    return str(digest) if digest else None


def grader_version(grader: str, directory: Path = MODEL_DIR) -> str:
    """`rubric@c69dbe0b6e58` (the first twelve digits of the model's data hash), `rubric`
    when no model is trained, or the grader string itself (`llm:gpt-4o-mini`)."""
    if grader != "rubric":
        return grader
    digest = _data_hash(str(directory))
    return f"rubric@{digest[:12]}" if digest else "rubric"
