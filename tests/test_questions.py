"""Rubric files: the bank loads, and broken files fail with file:line: field: reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import RubricError
from bot.questions import QuestionBank, check_dir, load_bank

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "rubrics" / "deploy-ml-models.yaml"


def test_core_question_keeps_the_contract_ids(bank: QuestionBank) -> None:
    """deploy-ml-models has exactly the criterion and mistake ids the contract names."""
    question = bank.get("deploy-ml-models")
    assert question is not None
    assert [c.id for c in question.criteria] == [
        "context",
        "packaging",
        "serving",
        "validation",
        "rollout",
        "monitoring",
        "rollback",
        "story",
    ]
    assert {m.id for m in question.mistakes} == {
        "tool_list",
        "skips_preprocessing",
        "no_monitoring",
        "accuracy_only",
        "no_story",
        "infra_first",
    }


def test_find_by_id_or_topic(bank: QuestionBank) -> None:
    """A question is found by its id or its topic, case-insensitively."""
    assert bank.find("DEPLOY-ML-MODELS").id == "deploy-ml-models"  # type: ignore[union-attr]
    assert bank.find("end-to-end").id == "deploy-ml-models"  # type: ignore[union-attr]
    assert bank.find("no-such-thing") is None


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    directory = tmp_path / "rubrics"
    directory.mkdir(parents=True)
    shutil.copy(ROOT / "rubrics" / "_cues.yaml", directory / "_cues.yaml")
    text = CORE.read_text()
    assert old in text
    (directory / "deploy-ml-models.yaml").write_text(text.replace(old, new, 1))
    return directory


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_wrong_type_reports_file_line_and_field(tmp_path: Path) -> None:
    """A weight that is not a number is reported at its line with its field path."""
    directory = _broken(tmp_path, "weight: 1.5", "weight: heavy")
    bank, problems = check_dir(directory)
    assert bank is None
    path = directory / "deploy-ml-models.yaml"
    assert problems[0].startswith(f"{path}:{_line_of(path, 'weight: heavy')}: criteria[0].weight: ")


def test_missing_field_and_unknown_cue_are_reported(tmp_path: Path) -> None:
    """A missing field and an unknown cue id each name their place."""
    directory = _broken(
        tmp_path, "cues: [inference_pattern,", "cues: [no_such_cue, inference_pattern,"
    )
    _, problems = check_dir(directory)
    assert any("criteria[0].cues: unknown cue 'no_such_cue'" in p for p in problems)
    directory2 = _broken(tmp_path / "b", "    tip: Say first", "    hint: Say first")
    _, problems2 = check_dir(directory2)
    assert any("criteria[0].tip: Field required" in p for p in problems2)


def test_a_mistake_covered_by_an_unknown_criterion_is_reported(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "covered_by: [monitoring]", "covered_by: [monitorng]")
    _, problems = check_dir(directory)
    assert any("mistake accuracy_only names unknown criteria ['monitorng']" in p for p in problems)


def test_stages_a_criterion_orders_must_be_other_criteria(tmp_path: Path) -> None:
    """`orders` names criteria of the same question, never an unknown one or itself."""
    for orders, named in (
        ("[rollot, rollout]", "['rollot']"),
        ("[context, rollout]", "['context']"),
    ):
        directory = _broken(
            tmp_path / orders.strip("[]").replace(", ", "-"),
            "    cues: [inference_pattern,",
            f"    orders: {orders}\n    cues: [inference_pattern,",
        )
        _, problems = check_dir(directory)
        assert any(f"criterion context orders {named}: not other criteria" in p for p in problems)


def test_bad_yaml_reports_its_line(tmp_path: Path) -> None:
    """A YAML syntax error names the file and line."""
    directory = _broken(tmp_path, "topic: end-to-end", "topic: [end-to-end")
    _, problems = check_dir(directory)
    assert problems and ": (yaml): " in problems[0] and "deploy-ml-models.yaml:" in problems[0]


def test_load_bank_raises_with_every_problem(tmp_path: Path) -> None:
    """Start-up fails loudly with RubricError listing the problems."""
    directory = _broken(tmp_path, "weight: 2.0", "weight: -1")
    with pytest.raises(RubricError) as caught:
        load_bank(directory)
    assert "criteria[5].weight" in str(caught.value)


def test_rubrics_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`deploy-drill rubrics check DIR` exits 0 on the real bank and 1 on a broken one."""
    assert main(["rubrics", "check", str(ROOT / "rubrics")]) == 0
    directory = _broken(tmp_path, "weight: 1.5", "weight: heavy")
    assert main(["rubrics", "check", str(directory)]) == 1
    assert "criteria[0].weight" in capsys.readouterr().err


def test_json_schema_export(tmp_path: Path) -> None:
    """The JSON Schema export describes the question fields."""
    out = tmp_path / "schema.json"
    assert main(["rubrics", "schema", "-o", str(out)]) == 0
    import json

    schema = json.loads(out.read_text())
    assert {"id", "criteria", "model_answer_30s"} <= set(schema["properties"])


def test_committed_schema_is_current() -> None:
    """rubrics.schema.json (used by editors) matches the models; regenerate with `rubrics schema -o`."""
    import json

    from bot.questions import json_schema

    assert json.loads((ROOT / "rubrics.schema.json").read_text()) == json_schema()


def test_review_prompts_are_checked_and_fall_back_to_the_follow_up(
    bank: QuestionBank, tmp_path: Path
) -> None:
    """`review_prompts` are short micro-drills per criterion: repeated or too short ones fail
    `rubrics check` at their line; a criterion without them is reviewed with its follow-up."""
    core = bank.get("deploy-ml-models")
    assert core is not None
    for qid in (
        "deploy-ml-models",
        "rollout-strategies",
        "monitoring-late-labels",
        "batch-vs-online",
    ):
        question = bank.get(qid)
        assert question is not None and all(c.review_prompts for c in question.criteria), qid
    assert core.criteria[0].review_questions() == core.criteria[0].review_prompts
    other = next(c for q in bank.questions for c in q.criteria if not c.review_prompts)
    assert other.review_questions() == (other.follow_up,)

    first = core.criteria[0].review_prompts[0]
    repeated = _broken(tmp_path, f'      - "{first}"', f'      - "{first}"\n      - "{first}"')
    _, problems = check_dir(repeated)
    assert any("criteria[0]: Value error, review_prompts repeat" in p for p in problems), problems
    short = _broken(tmp_path / "b", f'      - "{first}"', '      - "Why?"')
    _, problems = check_dir(short)
    path = short / "deploy-ml-models.yaml"
    line = _line_of(path, '- "Why?"')
    assert any(p.startswith(f"{path}:{line}: criteria[0].review_prompts[0]:") for p in problems)
    assert main(["rubrics", "check", str(short)]) == 1


def test_an_unknown_subject_cue_is_reported_at_its_line(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "subject: [ml_subject]", "subject: [ml_subjects]")
    _, problems = check_dir(directory)
    path = directory / "deploy-ml-models.yaml"
    line = _line_of(path, "subject: [ml_subjects]")
    assert f"{path}:{line}: subject: unknown cue 'ml_subjects'" in problems
