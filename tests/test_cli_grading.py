"""`deploy-drill grade` and `eval` as a user runs them: the configured grader, clear errors."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from bot.grading.grade import band_for
from bot.labelled_sets import implied_score
from bot.questions import load_bank
from tests.conftest import ROOT
from tests.grading.fake_openai import FakeOpenAI, judged
from tests.serving import clean_env

CLI = [sys.executable, "-m", "bot"]
ANSWER = (
    "I package the model with its preprocessing in a pinned container, serve it behind an API, "
    "validate the schema, roll out with a canary, and monitor drift and latency with alerts."
)
SENTENCES = (
    "The model answers inside checkout, so it needs to reply in 50 ms. We ship it in a pinned "
    "image with its scaler. It runs behind an API. We check the schema and compare it with the "
    "live model. It goes to 5% of traffic first. We watch drift and latency with alerts. "
    "The previous image stays ready to restore. At my last job this caught a broken feature."
)


def _grade(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "grade", "--question", "deploy-ml-models", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(RUBRICS_DIR=str(ROOT / "rubrics"), **env),
        timeout=120,
    )


async def test_grade_uses_the_llm_grader_like_the_bot() -> None:
    """`--grader llm` (or GRADER=llm) grades through the OpenAI-compatible URL; the JSON says so."""
    server = await FakeOpenAI(script=judged(default_level=2)).start()
    try:
        env = clean_env(
            RUBRICS_DIR=str(ROOT / "rubrics"),
            OPENAI_API_KEY="sk-test-not-real",
            OPENAI_BASE_URL=server.base_url,
        )
        for args in (["--grader", "llm"], []):  # GRADER=auto with a key is the LLM too
            proc = await asyncio.create_subprocess_exec(
                *CLI, "grade", "--question", "deploy-ml-models", "--format", "json", *args, "-",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            out, err = await asyncio.wait_for(proc.communicate(SENTENCES.encode()), 120)
            assert proc.returncode == 0, err.decode()
            grade = json.loads(out)
            assert grade["grader"].startswith("llm")
            assert grade["score"] == 100
        assert len(server.requests) == 2
        assert "sk-test-not-real" not in err.decode()
    finally:
        await server.close()


def test_grade_rubric_flag_overrides_an_llm_setting() -> None:
    out = _grade("--grader", "rubric", "--format", "json", "-", stdin=ANSWER, GRADER="llm")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["grader"] == "rubric"


def test_grade_llm_without_a_key_says_so() -> None:
    out = _grade("--grader", "llm", "-", stdin=ANSWER)
    assert out.returncode == 2
    assert out.stderr.strip() == "grade --grader llm needs OPENAI_API_KEY"


def test_missing_file_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    out = _grade(str(tmp_path / "nope.txt"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip() == f"cannot read {tmp_path / 'nope.txt'}: No such file or directory"


def test_empty_input_gets_the_nudge_not_a_zero() -> None:
    out = _grade("-", stdin="   \n")
    assert out.returncode == 1
    assert out.stdout == ""
    assert "not graded (empty)" in out.stderr


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    answer = tmp_path / "a.txt"
    answer.write_text(ANSWER)
    env = clean_env(RUBRICS_DIR=str(ROOT / "rubrics"))
    grade = " ".join([*CLI, "grade", "--question", "deploy-ml-models", "--format", "json", str(answer)])
    out = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{grade} | head -n 1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.stdout.strip() == "{"
    assert "BrokenPipeError" not in out.stderr and "Traceback" not in out.stderr


def test_eval_on_the_heldout_set_reports_evidence_precision() -> None:
    out = subprocess.run(
        [*CLI, "eval", "--set", "heldout", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=300,
    )
    assert out.returncode in (0, 1), out.stderr  # 1 = below a target; still a report
    report = json.loads(out.stdout)
    assert report["n"] >= 100
    assert len(report["per_question"]) >= 6
    assert 0.0 <= report["evidence_precision"] <= 1.0
    assert "competent_not_below_40" in report["passed"]


def test_a_file_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, from a file or stdin, are refused in one line (exit 2)."""
    binary = tmp_path / "answer.bin"
    binary.write_bytes(b"\x94\xff\x00 model")
    out = _grade(str(binary))
    assert (out.returncode, out.stderr) == (2, f"cannot read {binary}: not UTF-8 text\n")
    piped = subprocess.run(
        [*CLI, "grade", "--question", "deploy-ml-models", "-"],
        stdin=binary.open("rb"), capture_output=True, env=clean_env(RUBRICS_DIR=str(ROOT / "rubrics")),
        timeout=120,
    )
    assert (piped.returncode, piped.stderr) == (2, b"cannot read stdin: not UTF-8 text\n")


@pytest.mark.parametrize(
    "args",
    [
        ["grade", "--question", "deploy-ml-models", "--format", "json", "ANSWER"],
        ["grade", "--question", "deploy-ml-models", "ANSWER"],
        ["questions"],
    ],
)
def test_a_reader_that_is_gone_ends_it_quietly(tmp_path: Path, args: list[str]) -> None:
    """Writing into a pipe nobody reads any more (the reader closed it before the first write)
    exits 0 with nothing on stderr."""
    answer = tmp_path / "a.txt"
    answer.write_text(ANSWER)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        out = subprocess.run(
            [*CLI, *(str(answer) if a == "ANSWER" else a for a in args)],
            stdout=write_end, stderr=subprocess.PIPE, text=True,
            env=clean_env(RUBRICS_DIR=str(ROOT / "rubrics")), timeout=120,
        )
    finally:
        os.close(write_end)
    assert (out.returncode, out.stderr) == (0, "")


def test_grade_in_a_terminal_says_how_to_end_the_answer() -> None:
    """`grade` reading a terminal says how to finish; Ctrl-D grades what was pasted."""
    child = pexpect.spawn(
        CLI[0], [*CLI[1:], "grade", "--question", "deploy-ml-models"],
        env=clean_env(RUBRICS_DIR=str(ROOT / "rubrics"), COLUMNS="120"),
        encoding="utf-8", timeout=60,
    )
    try:
        child.expect("Paste or type the answer, then press Ctrl-D on an empty line.")
        child.send(ANSWER + "\n\nAnd I keep the previous model warm to roll back.\n")
        child.sendeof()
        child.expect(r"Score (\d+)/100")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def _eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "eval", *args], capture_output=True, text=True, cwd=ROOT, env=clean_env(), timeout=300
    )


LABELLED = ROOT / "tests/heldout6/deploy-ml-models.yaml"


def _two_labellings(tmp_path: Path) -> tuple[Path, Path, list[dict[str, Any]]]:
    """A directory holding one labelled file, an empty one for the second labelling, and the
    first labelling's items to change and write there."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / LABELLED.name).write_bytes(LABELLED.read_bytes())
    return first, second, yaml.safe_load(LABELLED.read_text())


def test_eval_against_a_second_labelling_reports_how_far_two_labellers_agree(tmp_path: Path) -> None:
    """A second labeller who moves one level and adds one mistake shows in the figures."""
    first, second, items = _two_labellings(tmp_path)
    bank = load_bank(ROOT / "rubrics")
    question = bank.get("deploy-ml-models")
    assert question is not None
    changed = next(i for i in items if 2 in i["levels"].values() and not i["mistakes"])
    criterion = next(k for k, v in changed["levels"].items() if v == 2)
    changed["levels"][criterion] = 1
    changed["mistakes"] = ["tool_list"]
    changed["score"] = implied_score(question, changed["levels"], changed["mistakes"])
    changed["band"] = band_for(changed["score"])
    (second / LABELLED.name).write_text(yaml.safe_dump(items, sort_keys=False))

    out = _eval("--calibration", str(first), "--second", str(second), "--format", "json")
    report = json.loads(out.stdout)
    pairs = len(items) * len(question.criteria)
    assert report["grader"] == "second labeller"
    assert math.isclose(report["metrics"]["level_agreement"], (pairs - 1) / pairs)
    assert report["metrics"]["criterion_f1"] == 1.0
    assert report["mistake"]["fp"] == 1
    assert report["evidence_precision"] == 1.0  # both quote the first labeller's sentences


def test_eval_says_plainly_when_a_second_labelling_lacks_an_answer(tmp_path: Path) -> None:
    first, second, items = _two_labellings(tmp_path)
    (second / LABELLED.name).write_text(yaml.safe_dump(items[1:], sort_keys=False))
    out = _eval("--calibration", str(first), "--second", str(second))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "the second labelling has no answer to deploy-ml-models" in out.stderr
    missing = _eval("--calibration", str(tmp_path / "nowhere"))
    assert (missing.returncode, "Traceback" in missing.stderr) == (2, False)
    assert "calibration directory not found" in missing.stderr
